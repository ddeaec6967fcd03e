package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
	_ "github.com/ingestd/ingestd/sinks/file" // type "file"
	"github.com/ingestd/ingestd/sinks/internal/helpertest"
)

const token = "enginetest-token"

// newEngine is an engine whose one stream, s, goes to a file sink writing dir/s.ndjson.
func newEngine(t *testing.T, dir string) *core.Engine {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0"}
tokens: [{name: t, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [f]}]
sinks: [{name: f, type: file, path: %q, batch: {max_age: 10ms}}]
`, token, filepath.Join(dir, "{stream}.ndjson"))), "enginetest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := core.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPost: the engine accepts the request and its events reach the sink (the file sink, a
// real one) numbered by request and position.
func TestPost(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, dir)
	Post(t, e, token, "s", 7, 3)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "s.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("the sink holds %d events, want 3:\n%s", len(lines), data)
	}
	for i, l := range lines {
		var ev struct {
			Source string
			Event  struct{ Request, N int }
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Source != "enginetest" || ev.Event.Request != 7 || ev.Event.N != i {
			t.Errorf("event %d: %s (%v)", i, l, err)
		}
	}
}

// TestPostRefused: a request the engine refuses ends the test with its status and answer.
func TestPostRefused(t *testing.T) {
	e := newEngine(t, t.TempDir())
	defer e.Shutdown(context.Background())
	r := helpertest.Fails(t, func(tb testing.TB) { Post(tb, e, "not-the-token", "s", 2, 1) })
	if !strings.HasPrefix(r.Msg, "request 2: 401 ") {
		t.Fatalf("Fatalf(%q)", r.Msg)
	}
}
