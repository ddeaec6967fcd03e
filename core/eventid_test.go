package core

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/config"
)

var eventIDForm = regexp.MustCompile(`^[0-9a-f]{32}-[0-9]+$`)

// eventIDs returns the event_id of each stored line, checking its form and that the client's
// own event_id member was replaced.
func eventIDs(t *testing.T, lines []string) []string {
	t.Helper()
	var ids []string
	for _, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("stored line %q: %v", l, err)
		}
		id, _ := obj["event_id"].(string)
		if !eventIDForm.MatchString(id) {
			t.Fatalf("event_id %q in %q: want 32 hex digits, '-' and the index", id, l)
		}
		ids = append(ids, id)
	}
	return ids
}

func idConfig(t *testing.T, walDir, ack, first, second string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 2s, ack: %s, wal: {dir: %q}}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [first, second]}]
sinks:
  - {name: first, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}}
  - {name: second, type: memory, id: %q, batch: {max_events: 10, max_age: 10ms}}
`, ack, walDir, starToken, first, second)), "ids.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Every stored event gets an id that is unique, numbers the events of a request in order, and
// replaces one the client sent. Under ack: disk it comes from the log position, so a request
// replayed after a restart gets the very ids it had before: a sink that received them in the
// first run and one that receives the replay agree, which is what lets a warehouse remove the
// duplicates of at-least-once delivery by id.
func TestEventIDs(t *testing.T) {
	body := []byte(`{"source":"t","event_id":"client-chosen","event":{"n":0}}` + "\n" + string(numbered(2, nil)))
	h := headers(starToken, "s", "application/x-ndjson")

	walDir := t.TempDir()
	idA, a := newMem(t)
	idB, b := newMem(t)
	b.gate = make(chan struct{}) // the second sink delivers nothing in the first run
	te := serveEngine(t, idConfig(t, walDir, "disk", idA, idB))
	for i := range 4 {
		if r := te.post(t, "POST", IngestPath, h, body); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	first := eventIDs(t, a.waitLines(t, 12))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = te.Shutdown(ctx)
	cancel()
	close(b.gate)

	seen := map[string]bool{}
	for i, id := range first {
		if seen[id] {
			t.Fatalf("id %s given twice", id)
		}
		seen[id] = true
		if want := fmt.Sprintf("-%d", i%3); id[32:] != want {
			t.Fatalf("event %d of its request has id %s, want the suffix %s", i%3, id, want)
		}
	}

	idC, c := newMem(t)
	e2, err := New(context.Background(), idConfig(t, walDir, "disk", idA, idC))
	if err != nil {
		t.Fatal(err)
	}
	replayed := eventIDs(t, c.waitLines(t, 12))
	if err := e2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	slices.Sort(first)
	slices.Sort(replayed)
	if !slices.Equal(first, replayed) {
		t.Fatalf("replayed events have other ids:\nfirst run %v\nreplay    %v", first, replayed)
	}

	// ack: memory numbers requests per process, from a random origin: no collision with the log's.
	idD, d := newMem(t)
	idE, _ := newMem(t)
	tm := serveEngine(t, idConfig(t, t.TempDir(), "memory", idD, idE))
	defer tm.Shutdown(context.Background())
	for range 2 {
		if r := tm.post(t, "POST", IngestPath, h, body); r.status != 200 {
			t.Fatalf("%+v", r)
		}
	}
	mem := eventIDs(t, d.waitLines(t, 6))
	for _, id := range mem {
		if seen[id] || id[:16] == first[0][:16] {
			t.Fatalf("ack: memory id %s collides with the log's ids", id)
		}
		seen[id] = true
	}
}
