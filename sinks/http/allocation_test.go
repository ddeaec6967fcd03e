//go:build !race

package http

import (
	"testing"
)

// TestEncodeAllocations: building a body (format and compression, buffers and encoders from
// the pools) allocates nothing once warm; what a request allocates beyond it is net/http's
// (see BenchmarkWriteBatch).
func TestEncodeAllocations(t *testing.T) {
	data := []byte(lines)
	for _, format := range []string{FormatNDJSON, FormatJSONArray} {
		for _, comp := range []string{CompressionNone, CompressionGzip, CompressionZstd} {
			s := newSink(t, "http://127.0.0.1:1", func(o *Options) { o.Format, o.Compression = format, comp })
			var w work
			warm := func() {
				body := s.bodies.Get()
				s.encode(body, &w, data)
				body.Reader().Close()
				body.Release()
			}
			warm()
			if n := testing.AllocsPerRun(100, warm); n != 0 {
				t.Errorf("%s/%s: %v allocations per body, want 0", format, comp, n)
			}
		}
	}
}
