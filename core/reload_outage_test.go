package core

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// An outage that outlasts the reload's deadline: the replaced sink keeps retrying in the
// background and delivers once its destination is back, and the reload itself returns at once.
// The script sink stands for any destination that answers 503 for a while.
func TestReloadDuringOutageLosesNothing(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	id, dest := newScript(t, func(int, *sinks.Batch) error {
		if down.Load() {
			return errors.New("503 Service Unavailable")
		}
		return nil
	})
	te, cfg := scriptEngine(t, id, "")
	h := headers(starToken, "s", "application/x-ndjson")
	if r := te.post(t, "POST", IngestPath, h, numbered(40, nil)); r.status != 200 {
		t.Fatalf("ingest: %d %s", r.status, r.Detail)
	}
	waitCalls(t, dest, 2) // the old sink is failing and retrying

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := te.Reload(ctx, cfg); err != nil {
		t.Fatalf("reload during an outage: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("reload waited %v for a sink that is down", d)
	}
	if r := te.post(t, "POST", IngestPath, h, numbered(10, nil)); r.status != 200 {
		t.Fatalf("ingest after reload: %d %s", r.status, r.Detail)
	}
	time.Sleep(300 * time.Millisecond) // well past the reload's deadline
	down.Store(false)
	lines := dest.waitLines(t, 50)
	time.Sleep(50 * time.Millisecond)
	if _, _, lines = dest.snapshot(); len(lines) != 50 {
		t.Fatalf("delivered %d lines, want the 50 accepted exactly once", len(lines))
	}
	if n := testutil.ToFloat64(te.met.dropped.WithLabelValues("s", dropShutdown)); n != 0 {
		t.Fatalf("%v events counted as dropped", n)
	}
}

// Shutdown bounds the replaced sinks by its grace period too: they give up, what they held is
// counted as dropped, and Shutdown says so.
func TestShutdownEndsReplacedSinks(t *testing.T) {
	id, _ := newScript(t, func(int, *sinks.Batch) error { return errors.New("503 Service Unavailable") })
	yml := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, shards: 1, ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [dest]}]
sinks:
  - {name: dest, type: script, id: %q, batch: {max_events: 50, max_age: 10ms}, retry: {initial_backoff: 10ms, max_backoff: 40ms}}
`, starToken, id)
	cfg, err := config.Parse([]byte(yml), "script.yaml")
	if err != nil {
		t.Fatal(err)
	}
	te := serveEngine(t, cfg)
	if r := te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(20, nil)); r.status != 200 {
		t.Fatalf("ingest: %d %s", r.status, r.Detail)
	}
	if err := te.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := te.Shutdown(ctx); err == nil {
		t.Fatal("shutdown reported success with undelivered events")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v with a 200ms grace period", d)
	}
	if n := testutil.ToFloat64(te.met.dropped.WithLabelValues("s", dropShutdown)); n != 20 {
		t.Fatalf("%v events counted as dropped at shutdown, want 20", n)
	}
}

func waitCalls(t *testing.T, s *scriptSink, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if calls, _, _ := s.snapshot(); len(calls) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink was called fewer than %d times", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
