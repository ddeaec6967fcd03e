package syslog

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkEncode measures framing a 100-event batch with every field mapping set.
func BenchmarkEncode(b *testing.B) {
	s := newSink(b, "127.0.0.1:1", allOptions)
	data := batch(strings.Split(strings.Repeat(mapped+"\n", 100), "\n")[:100]...).Data
	buf := s.bufs.Get().(*buffer)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := s.encode(buf, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBatch sends 100-event batches to a loopback TCP server that discards them.
func BenchmarkWriteBatch(b *testing.B) {
	for _, name := range []string{"default", "mapped"} {
		b.Run(name, func(b *testing.B) {
			addr := discardServer(b)
			edit := func(*Options) {}
			if name == "mapped" {
				edit = allOptions
			}
			s := newSink(b, addr, edit)
			bt := batch(strings.Split(strings.Repeat(event+"\n", 100), "\n")[:100]...)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(bt.Data)))
			for b.Loop() {
				if err := s.WriteBatch(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
