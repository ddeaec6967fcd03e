package fieldpath

import (
	"testing"

	"github.com/bytedance/sonic"
)

// go test -run '^$' -bench . -benchmem ./core/fieldpath
// Expect 0 allocs/op for Lookup; BenchmarkSonicGet is the baseline.

// benchEvent is the seed event with its card as an object, for a path three levels deep.
const benchEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36","ip":"203.0.113.42","path":"/api/v2/checkout/confirm","region":"eu-west-1","card":{"brand":"visa","last4":"4242"},"message":"payment approved for order ord_88412 after 3DS challenge"},"metadata":{"env":"prod","team":"payments"}}`

var sinkValue Value

func BenchmarkLookup(b *testing.B) {
	obj := []byte(benchEvent)
	f := func(name, path string) {
		p := MustParse(path)
		b.Run(name, func(b *testing.B) {
			if _, ok := Lookup(obj, p); !ok {
				b.Fatalf("%s not found", path)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(obj)))
			for b.Loop() {
				sinkValue, _ = Lookup(obj, p)
			}
		})
	}
	f("depth:1", "source")
	f("depth:2", "event.status")
	f("depth:3", "event.card.last4")
}

// BenchmarkSet finds four fields in one pass, against four calls of Lookup.
func BenchmarkSet(b *testing.B) {
	obj := []byte(benchEvent)
	paths := []*Path{MustParse("event.status"), MustParse("event.amount"), MustParse("metadata.env"), MustParse("event.card.last4")}
	vals := make([]Value, len(paths))
	b.Run("paths:4/way:set", func(b *testing.B) {
		s := NewSet(paths...)
		b.ReportAllocs()
		b.SetBytes(int64(len(obj)))
		for b.Loop() {
			s.Lookup(obj, vals)
		}
	})
	b.Run("paths:4/way:lookup", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(obj)))
		for b.Loop() {
			for i, p := range paths {
				vals[i], _ = Lookup(obj, p)
			}
		}
	})
}

var sinkString string

// BenchmarkSonicGet is the baseline: sonic's lazy lookup of the same paths, without the
// last-duplicate-wins rule that Lookup keeps.
func BenchmarkSonicGet(b *testing.B) {
	obj := benchEvent
	f := func(name string, path ...any) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(obj)))
			for b.Loop() {
				n, err := sonic.GetFromString(obj, path...)
				if err != nil {
					b.Fatal(err)
				}
				sinkString, _ = n.Raw()
			}
		})
	}
	f("depth:1", "source")
	f("depth:2", "event", "status")
	f("depth:3", "event", "card", "last4")
}
