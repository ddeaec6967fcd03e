package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/wal"
)

// The sinks of these tests stand in for destinations (a memory sink that a gate holds still, a
// script sink that fails on cue); the engine, its HTTP listener, the write-ahead log and the
// dead-letter files are the real ones, spoken to over loopback and read from disk.

// Under ack: delivered, a stream routed to a fast and a slow sink is answered only once both
// delivered its events: the fast one's delivery alone does not answer it.
func TestAckDeliveredWaitsForEverySink(t *testing.T) {
	idFast, fast := newMem(t)
	idSlow, slow := newMem(t)
	slow.gate = make(chan struct{})
	te := startWith(t, fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: memory, ack_timeout: 10s}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [fast, slow], ack: delivered}]
sinks:
  - {name: fast, type: memory, id: %q, batch: {max_age: 10ms}}
  - {name: slow, type: memory, id: %q, batch: {max_age: 10ms}}
`, starToken, idFast, idSlow))
	answered := make(chan reply, 1)
	go func() {
		answered <- te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(4, nil))
	}()
	fast.waitLines(t, 4)
	select {
	case r := <-answered:
		t.Fatalf("answered %d while the slow sink still held the events", r.status)
	case <-time.After(150 * time.Millisecond):
	}
	if n := len(slow.Lines()); n != 0 {
		t.Fatalf("the slow sink took %d events before its gate opened", n)
	}
	close(slow.gate)
	select {
	case r := <-answered:
		if r.status != 200 || r.Events != 4 {
			t.Fatalf("after both sinks delivered: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after both sinks delivered")
	}
	// WriteBatch keeps the lines before it returns, so a 200 with fewer would be an early answer.
	if n := len(slow.Lines()); n != 4 {
		t.Fatalf("answered 200 with %d of 4 events at the slow sink", n)
	}
}

// Under ack: delivered, one of two sinks failing (retryably) past ack_timeout turns the answer
// into 503, though the other sink delivered; the events stay accepted and reach the failing sink
// once it recovers.
func TestAckDeliveredOneSinkFailing(t *testing.T) {
	var recovered atomic.Bool
	idFail, failing := newScript(t, func(int, *sinks.Batch) error {
		if !recovered.Load() {
			return errors.New("503 service unavailable")
		}
		return nil
	})
	idFast, fast := newMem(t)
	te := startWith(t, fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: delivered, ack_timeout: 300ms}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [fast, failing]}]
sinks:
  - {name: fast, type: memory, id: %q, batch: {max_age: 10ms}}
  - {name: failing, type: script, id: %q, batch: {max_age: 10ms}, retry: {initial_backoff: 20ms, max_backoff: 40ms}}
`, starToken, idFast, idFail))
	start := time.Now()
	r := te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(3, nil))
	took := time.Since(start)
	if r.status != 503 || r.Error != "overloaded" || !strings.Contains(r.Detail, "within ack_timeout (300ms)") {
		t.Fatalf("one sink failing past ack_timeout: %+v", r)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Fatalf("answered after %v, want about the 300ms ack_timeout", took)
	}
	// accepted all the same: counted as received, not as rejected
	if got, rej := testutil.ToFloat64(te.met.received.WithLabelValues("s")), testutil.ToFloat64(te.met.rejected.WithLabelValues("s", "overloaded")); got != 3 || rej != 0 {
		t.Fatalf("received %v, rejected %v; want 3 and 0", got, rej)
	}
	if n := len(fast.Lines()); n != 3 {
		t.Fatalf("the healthy sink holds %d of the 3 events", n)
	}
	if calls, _, _ := failing.snapshot(); len(calls) < 2 {
		t.Fatalf("the failing sink was tried %d time(s) within ack_timeout; want retries", len(calls))
	}
	recovered.Store(true)
	failing.waitLines(t, 3)
}

// A stream with ack: disk under a server default of memory writes its requests to the
// write-ahead log; a stream on the default does not. Read back with the wal package, the log
// holds exactly the disk stream's requests, and a restart replays those and only those.
func TestAckDiskStreamUnderMemoryDefault(t *testing.T) {
	walDir := t.TempDir()
	idHeld, held := newMem(t)
	held.gate = make(chan struct{}) // the first engine delivers nothing
	yml := `
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: memory, wal: {dir: %q}}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams:
  - {id: durable, sinks: [out], ack: disk}
  - {id: quick, sinks: [out]}
sinks:
  - {name: out, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}}
`
	te := serveEngine(t, parseConfig(t, fmt.Sprintf(yml, walDir, starToken, idHeld)))
	body := func(stream string, i int) []byte {
		return fmt.Appendf(nil, `{"source":"t","event":{"stream":%q,"n":%d}}`, stream, i)
	}
	for i := range 3 {
		for _, s := range []string{"durable", "quick"} {
			if r := te.post(t, "POST", IngestPath, headers(starToken, s, "application/json"), body(s, i)); r.status != 200 {
				t.Fatalf("stream %s request %d: %+v", s, i, r)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = te.Shutdown(ctx) // the grace period ends with the sink held: nothing was delivered
	cancel()
	close(held.gate)

	l, err := wal.Open(walDir, wal.Options{Consumers: []string{"out"}})
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	err = l.Replay("out", func(_ wal.Position, p []byte) error {
		rec, err := parseRecord(p)
		if err != nil {
			return err
		}
		plain, err := s2.Decode(nil, rec.body)
		if err != nil {
			return err
		}
		logged = append(logged, rec.stream+" "+string(plain))
		return nil
	})
	if cerr := l.Close(); err != nil || cerr != nil {
		t.Fatalf("reading the log: %v, %v", err, cerr)
	}
	want := []string{"durable " + string(body("durable", 0)), "durable " + string(body("durable", 1)), "durable " + string(body("durable", 2))}
	if !slices.Equal(logged, want) {
		t.Fatalf("the log holds %q, want the disk stream's three requests only", logged)
	}

	idNext, next := newMem(t)
	e2 := serveEngine(t, parseConfig(t, fmt.Sprintf(yml, walDir, starToken, idNext)))
	lines := next.waitLines(t, 3)
	time.Sleep(100 * time.Millisecond) // a replay of the memory stream would show by now
	if err := e2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(next.Lines()); n != 3 {
		t.Fatalf("the restart replayed %d events, want the disk stream's 3", n)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"stream_id":"durable"`) {
			t.Fatalf("the restart replayed %q, of a stream that is not ack: disk", l)
		}
	}
}

// Each dead-letter record says when the events were refused: "time" is RFC 3339, UTC, and lies
// between the request and the reading of the file.
func TestDeadLetterRecordTime(t *testing.T) {
	id, _ := newScript(t, func(int, *sinks.Batch) error {
		return sinks.PermanentError(errors.New("400 mapping error"))
	})
	dir := t.TempDir()
	te, _ := scriptEngine(t, id, fmt.Sprintf(", dead_letter: {dir: %q}", dir))
	before := time.Now()
	te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(2, nil))
	waitCount(t, func() float64 { return testutil.ToFloat64(te.met.deadLetter.WithLabelValues("dest")) }, 2)
	after := time.Now()
	data, err := os.ReadFile(deadLetterFile(dir, "dest", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	recs := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(recs) != 2 {
		t.Fatalf("%d dead-letter records, want 2", len(recs))
	}
	for _, line := range recs {
		var rec struct{ Time string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339Nano, rec.Time)
		if err != nil {
			t.Fatalf("time %q is not RFC 3339: %v", rec.Time, err)
		}
		if !strings.HasSuffix(rec.Time, "Z") {
			t.Errorf("time %q is not UTC", rec.Time)
		}
		if at.Before(before.Round(0)) || at.After(after.Round(0)) {
			t.Errorf("time %v is not between the request (%v) and the file's reading (%v)", at, before, after)
		}
	}
}

// When the dead-letter file cannot be written (its directory is a file), the refused events are
// counted as dropped with reason dead_letter_failed, and an ack: delivered request learns it.
func TestDeadLetterWriteFails(t *testing.T) {
	id, _ := newScript(t, func(int, *sinks.Batch) error {
		return sinks.PermanentError(errors.New("400 mapping error"))
	})
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	te := startWith(t, fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: delivered, ack_timeout: 5s}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [dest]}]
sinks:
  - {name: dest, type: script, id: %q, batch: {max_age: 10ms}, dead_letter: {dir: %q}}
`, starToken, id, filepath.Join(notDir, "dlq")))
	r := te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(3, nil))
	if r.status != 503 || !strings.Contains(r.Detail, "400 mapping error") || strings.Contains(r.Detail, "kept in its dead-letter queue") {
		t.Fatalf("refused events the dead-letter queue could not keep: %+v", r)
	}
	if got := testutil.ToFloat64(te.met.dropped.WithLabelValues("s", dropDeadLetterFailed)); got != 3 {
		t.Fatalf("dropped{reason=%q} = %v, want 3", dropDeadLetterFailed, got)
	}
	if got := testutil.ToFloat64(te.met.deadLetter.WithLabelValues("dest")); got != 0 {
		t.Fatalf("dead-lettered = %v, want 0", got)
	}
}

func parseConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yml), "ack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitCount waits until read returns at least n.
func waitCount(t *testing.T, read func() float64, n float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for read() < n {
		if time.Now().After(deadline) {
			t.Fatalf("count %v, want %v", read(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
