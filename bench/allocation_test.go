//go:build !race

package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestIngestAllocs checks that a request costs no allocation from the handler to the sink,
// once the engine's pools are warm. The sink's max_events is 1, so every event is flushed and
// written as soon as the shard worker has appended it, and each run waits until the sink has
// counted every event of its request: the whole path runs inside each measured call. (Waiting
// on max_age instead would take 50ms per call.)
func TestIngestAllocs(t *testing.T) {
	eng := startEngine(t, 1, 64<<10)
	f := func(w *workload) {
		t.Helper()
		ctx := w.requestCtx()
		start := discarded.Load()
		written := func() int64 { return discarded.Load() - start }
		var sent int64
		send := func() {
			ctx.Response.Reset()
			eng.Handler(ctx)
			if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
				t.Fatalf("%s: status %d: %s", w.name, code, ctx.Response.Body())
			}
			sent += int64(w.events)
			waitCount(t, written, sent)
		}
		// Each request waits for the previous one, so a few fill every pool it uses.
		for range 100 {
			send()
		}
		if n := testing.AllocsPerRun(1000, send); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", w.name, n)
		}
	}

	for _, w := range workloads() {
		f(&w)
	}
}

// TestPipelineAllocs is TestIngestAllocs with the reference pipeline (enrich, mask with the
// card detector in hash mode, two routes, a keyed sample) on the stream.
func TestPipelineAllocs(t *testing.T) {
	eng, cfg := startPipelineEngine(t, referencePipeline, 1, 64<<10)
	w := ndjsonWorkload(t)
	per := deliveredPerRequest(t, cfg, w)
	ctx := w.requestCtx()
	start := discarded.Load()
	written := func() int64 { return discarded.Load() - start }
	var sent int64
	send := func() {
		ctx.Response.Reset()
		eng.Handler(ctx)
		if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
			t.Fatalf("status %d: %s", code, ctx.Response.Body())
		}
		sent += per
		waitCount(t, written, sent)
	}
	for range 100 {
		send()
	}
	if n := testing.AllocsPerRun(200, send); n != 0 {
		t.Errorf("%v allocations per request of %d events, want 0", n, w.events)
	}
}

// TestIngestAllocsAckDisk is TestIngestAllocs for NDJSON under ack: disk, the default: the
// request is appended to the write-ahead log (S2-compressed, group commit) and followed by a
// pooled ticket until every sink has it.
func TestIngestAllocsAckDisk(t *testing.T) {
	yml := strings.Replace(fmt.Sprintf(engineYAML, 1, 64<<10), "ack: memory", fmt.Sprintf("ack: disk\n  wal: {dir: %q}", t.TempDir()), 1)
	eng := startEngineConfig(t, []byte(yml))
	w := ndjsonWorkload(t)
	ctx := w.requestCtx()
	start := discarded.Load()
	var sent int64
	send := func() {
		ctx.Response.Reset()
		eng.Handler(ctx)
		if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
			t.Fatalf("status %d: %s", code, ctx.Response.Body())
		}
		sent += int64(w.events)
		waitCount(t, func() int64 { return discarded.Load() - start }, sent)
	}
	for range 300 { // past a few checkpoints, so tickets come back to the pool
		send()
	}
	if n := testing.AllocsPerRun(300, send); n != 0 {
		t.Errorf("%v allocations per request under ack: disk, want 0", n)
	}
}
