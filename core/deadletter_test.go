package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// dlqConfig is a config whose sink dest is the script sink id, batching 3 events at most.
func dlqConfig(t *testing.T, id, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [dest]}]
sinks:
  - {name: dest, type: script, id: %q, batch: {max_events: 3}, retry: {initial_backoff: 1ms, max_backoff: 2ms}, dead_letter: {dir: %q}}
`, starToken, id, dir)), "dlq.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeDeadLetters puts n refused events of stream s in today's dead-letter file of dest.
func writeDeadLetters(t *testing.T, dir string, from, n int) {
	t.Helper()
	d := newDeadLetter(dir, "dest")
	b := &sinks.Batch{Stream: "s", StreamID: "s", Data: numbered(from+n, nil)}
	b.Data = []byte(strings.Join(strings.SplitAfter(string(b.Data), "\n")[from:from+n], ""))
	b.Events = n
	if err := d.write(b, errors.New("refused"), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// A replay that stops half way keeps only what it did not deliver: the next run sends the rest
// and nothing twice.
func TestDeadLetterReplayResumes(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	broken := true
	id, s := newScript(t, func(call int, b *sinks.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if broken && call == 2 {
			return sinks.PermanentError(errors.New("400 still refused"))
		}
		return nil
	})
	cfg := dlqConfig(t, id, dir)
	writeDeadLetters(t, dir, 0, 7) // batches of 3, 3, 1: the second is refused
	rep, err := ReplayDeadLetters(context.Background(), cfg, "dest", 2)
	if err == nil || rep.Events != 3 {
		t.Fatalf("first replay: %+v, %v; want 3 events sent, then the refusal", rep, err)
	}
	file := deadLetterFile(dir, "dest", time.Now())
	left, err := os.ReadFile(file + claimSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(left), "\n"); n != 4 {
		t.Fatalf("the claimed file keeps %d records, want the 4 not delivered", n)
	}
	mu.Lock()
	broken = false
	mu.Unlock()
	rep, err = ReplayDeadLetters(context.Background(), cfg, "dest", 2)
	if err != nil || rep.Events != 4 {
		t.Fatalf("second replay: %+v, %v", rep, err)
	}
	_, _, lines := s.snapshot()
	var ns []string
	for _, l := range lines {
		ns = append(ns, l[strings.Index(l, `"n":`):strings.Index(l, `,"tag"`)])
	}
	if got := strings.Join(ns, " "); got != `"n":0 "n":1 "n":2 "n":3 "n":4 "n":5 "n":6` {
		t.Fatalf("delivered %s, want each of the 7 once", got)
	}
}

// A batch the destination finds too large is split during a replay too.
func TestDeadLetterReplaySplits(t *testing.T) {
	dir := t.TempDir()
	id, s := newScript(t, func(_ int, b *sinks.Batch) error {
		if b.Events > 1 {
			return sinks.TooLargeError(errors.New("413"))
		}
		return nil
	})
	writeDeadLetters(t, dir, 0, 3)
	rep, err := ReplayDeadLetters(context.Background(), dlqConfig(t, id, dir), "dest", 2)
	if err != nil || rep.Events != 3 {
		t.Fatalf("replay: %+v, %v", rep, err)
	}
	if _, sizes, _ := s.snapshot(); fmt.Sprint(sizes) != "[3 1 2 1 1]" {
		t.Fatalf("batch sizes %v, want 3 split to 1 + 2, then 2 to 1 + 1", sizes)
	}
}

// The server may refuse events while a replay runs: a writer that opened today's file just
// before a replay claimed it writes to a new file instead, and the next replay sends it.
func TestDeadLetterWriterFollowsTheName(t *testing.T) {
	dir := t.TempDir()
	file := deadLetterFile(dir, "dest", time.Now())
	writeDeadLetters(t, dir, 0, 2)
	held, err := lockClaimed(file) // as if a replay were claiming it right now
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan struct{})
	go func() { writeDeadLetters(t, dir, 2, 1); close(wrote) }()
	time.Sleep(50 * time.Millisecond) // the writer has opened the file and waits for the lock
	if err := os.Rename(file, file+claimSuffix); err != nil {
		t.Fatal(err)
	}
	held.Close()
	<-wrote
	claimed, _ := os.ReadFile(file + claimSuffix)
	fresh, _ := os.ReadFile(file)
	if strings.Count(string(claimed), "\n") != 2 || strings.Count(string(fresh), "\n") != 1 || !strings.Contains(string(fresh), `"n":2`) {
		t.Fatalf("claimed file %q, new file %q: the late record must be in the new file", claimed, fresh)
	}
	id, s := newScript(t, func(int, *sinks.Batch) error { return nil })
	rep, err := ReplayDeadLetters(context.Background(), dlqConfig(t, id, dir), "dest", 1)
	if err != nil || rep.Events != 3 || len(rep.Files) != 2 {
		t.Fatalf("replay: %+v, %v; want the claimed file's 2 events and the new file's 1", rep, err)
	}
	s.waitLines(t, 3)
	for _, kept := range []string{file + ".replayed", file + ".replayed-2"} {
		if _, err := os.Stat(kept); err != nil {
			t.Fatalf("replayed file not kept: %v", err)
		}
	}
}
