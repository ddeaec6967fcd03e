// Package benchwrite is the loop of the sinks' WriteBatch benchmarks, so that every sink's
// figures are measured and reported alike. It is meant for tests only.
package benchwrite

import (
	"testing"

	"github.com/ingestd/ingestd/sinks"
)

// Run writes batch through s once per iteration of b, calling after (if set) after each write
// to reset the destination, and reports allocations, bytes and events per second. A failed
// write ends the benchmark.
func Run(b *testing.B, s sinks.Sink, batch *sinks.Batch, after func()) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(batch.Data)))
	for b.Loop() {
		if err := s.WriteBatch(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		if after != nil {
			after()
		}
	}
	b.ReportMetric(float64(b.N)*float64(batch.Events)/b.Elapsed().Seconds(), "events/s")
}
