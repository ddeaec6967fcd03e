package elasticsearch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/internal/benchwrite"
)

// BenchmarkAppendBulk builds the bulk body of 1000 stored events, for plain indices and for
// data streams (which add "@timestamp" to each event).
func BenchmarkAppendBulk(b *testing.B) {
	ts := make([]string, 1000)
	for i := range ts {
		ts[i] = time.Date(2025, 2, 12, 14, 32, 15, i*1000, time.UTC).Format(time.RFC3339Nano)
	}
	batch := storedBatch("app", ts...)
	lines := make([]int, len(ts))
	for i := range lines {
		lines[i] = i
	}
	for name, ds := range map[string]*DataStream{"index": nil, "data_stream": {}} {
		b.Run(name, func(b *testing.B) {
			o := NewOptions()
			o.URLs = []string{"http://localhost:9200"}
			o.IDField = "event_id"
			o.DataStream = ds
			s, _ := New("es", o)
			w := new(work)
			b.ReportAllocs()
			b.SetBytes(int64(len(batch.Data)))
			for b.Loop() {
				w.events = splitLines(w.events[:0], batch.Data)
				w.raw = w.raw[:0]
				s.appendBulk(w, lines, batch, "2025.03.01")
			}
			b.ReportMetric(float64(b.N)*float64(len(lines))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkWriteBatch sends 1000-event batches to a receiver that accepts everything.
func BenchmarkWriteBatch(b *testing.B) {
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		b.Run(comp, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				io.WriteString(w, `{"took":1,"errors":false,"items":[]}`)
			}))
			defer srv.Close()
			o := NewOptions()
			o.URLs = []string{srv.URL}
			o.Compression = comp
			s, _ := New("es", o)
			s.Connect(context.Background())
			defer s.Close(context.Background())
			benchwrite.Run(b, s, batchOf(1000), nil)
		})
	}
}
