package snowflake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks/internal/enginetest"
)

const engineToken = "snowflake-engine-test-token"

// TestEngineResumesAfterCommittedOffset runs the sink inside the engine, under ack: disk,
// against the fake (standing for Snowflake's Snowpipe Streaming endpoints). After a crash that
// lost the write-ahead log's own checkpoint, the restart asks the channels for their committed
// offset tokens and replays only what lies after them: at most the last request comes twice,
// never the ones a token covers, and every event is in Snowflake.
func TestEngineResumesAfterCommittedOffset(t *testing.T) {
	f := newFake(t)
	keyFile, _ := testKeyFile(t)
	walDir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", ack: disk, grace_period: 5s, wal: {dir: %q}}
tokens: [{name: t, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [sf]}]
sinks:
  - name: sf
    type: snowflake_streaming
    account: myorg-acct1
    user: ingester
    private_key_file: %q
    url: %q
    database: DB
    schema: PUBLIC
    table: EVENTS
    channel_prefix: ingestd-test
    batch: {max_events: 10, max_age: 10ms}
`, walDir, engineToken, keyFile, f.srv.URL)), "sf.yaml")
	if err != nil {
		t.Fatal(err)
	}

	e1, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const requests, perRequest = 6, 10
	for r := range requests {
		if r == requests-1 {
			// Let the log's checkpoint pass the first requests, so the last batch carries it.
			waitRows(t, f, (requests-1)*perRequest)
			time.Sleep(300 * time.Millisecond)
		}
		enginetest.Post(t, e1, engineToken, "s", r, perRequest)
	}
	waitRows(t, f, requests*perRequest)
	if err := e1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The crash: the log's checkpoint never reached the disk, so by the log alone every
	// request would be replayed.
	if err := os.Remove(filepath.Join(walDir, "checkpoints")); err != nil {
		t.Fatal(err)
	}

	e2, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the replay, if any, is delivered meanwhile
	if err := e2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, row := range allRows(f) {
		var ev struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(row), &ev); err != nil || ev.EventID == "" {
			t.Fatalf("row %q: %v", row, err)
		}
		ids[ev.EventID]++
	}
	if len(ids) != requests*perRequest {
		t.Fatalf("%d distinct events in Snowflake, want %d", len(ids), requests*perRequest)
	}
	twice := 0
	for _, n := range ids {
		twice += n - 1
	}
	if twice > perRequest {
		t.Fatalf("%d events delivered twice: the restart replayed what the offset tokens covered", twice)
	}
	t.Logf("after the crash, %d events came again (the last request's at most)", twice)
}

// allRows returns the rows of every channel.
func allRows(f *fake) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rows []string
	for _, ch := range f.channels {
		rows = append(rows, ch.rows...)
	}
	return rows
}

func waitRows(t *testing.T, f *fake, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(allRows(f)) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Snowflake holds %d rows, want %d", len(allRows(f)), n)
		}
	}
}
