package fieldpath

import "testing"

// routeEvent is the pipeline's benchmark event (core/pipeline, bench): compact, 540 bytes,
// with the fields that its routes and sampling key read.
const routeEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"declined","latency_ms":182,"amount":1499.5,"currency":"USD","card_last4":"4242","user_agent":"okhttp/4.12.0","client_ip":"10.1.2.3","path":"/api/v2/payments","region":"eu-west-1","retry":false,"message":"payment declined for order ord_400000 after 182 ms"},"metadata":{"env":"prod","team":"payments","host":"pay-01","version":"2.14.1"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2025-02-12T14:32:15.123456789Z"}`

// BenchmarkSetLookup is the pipeline's one pass per event: the fields of its routes and
// sampling key, go test -run '^$' -bench SetLookup -count 6 ./core/fieldpath.
func BenchmarkSetLookup(b *testing.B) {
	obj := []byte(routeEvent)
	paths := []*Path{MustParse("event.status"), MustParse("event.amount"), MustParse("metadata.env"), MustParse("event.transactionId")}
	want := []string{`"declined"`, `1499.5`, `"prod"`, `"txn_30921"`}
	b.Run("paths:4", func(b *testing.B) {
		s := NewSet(paths...)
		vals := make([]Value, s.Len())
		s.Lookup(obj, vals)
		for i, w := range want {
			if string(vals[i].Raw) != w {
				b.Fatalf("%s = %s, want %s", paths[i], vals[i].Raw, w)
			}
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(obj)))
		for b.Loop() {
			s.Lookup(obj, vals)
		}
	})
	b.Run("paths:1", func(b *testing.B) {
		p := paths[2]
		b.ReportAllocs()
		b.SetBytes(int64(len(obj)))
		for b.Loop() {
			sinkValue, _ = Lookup(obj, p)
		}
	})
}
