package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// resumeSink is a memory sink that keeps checkpoints at its "destination", as the Snowflake
// streaming sink keeps offset tokens: it records each batch's Checkpoint and answers Resume
// with a scripted one.
type resumeSink struct {
	memSink
	resume      string
	fail        error // Resume's error: the destination did not answer
	checkpoints []string
}

var (
	resumeMu    sync.Mutex
	resumeSinks = map[string]*resumeSink{}
)

func init() {
	sinks.MustRegister(sinks.Registration{
		Type:       "memory-resume",
		NewOptions: func() sinks.Options { return &memOptions{} },
		New: func(name string, o sinks.Options) (sinks.Sink, error) {
			resumeMu.Lock()
			defer resumeMu.Unlock()
			return resumeSinks[o.(*memOptions).ID], nil
		},
	})
}

func (r *resumeSink) Resume(context.Context) (string, error) { return r.resume, r.fail }

func (r *resumeSink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	r.mu.Lock()
	r.checkpoints = append(r.checkpoints, b.Checkpoint)
	r.mu.Unlock()
	return r.memSink.WriteBatch(ctx, b)
}

func newResume(t *testing.T, resume string) (string, *resumeSink) {
	id := t.Name() + fmt.Sprint(time.Now().UnixNano())
	r := &resumeSink{resume: resume}
	resumeMu.Lock()
	resumeSinks[id] = r
	resumeMu.Unlock()
	return id, r
}

func resumeConfig(t *testing.T, walDir, memID, resumeID string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 2s, ack: disk, wal: {dir: %q}}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [all, keeper]}]
sinks:
  - {name: all, type: memory, id: %q, batch: {max_events: 1, max_age: 10ms}}
  - {name: keeper, type: memory-resume, id: %q, batch: {max_events: 1, max_age: 10ms}}
`, walDir, starToken, memID, resumeID)), "resume.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A sink that keeps checkpoints at its destination (sinks.Resumer) is not replayed what its
// destination says it committed, even when the log's own checkpoint for it is older; a
// checkpoint of another log, or past this log's end, is ignored. Batches carry the sink's
// checkpoint as the log moves it.
func TestResumeFromDestination(t *testing.T) {
	h := headers(starToken, "s", "application/x-ndjson")
	walDir := t.TempDir()
	idA, a := newMem(t)
	idK, k := newResume(t, "")
	k.gate = make(chan struct{}) // the keeper delivers nothing in the first run
	te := serveEngine(t, resumeConfig(t, walDir, idA, idK))
	var prefixes []string // each request's id prefix: the log's id and the request's position
	for i := range 4 {
		if r := te.post(t, "POST", IngestPath, h, numbered(1, nil)); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
		ids := eventIDs(t, a.waitLines(t, i+1))
		prefixes = append(prefixes, ids[i][:32])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = te.Shutdown(ctx)
	cancel()
	close(k.gate)

	// A foreign log's checkpoint, one past the end and any from a sink whose Resume failed are
	// ignored: all four are replayed. The shutdown with a grace period that ends at once keeps
	// the log's checkpoint where it was.
	foreign := "00000000000000ff" + prefixes[1][16:]
	past := prefixes[0][:16] + "7fffffffffffffff"
	for _, c := range []struct {
		mark string
		fail error
	}{{foreign, nil}, {past, nil}, {"not hex", nil}, {prefixes[3], errors.New("no answer")}} {
		mark := c.mark
		idA2, _ := newMem(t)
		idK2, k2 := newResume(t, mark)
		k2.fail = c.fail
		k2.gate = make(chan struct{}) // deliver nothing, so the next start sees the same log
		e, err := New(context.Background(), resumeConfig(t, walDir, idA2, idK2))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for k2.pendingCalls() < 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = e.Shutdown(ctx)
		cancel()
		close(k2.gate)
		if n := k2.pendingCalls(); n == 0 {
			t.Fatalf("checkpoint %q: nothing replayed to the keeper", mark)
		}
		if first := k2.firstCheckpoint(); first != "" {
			t.Fatalf("checkpoint %q was used: the first batch carried %q", mark, first)
		}
	}
	// The destination committed through the second request: only the last two are replayed.
	idA2, _ := newMem(t)
	idK2, k2 := newResume(t, prefixes[1])
	e, err := New(context.Background(), resumeConfig(t, walDir, idA2, idK2))
	if err != nil {
		t.Fatal(err)
	}
	k2.waitLines(t, 2)
	time.Sleep(100 * time.Millisecond) // time for anything more to arrive
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := eventIDs(t, k2.Lines())
	slices.Sort(ids) // shards deliver in any order; positions sort as hex of equal length
	if len(ids) != 2 || ids[0][:32] != prefixes[2] || ids[1][:32] != prefixes[3] {
		t.Fatalf("replayed %v, want the requests after %s: %v", ids, prefixes[1], prefixes[2:])
	}
	for _, cp := range k2.checkpoints {
		if cp != "" && (len(cp) != 32 || cp[:16] != prefixes[0][:16] || cp < prefixes[1]) {
			t.Fatalf("batch checkpoint %q: want the log's id and a position at or after %s", cp, prefixes[1])
		}
	}
	if !strings.HasPrefix(k2.firstCheckpoint(), prefixes[0][:16]) {
		t.Fatalf("the first replayed batch carried checkpoint %q, want the resumed one", k2.firstCheckpoint())
	}
}

// pendingCalls counts WriteBatch calls, finished or waiting at the gate.
func (r *resumeSink) pendingCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.checkpoints)
}

func (r *resumeSink) firstCheckpoint() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.checkpoints) == 0 {
		return ""
	}
	return r.checkpoints[0]
}
