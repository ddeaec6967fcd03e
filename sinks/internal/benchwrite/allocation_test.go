//go:build !race

package benchwrite

import (
	"testing"

	"github.com/ingestd/ingestd/sinks"
)

// TestRunAllocatesNothing: the loop adds no allocation to what a sink's benchmark reports.
func TestRunAllocatesNothing(t *testing.T) {
	res := testing.Benchmark(func(b *testing.B) {
		Run(b, &countSink{}, &sinks.Batch{Data: []byte("{}\n"), Events: 1}, func() {})
	})
	if res.N == 0 || res.MemAllocs != 0 {
		t.Fatalf("%d allocations in %d iterations", res.MemAllocs, res.N)
	}
}
