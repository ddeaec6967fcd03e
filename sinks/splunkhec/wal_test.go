package splunkhec

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
)

const walToken = "wal-test-token-0123456789"

// startEngine runs an engine with one ack: disk stream, "s1", whose write-ahead log is in
// walDir, delivering to a splunk_hec sink with indexer acknowledgement at hecURL. It returns
// the engine and its ingest URL.
func startEngine(t *testing.T, walDir, hecURL string) (*core.Engine, string) {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, `
server: {listen: "127.0.0.1:0", grace_period: 2s, ack: memory, wal: {dir: %q}}
tokens: [{name: t, token: %q, streams: ["*"]}]
streams: [{id: s1, name: payments, sinks: [splunk], ack: disk}]
sinks:
  - name: splunk
    type: splunk_hec
    url: %q
    token: %q
    ack: {enabled: true, poll_interval: 10ms, timeout: 1m}
    fields: {event_id: event_id}
    batch: {max_events: 100, max_age: 10ms}
`, walDir, walToken, hecURL, testToken), "wal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.NewTextHandler(testLog{t}, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(ln)
	return e, "http://" + ln.Addr().String() + core.IngestPath
}

// testLog writes the engine's log lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// eventIDs returns the event_id indexed field of each envelope the receiver holds, sorted.
func eventIDs(r *hecReceiver) []string {
	var ids []string
	for _, env := range r.got() {
		f, _ := env["fields"].(map[string]any)
		id, _ := f["event_id"].(string)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// waitEnvelopes waits until the receiver holds n envelopes.
func waitEnvelopes(t *testing.T, r *hecReceiver, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(r.got()) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver holds %d envelopes, want %d", len(r.got()), n)
		}
	}
}

// TestAckHoldsTheWriteAheadLog: the strict receiver stands for Splunk Enterprise/Cloud HEC with
// indexer acknowledgement on. Events answered 200 under ack: disk reach HEC, which withholds
// the ack; the engine shuts down without the ack, so the log keeps them; at the next start
// they are sent again, and once HEC acknowledges them, a third start sends nothing: the ack,
// not HEC's 200, moves the log's checkpoint.
func TestAckHoldsTheWriteAheadLog(t *testing.T) {
	const events = 5
	r := newReceiver(t)
	r.useAck, r.pollsToAck = true, 1<<30 // never indexed, for now
	walDir := t.TempDir()

	e, url := startEngine(t, walDir, r.srv.URL)
	var body strings.Builder
	for i := range events {
		fmt.Fprintf(&body, `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"n":%d}}`+"\n", i)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+walToken)
	req.Header.Set("X-Stream-Id", "s1")
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest answered %d", resp.StatusCode)
	}
	waitEnvelopes(t, r, events)
	first := eventIDs(r)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, polls, _ := r.counts(); polls > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink did not poll for the ack")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err = e.Shutdown(ctx)
	cancel()
	if err == nil {
		t.Fatal("Shutdown reported everything delivered while the ack was withheld")
	}

	// HEC now indexes what it is sent; the restart replays the request from the log.
	r.mu.Lock()
	r.pollsToAck = 1
	r.mu.Unlock()
	e, _ = startEngine(t, walDir, r.srv.URL)
	waitEnvelopes(t, r, 2*events)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after the acked replay: %v", err)
	}
	all := eventIDs(r)
	for i, id := range first {
		if id == "" || all[2*i] != id || all[2*i+1] != id {
			t.Fatalf("event ids after the replay %v; want each of %v twice", all, first)
		}
	}

	// Acknowledged, the replayed events left the log: a third start sends nothing.
	e, _ = startEngine(t, walDir, r.srv.URL)
	time.Sleep(300 * time.Millisecond) // time for a replay to arrive, were there one
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(r.got()); n != 2*events {
		t.Fatalf("the third start sent %d more envelopes, want none", n-2*events)
	}
}
