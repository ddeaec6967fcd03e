package parse

import (
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// benchEvent is a ~500-byte event shaped like the seed example, with msg as event.message.
func benchEvent(msg string) []byte {
	return []byte(`{"timestamp":"2025-02-12T14:32:15.123+02:00","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":1234.5,"currency":"USD","sent_ms":1739370735123,"message":` +
		msg + `},"metadata":{"env":"prod","team":"payments","region":"eu-west-1"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2025-02-12T14:32:15.123456789Z"}`)
}

var (
	benchJSON  = benchEvent(`"{\"user\":\"bob\",\"action\":\"checkout\",\"cart\":{\"items\":3,\"total\":1234.5},\n\"tags\":[\"web\",\"eu\"],\"ok\":true}"`)
	benchKV    = benchEvent(`"level=info msg=\"payment approved\" user=bob order=ord_400000 latency=182ms card=visa retry=0"`)
	benchRegex = benchEvent(`"10.1.2.3 - bob [12/Feb/2025:14:32:15 +0000] \"POST /api/v1/payments HTTP/1.1\" 200 512"`)
)

// benchStep is a step the benchmarks and the allocation tests run, with its event.
type benchStep struct {
	name  string
	set   func(o *Options)
	event []byte
}

var benchSteps = []benchStep{
	{"json", func(o *Options) { o.Field, o.Format = "event.message", "json" }, benchJSON},
	{"kv", func(o *Options) { o.Field, o.Format, o.Target = "event.message", "kv", "event.fields" }, benchKV},
	{"regex", func(o *Options) {
		o.Field, o.Format, o.Target = "event.message", "regex", "event.http"
		o.Pattern = `^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) (?P<bytes>\d+)`
	}, benchRegex},
	{"timestamp_rfc3339", func(o *Options) { o.Field, o.Format = "timestamp", "timestamp" }, benchJSON},
	{"timestamp_unix_ms", func(o *Options) {
		o.Field, o.Format, o.Target, o.Layout = "event.sent_ms", "timestamp", "event.sent_at", "unix_ms"
	}, benchJSON},
	{"timestamp_go_layout", func(o *Options) {
		o.Field, o.Format, o.Target, o.Layout, o.Timezone = "event.local", "timestamp", "event.at", "2006-01-02 15:04:05.000", "Europe/Paris"
	}, benchEvent(`"x","local":"2025-02-12 14:32:15.123"`)},
}

func BenchmarkProcess(b *testing.B) {
	for _, s := range benchSteps {
		b.Run(s.name, func(b *testing.B) {
			st := step(b, s.set)
			facts := &processor.Facts{}
			dst, o := st.Process(nil, s.event, facts)
			if o != processor.Changed {
				b.Fatalf("outcome %v: %s", o, dst)
			}
			b.SetBytes(int64(len(s.event)))
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = st.Process(dst[:0], s.event, facts)
			}
		})
	}
}
