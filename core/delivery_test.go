package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// scriptSink stands for a destination whose answers a test scripts: refuse decides, per call,
// what WriteBatch returns; accepted batches are kept line by line.
type scriptSink struct {
	mu     sync.Mutex
	refuse func(call int, b *sinks.Batch) error
	calls  []time.Time
	sizes  []int
	lines  []string
}

type scriptOptions struct {
	ID string `yaml:"id"`
}

func (*scriptOptions) Validate() []sinks.FieldError { return nil }

var (
	scriptMu    sync.Mutex
	scriptSinks = map[string]*scriptSink{}
)

func init() {
	sinks.MustRegister(sinks.Registration{
		Type:       "script",
		NewOptions: func() sinks.Options { return &scriptOptions{} },
		New: func(_ string, o sinks.Options) (sinks.Sink, error) {
			scriptMu.Lock()
			defer scriptMu.Unlock()
			return scriptSinks[o.(*scriptOptions).ID], nil
		},
	})
}

func newScript(t *testing.T, refuse func(int, *sinks.Batch) error) (string, *scriptSink) {
	id := t.Name()
	s := &scriptSink{refuse: refuse}
	scriptMu.Lock()
	scriptSinks[id] = s
	scriptMu.Unlock()
	return id, s
}

func (s *scriptSink) Connect(context.Context) error { return nil }
func (s *scriptSink) Close(context.Context) error   { return nil }
func (s *scriptSink) WriteBatch(_ context.Context, b *sinks.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	s.sizes = append(s.sizes, b.Events)
	if err := s.refuse(len(s.calls), b); err != nil {
		return err
	}
	for _, l := range strings.SplitAfter(string(b.Data), "\n") {
		if l != "" {
			s.lines = append(s.lines, l)
		}
	}
	return nil
}

func (s *scriptSink) snapshot() (calls []time.Time, sizes []int, lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(calls, s.calls...), append(sizes, s.sizes...), append(lines, s.lines...)
}

func (s *scriptSink) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, lines := s.snapshot()
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink holds %d lines, want %d", len(lines), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func scriptEngine(t *testing.T, id, extra string) (*testEngine, *config.Config) {
	t.Helper()
	yml := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, shards: 1, ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [dest]}]
sinks:
  - {name: dest, type: script, id: %q, batch: {max_events: 50, max_age: 10ms}, retry: {initial_backoff: 10ms, max_backoff: 40ms}%s}
`, starToken, id, extra)
	cfg, err := config.Parse([]byte(yml), "script.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return startWith(t, yml), cfg
}

func numbered(n int, bad func(i int) bool) []byte {
	var b strings.Builder
	for i := range n {
		tag := "ok"
		if bad != nil && bad(i) {
			tag = "bad"
		}
		fmt.Fprintf(&b, `{"source":"t","event":{"n":%d,"tag":%q}}`+"\n", i, tag)
	}
	return []byte(b.String())
}

func TestRetryableFailuresAreRetried(t *testing.T) {
	id, s := newScript(t, func(call int, _ *sinks.Batch) error {
		if call <= 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	te, _ := scriptEngine(t, id, "")
	te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(20, nil))
	s.waitLines(t, 20)
	calls, _, _ := s.snapshot()
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 3 failures and a success", len(calls))
	}
	// Back-off doubles from 10ms to the 40ms cap, with jitter down to half.
	for i, least := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		if gap := calls[i+1].Sub(calls[i]); gap < least {
			t.Errorf("retry %d came after %v, want at least %v", i+1, gap, least)
		}
	}
}

func TestBackoffWaitsForRetryAfter(t *testing.T) {
	id, s := newScript(t, func(call int, _ *sinks.Batch) error {
		if call == 1 {
			return sinks.BackoffError(errors.New("429 too many requests"), 300*time.Millisecond)
		}
		return nil
	})
	te, _ := scriptEngine(t, id, "")
	te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(5, nil))
	s.waitLines(t, 5)
	calls, _, _ := s.snapshot()
	if gap := calls[1].Sub(calls[0]); gap < 300*time.Millisecond {
		t.Fatalf("retried after %v, before the Retry-After of 300ms", gap)
	}
}

func TestTooLargeBatchesAreSplit(t *testing.T) {
	id, s := newScript(t, func(_ int, b *sinks.Batch) error {
		if b.Events > 12 {
			return sinks.TooLargeError(errors.New("413 payload too large"))
		}
		return nil
	})
	te, _ := scriptEngine(t, id, "")
	te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(50, nil))
	lines := s.waitLines(t, 50)
	seen := map[string]bool{}
	for _, l := range lines {
		var ev struct{ Event struct{ N int } }
		json.Unmarshal([]byte(l), &ev)
		seen[fmt.Sprint(ev.Event.N)] = true
	}
	if len(seen) != 50 || len(lines) != 50 {
		t.Fatalf("%d lines, %d distinct events; want each of 50 once", len(lines), len(seen))
	}
	_, sizes, _ := s.snapshot()
	if fmt.Sprint(sizes) != "[50 25 12 13 6 7 25 12 13 6 7]" {
		t.Fatalf("batch sizes tried %v", sizes)
	}
}

// Permanently refused batches go to the dead-letter queue with the reason; once the
// destination is fixed, ReplayDeadLetters delivers them and marks the file replayed.
func TestDeadLetterAndReplay(t *testing.T) {
	fixed := false
	var mu sync.Mutex
	id, s := newScript(t, func(_ int, b *sinks.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if !fixed && strings.Contains(string(b.Data), `"bad"`) {
			return sinks.PermanentError(errors.New("400 mapping error on field tag"))
		}
		return nil
	})
	dir := t.TempDir()
	te, cfg := scriptEngine(t, id, fmt.Sprintf(", dead_letter: {dir: %q}", dir))
	h := headers(starToken, "s", "application/x-ndjson")
	te.post(t, "POST", IngestPath, h, numbered(10, func(i int) bool { return i == 3 }))
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(te.met.deadLetter.WithLabelValues("dest")) < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	te.post(t, "POST", IngestPath, h, numbered(5, nil))
	s.waitLines(t, 5)

	file := deadLetterFile(dir, "dest", time.Now())
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	recs := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(recs) != 10 {
		t.Fatalf("%d dead-letter records, want the refused batch's 10", len(recs))
	}
	var rec struct {
		Time, Sink, Stream, Error string
		StreamID                  string `json:"stream_id"`
		Event                     map[string]any
	}
	if err := json.Unmarshal([]byte(recs[3]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Sink != "dest" || rec.StreamID != "s" || !strings.Contains(rec.Error, "mapping error") || rec.Event["stream_id"] != "s" {
		t.Fatalf("dead-letter record %+v", rec)
	}

	mu.Lock()
	fixed = true
	mu.Unlock()
	rep, err := ReplayDeadLetters(context.Background(), cfg, "dest", 3)
	if err != nil || rep.Events != 10 || len(rep.Files) != 1 {
		t.Fatalf("replay: %+v, %v", rep, err)
	}
	s.waitLines(t, 15)
	if _, err := os.Stat(file + ".replayed"); err != nil {
		t.Fatalf("the replayed file was not marked: %v", err)
	}
	if rep, err := ReplayDeadLetters(context.Background(), cfg, "dest", 3); err != nil || rep.Events != 0 {
		t.Fatalf("a second replay sent %d events again (%v)", rep.Events, err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 1 {
		t.Fatalf("dead-letter dir holds %v", matches)
	}
}

// ack: delivered answers 200 only once the sink has the events, after its retries.
func TestAckDelivered(t *testing.T) {
	id, s := newScript(t, func(call int, b *sinks.Batch) error {
		if strings.Contains(string(b.Data), `"refuse"`) {
			return sinks.PermanentError(errors.New("400 bad document"))
		}
		if call <= 2 {
			return errors.New("503 unavailable")
		}
		return nil
	})
	// Stream s overrides the server's ack mode; stream quick keeps it (memory).
	yml := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, shards: 1, ack: memory, ack_timeout: 2s}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams:
  - {id: s, sinks: [dest], ack: delivered}
  - {id: quick, sinks: [dest]}
sinks:
  - {name: dest, type: script, id: %q, batch: {max_events: 50, max_age: 10ms}, retry: {initial_backoff: 50ms, max_backoff: 50ms}, dead_letter: {dir: %q}}
`, starToken, id, t.TempDir())
	te := startWith(t, yml)
	h := headers(starToken, "s", "application/x-ndjson")
	start := time.Now()
	r := te.post(t, "POST", IngestPath, h, numbered(5, nil))
	if r.status != 200 {
		t.Fatalf("delivered after retries: %+v", r)
	}
	if _, _, lines := s.snapshot(); len(lines) != 5 {
		t.Fatalf("answered 200 with %d of 5 events delivered", len(lines))
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("answered after %v, before the retry could deliver", took)
	}
	// A permanent refusal: 503, and the events are in the dead-letter queue.
	r = te.post(t, "POST", IngestPath, h, []byte(`{"source":"t","event":{"tag":"refuse"}}`))
	if r.status != 503 || r.Error != "overloaded" || !strings.Contains(r.Detail, "400 bad document") || !strings.Contains(r.Detail, "dead-letter") {
		t.Fatalf("refused events: %+v", r)
	}
	// A stream on the default (memory) mode answers at once.
	if r := te.post(t, "POST", IngestPath, headers(starToken, "quick", "application/x-ndjson"), numbered(1, nil)); r.status != 200 {
		t.Fatalf("ack memory stream: %+v", r)
	}
}

func TestAckDeliveredTimesOut(t *testing.T) {
	idSlow, slow := newMem(t)
	slow.gate = make(chan struct{})
	te := startWith(t, fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: delivered, ack_timeout: 200ms}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [slow]}]
sinks:
  - {name: slow, type: memory, id: %q, batch: {max_age: 10ms}}
`, starToken, idSlow))
	start := time.Now()
	r := te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(3, nil))
	if r.status != 503 || !strings.Contains(r.Detail, "within ack_timeout (200ms)") {
		t.Fatalf("slow sink under ack: delivered: %+v", r)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 2*time.Second {
		t.Fatalf("answered after %v, want about the 200ms ack_timeout", took)
	}
	close(slow.gate)
	slow.waitLines(t, 3) // accepted, so delivered once the sink recovers
}

// A sink that takes a batch but refuses some of its lines for good: only those lines go to the
// dead-letter queue.
func TestRefusedLinesAreDeadLettered(t *testing.T) {
	id, _ := newScript(t, func(_ int, b *sinks.Batch) error {
		var refused []int
		var reasons []string
		for i, l := range strings.SplitAfter(strings.TrimSuffix(string(b.Data), "\n"), "\n") {
			if strings.Contains(l, `"bad"`) {
				refused = append(refused, i)
				reasons = append(reasons, fmt.Sprintf("mapper_parsing_exception: line %d", i))
			}
		}
		if refused != nil {
			return sinks.RefusedLinesWithReasons(errors.New("2 items refused: mapper_parsing_exception"), refused, reasons)
		}
		return nil
	})
	dir := t.TempDir()
	te, _ := scriptEngine(t, id, fmt.Sprintf(", dead_letter: {dir: %q}", dir))
	te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), numbered(10, func(i int) bool { return i == 2 || i == 7 }))
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(te.met.deadLetter.WithLabelValues("dest")) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	data, err := os.ReadFile(deadLetterFile(dir, "dest", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	recs := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(recs) != 2 || !strings.Contains(recs[0], `"n":2`) || !strings.Contains(recs[1], `"n":7`) {
		t.Fatalf("dead letters %q, want events 2 and 7", recs)
	}
	// each keeps its own reason, not the batch's summary
	for i, want := range []string{`"error":"mapper_parsing_exception: line 2"`, `"error":"mapper_parsing_exception: line 7"`} {
		if !strings.Contains(recs[i], want) {
			t.Fatalf("dead letter %q lacks %s", recs[i], want)
		}
	}
	if got := testutil.ToFloat64(te.met.delivered.WithLabelValues("dest")); got != 8 {
		t.Fatalf("delivered %v, want the 8 events the sink took", got)
	}
}
