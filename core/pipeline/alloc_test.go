//go:build !race

package pipeline

import (
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/processor"
)

const benchEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"declined","latency_ms":182,"amount":1499.5,"currency":"USD","card_last4":"4242","user_agent":"okhttp/4.12.0","client_ip":"10.1.2.3","path":"/api/v2/payments","region":"eu-west-1","retry":false,"message":"payment declined for order ord_400000 after 182 ms"},"metadata":{"env":"prod","team":"payments","host":"pay-01","version":"2.14.1"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2025-02-12T14:32:15.123456789Z"}`

func routingPipeline(tb testing.TB) *Pipeline {
	return mustNew(tb, []Step{filterStep(tb, `event.status == "health"`, "health")}, []Route{
		{Name: "big-declines", When: cond(tb, `event.status == "declined" && event.amount > 1000`), To: []int{0}, Final: true},
		{Name: "prod", When: cond(tb, `metadata.env in ["prod", "staging"]`), Sample: sampler(tb, 0.5), Key: fieldpath.MustParse("event.transactionId"), To: []int{1}},
	}, []int{1}, []string{"siem", "archive"})
}

func TestRunAllocatesNothing(t *testing.T) {
	p := routingPipeline(t)
	w := p.NewWorker()
	ev := []byte(benchEvent)
	facts := &processor.Facts{}
	n := testing.AllocsPerRun(1000, func() {
		r := w.Run(ev, facts, 0)
		for s := range p.Sinks() {
			if r.Sinks&(1<<s) != 0 {
				w.Line(s)
			}
		}
	})
	if n != 0 {
		t.Fatalf("Run allocates %v times per event", n)
	}
}

func BenchmarkRun(b *testing.B) {
	p := routingPipeline(b)
	w := p.NewWorker()
	ev := []byte(benchEvent)
	facts := &processor.Facts{}
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		w.Run(ev, facts, 0)
	}
}
