package condition

import (
	"testing"

	"github.com/bytedance/sonic"
)

// go test -run '^$' -bench . -benchmem ./core/condition
// Expect 0 allocs/op from BenchmarkEval. BenchmarkSonicBaseline is the same routing condition
// written by hand over sonic's lazy lookups.

// seedEvent is the SPEC example padded with realistic fields to about 500 bytes.
const seedEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36","ip":"203.0.113.42","path":"/api/v2/checkout/confirm","region":"eu-west-1","card_last4":"4242","message":"payment approved for order ord_88412 after 3DS challenge"},"metadata":{"env":"prod","team":"payments"}}`

const routing = `event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]`

var sinkBool bool

func BenchmarkEval(b *testing.B) {
	obj := []byte(seedEvent)
	f := func(name, src string) {
		c := mustCompile(b, src)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(obj)))
			for b.Loop() {
				sinkBool = c.Eval(obj)
			}
		})
	}
	f("cond:routing", routing)
	f("cond:source", `source == "payments-app"`)
	f("cond:matches", `event.message matches "ord_[0-9]+ after" && event.path startsWith "/api/"`)
}

func BenchmarkSonicBaseline(b *testing.B) {
	obj := seedEvent
	str := func(path ...any) string {
		n, err := sonic.GetFromString(obj, path...)
		if err != nil {
			return ""
		}
		s, _ := n.String()
		return s
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(obj)))
	for b.Loop() {
		if str("event", "status") == "declined" {
			n, _ := sonic.GetFromString(obj, "event", "amount")
			if f, err := n.Float64(); err == nil && f > 1000 {
				sinkBool = true
				continue
			}
		}
		env := str("metadata", "env")
		sinkBool = env == "prod" || env == "staging"
	}
}
