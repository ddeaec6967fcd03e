package mask

import (
	"fmt"
	"testing"
)

// go test -run '^$' -bench . -benchmem ./core/processor/mask
// Expect 0 allocs/op. The step is the common one: card numbers hashed out of the free-text
// message of ~500-byte events, which hold one in 1 of 10 events, or in every event.

// benchEvents returns 10 events shaped like the ingest example, each with its own message;
// the first cards of them mention a card number.
func benchEvents(cards int) [][]byte {
	plain := []string{
		"payment declined for order ord_88412 after 3DS challenge; issuer response 05, retry 2 of 3 in 30s",
		"payment approved for order ord_88413 after frictionless 3DS; settlement batch 2025-02-12 queued",
		"refund of 12.50 USD issued for order ord_88398, customer requested cancellation before shipping",
		"checkout confirmed by user 58120 from the mobile app, 3 items, shipping to DE, express delivery",
		"issuer timeout after 2500 ms for order ord_88414; falling back to the secondary acquirer in eu-west-1",
	}
	events := make([][]byte, 10)
	for i := range events {
		msg := plain[i%len(plain)]
		if i < cards {
			msg = fmt.Sprintf("payment declined for card 4111 1111 1111 1111 on order ord_884%02d; issuer response 05, do not retry", i)
		}
		events[i] = fmt.Appendf(nil, `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_3092%d","status":"declined","latency_ms":182,"amount":499,"currency":"USD","ip":"203.0.113.42","path":"/api/v2/checkout/confirm","region":"eu-west-1","message":"%s"},"metadata":{"env":"prod","team":"payments"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2025-02-12T14:32:15.123456789Z"}`, i, msg)
	}
	return events
}

var sinkBytes []byte

func BenchmarkProcess(b *testing.B) {
	run := func(name string, o *Options, cards int) {
		b.Run(name, func(b *testing.B) {
			st := newState(b, o)
			events := benchEvents(cards)
			size := 0
			for _, ev := range events {
				size += len(ev)
			}
			dst := make([]byte, 0, 1024)
			b.ReportAllocs()
			b.SetBytes(int64(size / len(events)))
			i := 0
			for b.Loop() {
				out, _ := st.Process(dst[:0], events[i], nil)
				sinkBytes = out
				if i++; i == len(events) {
					i = 0
				}
			}
		})
	}
	cardHash := opts(func(o *Options) { o.Detectors = []string{"credit_card"}; o.Mode = "hash"; o.Key = testKey }, "event.message")
	run("detector:credit_card/mode:hash/fields:1/cards:1in10", cardHash, 1)
	run("detector:credit_card/mode:hash/fields:1/cards:every", cardHash, 10)
	run("detector:none/mode:redact/fields:1", opts(nil, "event.message"), 0)
}
