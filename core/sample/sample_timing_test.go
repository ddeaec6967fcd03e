package sample

import (
	"testing"
	"time"
)

// go test -run '^$' -bench . -benchmem ./core/sample
// Expect 0 allocs/op everywhere. Where a key is hashed, bytes are its length.

var sinkKeep bool

// The events cycle over 1000 keys at a million a second: each key at 1000/s, so dynamic
// sampling, with a target of 100/s, samples every key down.
func BenchmarkKeep(b *testing.B) {
	ks := keys(1000)
	f := func(name string, c Config, hasKey bool) {
		b.Run("mode:"+name, func(b *testing.B) {
			s := mustNew(b, c)
			b.ReportAllocs()
			if hasKey {
				b.SetBytes(int64(len(ks[len(ks)-1])))
			}
			i := 0
			for b.Loop() {
				sinkKeep, _ = s.Keep(ks[i%len(ks)], hasKey, int64(i)*int64(time.Microsecond))
				i++
			}
		})
	}
	f("rate", Config{Rate: 0.1}, false)
	f("key", Config{Rate: 0.1}, true)
	f("dynamic", Config{Dynamic: &Dynamic{TargetPerKey: 100}}, true)
}

// BenchmarkKeepParallel is one dynamic sampler shared by every P, as by the shard workers.
func BenchmarkKeepParallel(b *testing.B) {
	ks := keys(1000)
	b.Run("mode:dynamic", func(b *testing.B) {
		s := mustNew(b, Config{Dynamic: &Dynamic{TargetPerKey: 100}})
		b.ReportAllocs()
		b.SetBytes(int64(len(ks[len(ks)-1])))
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s.Keep(ks[i%len(ks)], true, int64(i)*int64(time.Microsecond))
				i++
			}
		})
	})
}
