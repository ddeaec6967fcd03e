package elasticsearch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkAppendBulk(b *testing.B) {
	o := NewOptions()
	o.URLs = []string{"http://localhost:9200"}
	o.IDField = "id"
	s, _ := New("es", o)
	batch := batchOf(1000)
	w := new(work)
	lines := make([]int, 1000)
	for i := range lines {
		lines[i] = i
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch.Data)))
	for b.Loop() {
		w.events = splitLines(w.events[:0], batch.Data)
		w.raw = s.appendBulk(w.raw[:0], w.events, lines, batch.Stream, batch.StreamID, "2025.03.01")
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
			batch := batchOf(1000)
			b.ReportAllocs()
			b.SetBytes(int64(len(batch.Data)))
			for b.Loop() {
				if err := s.WriteBatch(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
