package s3_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks/internal/enginetest"
	_ "github.com/ingestd/ingestd/sinks/s3" // type "s3"
)

const (
	engineToken  = "s3-engine-test-token"
	engineBucket = "lake"
)

// store is gofakes3, an in-memory S3 implementation standing for S3, behind a handler that
// answers 503 SlowDown, as S3 does when throttling, to the first failFirst PUTs and to every
// PUT while down is set.
type store struct {
	*httptest.Server
	backend   *s3mem.Backend
	failFirst atomic.Int64
	down      atomic.Bool
	refused   atomic.Int64 // PUTs answered 503
	stored    atomic.Int64 // PUTs passed to gofakes3
}

func newStore(t *testing.T) *store {
	t.Helper()
	s := &store{backend: s3mem.New()}
	if err := s.backend.CreateBucket(engineBucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(s.backend).Server()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && (s.down.Load() || s.failFirst.Add(-1) >= 0) {
			s.refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		if r.Method == http.MethodPut {
			s.stored.Add(1)
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// copies returns, for every event in the bucket, named "request/n" after its body, the
// event_id of each copy stored.
func (s *store) copies(t *testing.T) map[string][]string {
	t.Helper()
	list, err := s.backend.ListBucket(engineBucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, c := range list.Contents {
		obj, err := s.backend.GetObject(engineBucket, c.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var ev struct {
				EventID string `json:"event_id"`
				Event   struct{ Request, N int }
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("object %s: line %q: %v", c.Key, sc.Bytes(), err)
			}
			k := fmt.Sprintf("%d/%d", ev.Event.Request, ev.Event.N)
			out[k] = append(out[k], ev.EventID)
		}
	}
	return out
}

// TestEngineRetriesAndReplays runs the s3 sink inside the engine, for a stream with ack: disk,
// over gofakes3 standing for S3. The store's first refusals (503 SlowDown) are retried until
// every event is stored. Then the store refuses everything and the engine stops with a
// shutdown context too short to deliver: the accepted events stay in the write-ahead log. A
// new engine on the same log, with the store healthy again, delivers them: every event
// answered 200 is in the bucket, with the same event_id in every copy.
func TestEngineRetriesAndReplays(t *testing.T) {
	st := newStore(t)
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", ack: memory, wal: {dir: %q}}
tokens: [{name: t, token: %q, streams: ["*"]}]
streams: [{id: s, ack: disk, sinks: [lake]}]
sinks:
  - name: lake
    type: s3
    bucket: %s
    endpoint: %q
    force_path_style: true
    access_key_id: test-key
    secret_access_key: test-secret
    key: "{stream}/{uuid}.ndjson"
    batch: {max_events: 10, max_age: 10ms}
    retry: {initial_backoff: 5ms, max_backoff: 20ms}
    dead_letter: {dir: %q}
`, dir+"/wal", engineToken, engineBucket, st.URL, dir+"/dead-letter")), "s3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	defer func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	}()
	const perRequest = 20

	// Throttled at first: the engine retries until the store takes every batch.
	const throttled = 3
	st.failFirst.Store(throttled)
	e1, err := core.New(context.Background(), cfg, core.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	for r := range 5 {
		enginetest.Post(t, e1, engineToken, "s", r, perRequest)
	}
	waitEvents(t, st, 5, perRequest)
	if n := st.refused.Load(); n != throttled {
		t.Errorf("%d PUTs refused, want %d", n, throttled)
	}

	// Down: accepted events cannot be delivered before the shutdown gives up.
	st.down.Store(true)
	before := st.stored.Load()
	for r := 5; r < 10; r++ {
		enginetest.Post(t, e1, engineToken, "s", r, perRequest)
	}
	for deadline := time.Now().Add(5 * time.Second); st.refused.Load() < throttled+3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the engine made no attempt to deliver while the store was down")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err = e1.Shutdown(ctx)
	cancel()
	if err == nil {
		t.Fatal("the shutdown reports every event delivered while the store was down")
	}
	t.Logf("shutdown with the store down: %v", err)
	if n := st.stored.Load(); n != before {
		t.Fatalf("%d objects stored while the store was down", n-before)
	}
	if got := len(st.copies(t)); got != 5*perRequest {
		t.Fatalf("%d events in the bucket before the restart, want %d", got, 5*perRequest)
	}

	// Healthy again: the restart replays the log and the rest arrives.
	st.down.Store(false)
	e2, err := core.New(context.Background(), cfg, core.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	waitEvents(t, st, 10, perRequest)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	dups := 0
	for k, ids := range st.copies(t) {
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Errorf("event %s stored with event_ids %q", k, ids)
			}
		}
		dups += len(ids) - 1
	}
	t.Logf("%d events stored more than once (at least once delivery)", dups)
}

// syncBuffer is a bytes.Buffer for a logger shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitEvents waits until the bucket holds every event of requests 0 to requests-1, and no
// other.
func waitEvents(t *testing.T, st *store, requests, perRequest int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := st.copies(t)
		missing := 0
		for r := range requests {
			for i := range perRequest {
				if _, ok := got[fmt.Sprintf("%d/%d", r, i)]; !ok {
					missing++
				}
			}
		}
		if extra := len(got) - (requests*perRequest - missing); extra != 0 {
			t.Fatalf("%d events in the bucket that were not sent", extra)
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events missing from the bucket", missing, requests*perRequest)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
