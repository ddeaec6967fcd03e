package bench

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ingestd/ingestd/core"
)

// BenchmarkIngest sends each workload through Engine.Handler, one request context per
// goroutine, and stops the clock when the discard sink has written every event: the handler,
// the ring, the shard worker, the sink batch and WriteBatch are all inside the measurement.
// format:ndjson/batch:100/clients:many compares the acknowledgement modes (benchmarkAcks).
func BenchmarkIngest(b *testing.B) {
	b.Run("format:ndjson/batch:100/clients:many", benchmarkAcks)
	for _, w := range workloads() {
		b.Run(w.name, func(b *testing.B) {
			eng := startEngine(b, 10000, 4<<20)
			warmUp(b, eng, &w, int64(w.events), nil)
			start := discarded.Load()
			b.SetBytes(int64(len(w.body)))
			b.ReportAllocs()
			b.ResetTimer()
			drive(b, eng, &w, nil)
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
// into the sinks; p, when not nil, bounds the requests in flight as the benchmark will.
func warmUp(b *testing.B, eng *core.Engine, w *workload, delivered int64, p *pacer) {
	start := discarded.Load()
	ctx := w.requestCtx()
	var sent int64
	for t0 := time.Now(); time.Since(t0) < 100*time.Millisecond; sent += delivered {
		if p != nil {
			p.pace()
		}
		ctx.Response.Reset()
		eng.Handler(ctx)
		if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
			b.Fatalf("warm-up: status %d: %s", code, ctx.Response.Body())
		}
	}
	waitCount(b, func() int64 { return discarded.Load() - start }, sent)
}

// drive sends w's request through eng from RunParallel's goroutines until b.N are answered,
// each first waiting for room in p's window when p is not nil.
func drive(b *testing.B, eng *core.Engine, w *workload, p *pacer) {
	b.RunParallel(func(pb *testing.PB) {
		ctx := w.requestCtx()
		for pb.Next() {
			if p != nil {
				p.pace()
			}
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
}

// pacer keeps a closed-loop client's requests in flight under a window: when the shard workers
// are slower than the handler (a heavy pipeline), senders wait for deliveries instead of
// filling the queues until the engine answers 503.
type pacer struct {
	start     int64 // discarded when the pacer was made
	delivered int64 // lines one request puts into the sinks
	window    int64 // requests in flight at most
	sent      atomic.Int64
}

func newPacer(delivered, window int64) *pacer {
	return &pacer{start: discarded.Load(), delivered: delivered, window: window}
}

// pace waits until one more request fits in the window, and counts it.
func (p *pacer) pace() {
	n := p.sent.Add(1)
	for (discarded.Load()-p.start)/p.delivered < n-p.window {
		runtime.Gosched()
	}
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
