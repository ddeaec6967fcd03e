package jsonraw

import "testing"

// go test -run '^$' -bench . -benchmem -count 6 ./core/jsonraw

// benchEvent is the pipeline's benchmark event: compact, 540 bytes, 39 strings.
const benchEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"declined","latency_ms":182,"amount":1499.5,"currency":"USD","card_last4":"4242","user_agent":"okhttp/4.12.0","client_ip":"10.1.2.3","path":"/api/v2/payments","region":"eu-west-1","retry":false,"message":"payment declined for order ord_400000 after 182 ms"},"metadata":{"env":"prod","team":"payments","host":"pay-01","version":"2.14.1"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2025-02-12T14:32:15.123456789Z"}`

var sinkInt int

// BenchmarkStrings finds the end of every string of the event, one string after another as a
// reader of the event does; a byte per op is a byte of the event.
func BenchmarkStrings(b *testing.B) {
	obj := []byte(benchEvent)
	var starts []int
	for i := 0; i < len(obj); i++ {
		if obj[i] == '"' {
			starts = append(starts, i)
			i, _ = strEndRef(obj, i)
		}
	}
	run := func(name string, end func([]byte, int) int) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(obj)))
			for b.Loop() {
				n := 0
				for _, i := range starts {
					n += end(obj, i)
				}
				sinkInt = n
			}
		})
	}
	run("StrEnd", func(b []byte, i int) int { e, _ := StrEnd(b, i); return e })
	run("StrClose", StrClose)
	run("Skip", Skip)
}

// BenchmarkSkipObject skips the whole event as a value.
func BenchmarkSkipObject(b *testing.B) {
	obj := []byte(benchEvent)
	b.ReportAllocs()
	b.SetBytes(int64(len(obj)))
	for b.Loop() {
		sinkInt = Skip(obj, 0)
	}
}
