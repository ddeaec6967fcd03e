package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ingestd/ingestd/core"
)

// BenchmarkIngest sends each workload through Engine.Handler, one request context per
// goroutine, and stops the clock when the discard sink has written every event: the handler,
// the ring, the shard worker, the sink batch and WriteBatch are all inside the measurement.
func BenchmarkIngest(b *testing.B) {
	for _, w := range workloads() {
		b.Run(w.name, func(b *testing.B) {
			eng := startEngine(b, 10000, 4<<20)
			warmUp(b, eng, &w, int64(w.events))
			start := discarded.Load()
			b.SetBytes(int64(len(w.body)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := w.requestCtx()
				for pb.Next() {
					ctx.Response.Reset()
					eng.Handler(ctx)
					// Fatal must not be called from RunParallel's goroutines.
					if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
						b.Errorf("status %d: %s", code, ctx.Response.Body())
						return
					}
				}
			})
			if b.Failed() {
				b.FailNow()
			}
			sent := int64(b.N) * int64(w.events)
			waitCount(b, func() int64 { return discarded.Load() - start }, sent)
			b.StopTimer()
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// warmUp sends requests for 100ms, several scheduler time slices, so that the engine's pools
// hold every unit and batch buffer the benchmark keeps in flight (with one P, the handler runs
// a whole 10ms slice ahead of the shard worker), and waits until they are written, so that
// B/op is not dominated by the pools filling up. delivered is how many lines one request puts
// into the sinks.
func warmUp(b *testing.B, eng *core.Engine, w *workload, delivered int64) {
	start := discarded.Load()
	ctx := w.requestCtx()
	var sent int64
	for t0 := time.Now(); time.Since(t0) < 100*time.Millisecond; sent += delivered {
		ctx.Response.Reset()
		eng.Handler(ctx)
		if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
			b.Fatalf("warm-up: status %d: %s", code, ctx.Response.Body())
		}
	}
	waitCount(b, func() int64 { return discarded.Load() - start }, sent)
}

// BenchmarkBaseline sends the same workloads through Baseline.ServeHTTP, with a new request and
// response recorder per call as net/http would make, and stops the clock when its writer has
// written every event.
func BenchmarkBaseline(b *testing.B) {
	for _, w := range workloads() {
		b.Run(w.name, func(b *testing.B) {
			bl := NewBaseline(benchToken, benchStream)
			b.Cleanup(bl.Close)
			b.SetBytes(int64(len(w.body)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				h := w.header()
				for pb.Next() {
					rec := httptest.NewRecorder()
					bl.ServeHTTP(rec, w.httpRequest(h))
					if rec.Code != http.StatusOK {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
			if b.Failed() {
				b.FailNow()
			}
			sent := int64(b.N) * int64(w.events)
			waitCount(b, bl.Count, sent)
			b.StopTimer()
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
