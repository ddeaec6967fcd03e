package snowflake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/sinks/internal/benchwrite"
)

// BenchmarkBodies measures building a 1000-event batch's request bodies.
func BenchmarkBodies(b *testing.B) {
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		b.Run(comp, func(b *testing.B) {
			f := newFake(b)
			o := f.options()
			o.Compression = comp
			s, _ := New("sf", o)
			data := batchOf(1000, 0, "").Data
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for pos := 0; pos < len(data); {
					n, _ := nextChunk(data[pos:], s.maxBody)
					p := s.bodies.Get()
					p.Fill(data[pos:pos+n], s.gzip)
					p.Release()
					pos += n
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkWriteBatch sends 1000-event batches to the in-process stand-in for Snowflake, which
// decodes and checks every row; it measures the sink and the fake together.
func BenchmarkWriteBatch(b *testing.B) {
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		b.Run(comp, func(b *testing.B) {
			f := newFake(b)
			o := f.options()
			o.Compression = comp
			benchwrite.Run(b, f.sink(o), batchOf(1000, 0, cp(1)), func() {
				f.mu.Lock()
				f.channel("ingestd-test-0").rows = nil // keep the fake's memory flat
				f.bodySizes = f.bodySizes[:0]
				f.mu.Unlock()
			})
		})
	}
}

// BenchmarkWriteBatchSinkOnly sends 1000-event batches to a server that answers with canned
// replies and discards bodies, so the allocations reported are the sink's and the HTTP
// client's.
func BenchmarkWriteBatchSinkOnly(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch {
		case strings.HasSuffix(r.URL.Path, "/hostname"):
			io.WriteString(w, `{"hostname":"`+r.Host+`"}`)
		case r.URL.Path == "/oauth/token":
			io.WriteString(w, `{"token":"t"}`)
		default:
			io.WriteString(w, `{"next_continuation_token":"c"}`)
		}
	}))
	defer srv.Close()
	f := &fake{t: b, srv: srv}
	o := f.options()
	o.Compression = CompressionNone
	benchwrite.Run(b, f.sink(o), batchOf(1000, 0, cp(1)), nil)
}
