package parquet

import (
	"bytes"
	"fmt"
	"testing"
)

// batch returns n stored events of about 500 bytes each, as NDJSON.
func batch(n int) []byte {
	var b bytes.Buffer
	statuses := []string{"approved", "declined", "pending"}
	for i := range n {
		fmt.Fprintf(&b, `{"timestamp":"2025-02-12T14:%02d:%02d.%03dZ","source":"payments-app","event":{"transactionId":"txn_%08d","status":"%s","amount":%d.%02d,"count":%d,"ok":%v,"at":"2025-02-12T14:30:00+01:00","currency":"USD","message":"card authorisation for order %d returned by the issuer after risk checks \"v2\"","customer":{"id":"cus_%06d","country":"DE"}},"metadata":{"env":"prod","team":"payments","region":"eu-west-1"},"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2025-02-12T14:32:15.%09dZ","event_id":"5f0c8e3a9b1d4e7f8a2c6b0d9e1f3a5c-%d"}`+"\n",
			i/60%60, i%60, i%1000, i, statuses[i%3], i*7%10000, i%100, i, i%2 == 0, i, i%5000, i, i)
	}
	return b.Bytes()
}

func BenchmarkEncode(b *testing.B) {
	for _, codec := range []Compression{Snappy, Zstd} {
		b.Run([]string{"snappy", "zstd"}[codec], func(b *testing.B) {
			s, err := NewSchema(testColumns)
			if err != nil {
				b.Fatal(err)
			}
			s.Options.Compression = codec
			in := batch(1000)
			var out bytes.Buffer
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				out.Reset()
				if _, err := s.Encode(&out, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(out.Len())/float64(len(in)), "ratio")
		})
	}
}

func BenchmarkFillRow(b *testing.B) {
	s, _ := NewSchema(testColumns)
	e := s.newEncoder(Snappy)
	line := bytes.TrimSpace(batch(1))
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		s.set.Lookup(line, e.vals)
		s.fillRow(e, e.rows[0], line, nil)
	}
}
