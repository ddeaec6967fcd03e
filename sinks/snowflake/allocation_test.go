//go:build !race

package snowflake

import "testing"

// Building the request bodies of a batch (cutting it at line boundaries and copying or
// gzipping each part into a pooled body) allocates nothing once the buffers are warm.
func TestBodyBuildingAllocatesNothing(t *testing.T) {
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		t.Run(comp, func(t *testing.T) {
			o := validOptions(t)
			o.Compression = comp
			s, err := New("sf", o)
			if err != nil {
				t.Fatal(err)
			}
			s.maxBody = 64 << 10 // several requests per batch
			data := batchOf(1000, 0, "").Data
			run := func() {
				for pos := 0; pos < len(data); {
					n, _ := nextChunk(data[pos:], s.maxBody)
					p := s.bodies.Get()
					p.Fill(data[pos:pos+n], s.gzip)
					p.Release()
					pos += n
				}
			}
			run()
			if n := testing.AllocsPerRun(50, run); n != 0 {
				t.Fatalf("%v allocs per batch", n)
			}
		})
	}
}
