package bench

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestWorkloads checks what the benchmarks take for granted: the engine and Baseline accept
// every workload with the same answer, and every event reaches the writer, exactly once.
func TestWorkloads(t *testing.T) {
	eng := startEngine(t, 10000, 4<<20)
	bl := NewBaseline(benchToken, benchStream)
	defer bl.Close()

	f := func(w *workload) {
		t.Helper()
		want := fmt.Sprintf(`{"status":"accepted","ingested_bytes":%d,"stream_id":%q,"events":%d}`,
			w.decoded, benchStream, w.events)

		// Twice through one request context, as the benchmarks reuse it.
		start := discarded.Load()
		ctx := w.requestCtx()
		for range 2 {
			ctx.Response.Reset()
			eng.Handler(ctx)
			if code, got := ctx.Response.StatusCode(), string(ctx.Response.Body()); code != fasthttp.StatusOK || got != want {
				t.Errorf("%s: engine answered %d %s, want 200 %s", w.name, code, got, want)
			}
		}
		written := func() int64 { return discarded.Load() - start }
		waitCount(t, written, 2*int64(w.events))

		before := bl.Count()
		rec := httptest.NewRecorder()
		bl.ServeHTTP(rec, w.httpRequest(w.header()))
		if got := rec.Body.String(); rec.Code != 200 || got != want {
			t.Errorf("%s: baseline answered %d %s, want 200 %s", w.name, rec.Code, got, want)
		}
		bl.Wait()
		if got := bl.Count() - before; got != int64(w.events) {
			t.Errorf("%s: baseline wrote %d events, want %d", w.name, got, w.events)
		}
		if got := written(); got != 2*int64(w.events) {
			t.Errorf("%s: the sink wrote %d events, want %d", w.name, got, 2*w.events)
		}
	}

	for _, w := range workloads() {
		f(&w)
	}
}

// TestMakeEvents checks that the events are the size and variety the benchmarks claim.
func TestMakeEvents(t *testing.T) {
	events := makeEvents(100)
	var total, noTimestamp, offset int
	seen := map[string]bool{}
	for _, ev := range events {
		total += len(ev)
		seen[string(ev)] = true
		if !bytes.Contains(ev, []byte(`"timestamp"`)) {
			noTimestamp++
		}
		if bytes.Contains(ev, []byte(`+02:00"`)) {
			offset++
		}
	}
	if avg := total / len(events); avg < 450 || avg > 550 {
		t.Errorf("events average %d bytes, want about 500", avg)
	}
	if len(seen) != len(events) {
		t.Errorf("%d distinct events of %d", len(seen), len(events))
	}
	if noTimestamp != 10 || offset == 0 {
		t.Errorf("%d events without timestamp (want 10), %d with an offset (want some)", noTimestamp, offset)
	}
}
