package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ingestd/ingestd/core/config"
)

// go test ./core -run '^$' -fuzz FuzzIngest -fuzztime 60s
//
// FuzzIngest drives whole requests (body, content type, encoding) through the real handler,
// ring, worker and batcher. Whatever the input, the engine must answer a SPEC status, store only
// valid one-line JSON objects, and a well-formed request sent right after it must come out
// byte for byte as expected: a fuzzed request never corrupts another request's events.

var (
	fuzzOnce sync.Once
	fuzzEng  *Engine
	fuzzSink *memSink
)

func fuzzEngine(t testing.TB) (*Engine, *memSink) {
	fuzzOnce.Do(func() {
		id := fmt.Sprint("fuzz", time.Now().UnixNano())
		fuzzSink = &memSink{}
		memMu.Lock()
		memSinks[id] = fuzzSink
		memMu.Unlock()
		// One shard keeps the order of lines equal to the order of requests.
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {shards: 1, max_payload_bytes: 65536, max_events_per_request: 100, ack: memory}
tokens: [{name: t, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [m]}]
sinks: [{name: m, type: memory, id: %q, batch: {max_events: 1, max_age: 10ms}}]
`, starToken, id)), "fuzz.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if fuzzEng, err = New(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	})
	return fuzzEng, fuzzSink
}

func serveOnce(e *Engine, ctype, encoding string, body []byte) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI(IngestPath)
	req.Header.Set("Authorization", "Bearer "+starToken)
	req.Header.Set("X-Stream-Id", "s")
	req.Header.SetContentType(ctype)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	req.SetBody(body)
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	e.Handler(ctx)
	return ctx
}

func FuzzIngest(f *testing.F) {
	f.Add([]byte(seedEvent), uint8(0))
	f.Add([]byte("["+seedEvent+","+seedEvent+"]"), uint8(0))
	f.Add([]byte(seedEvent+"\n"+seedEvent+"\n"), uint8(1))
	f.Add(gz(seedEvent), uint8(2))
	f.Add([]byte("{\n\"stream_id\":\"x\",\r\n\"source\":\"a\",\"event\":{}}"), uint8(0))
	f.Add([]byte(`{"source":"a","event":{},"received_at":"y","stream_id":"z"}`), uint8(1))
	f.Add([]byte(`{"source":"a","event_id":"mine","event":{},"received_at":"y","stream_id":"z"}`), uint8(1))
	f.Add([]byte(`{"source":"a","event":{"x":"\u2028\"}"}}`), uint8(0))
	f.Add([]byte(`{"source":"a"`), uint8(1))
	encodings := []string{"", "", "gzip", "zstd", "deflate", "br"}
	types := []string{"application/json", "application/x-ndjson"}
	seq := 0
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		e, sink := fuzzEngine(t)
		sink.take() // lines of earlier inputs were all checked
		ctx := serveOnce(e, types[mode&1], encodings[int(mode>>1)%len(encodings)], body)
		var answer struct {
			Error  string `json:"error"`
			Events int    `json:"events"`
		}
		if err := json.Unmarshal(ctx.Response.Body(), &answer); err != nil {
			t.Fatalf("answer is not JSON: %q", ctx.Response.Body())
		}
		status := ctx.Response.StatusCode()
		switch {
		case status == 200 && answer.Error == "":
		case (status == 400 || status == 415) && answer.Error != "":
		default:
			t.Fatalf("answer %d %q", status, ctx.Response.Body())
		}
		accepted := 0
		if status == 200 {
			accepted = answer.Events
		}

		seq++
		marker := fmt.Sprintf(`{"source":"marker","event":{"seq":%d},"timestamp":"2025-02-12T14:32:15Z"}`, seq)
		if c := serveOnce(e, "application/json", "", []byte(marker)); c.Response.StatusCode() != 200 {
			t.Fatalf("marker refused: %q", c.Response.Body())
		}
		lines := waitFor(t, sink, accepted+1)
		for _, l := range lines[:accepted] {
			var obj map[string]any
			if strings.Count(l, "\n") != 1 || json.Unmarshal([]byte(l), &obj) != nil {
				t.Fatalf("stored line is not one JSON object: %q", l)
			}
			if obj["stream_id"] != "s" || obj["received_at"] == nil || obj["timestamp"] == nil || obj["event_id"] == nil {
				t.Fatalf("stored line lacks added fields: %q", l)
			}
		}
		got := lines[accepted]
		want := marker[:len(marker)-1] + `,"stream_id":"s","received_at":"`
		// received_at, then the event id: 32 hex digits, '-', the index 0.
		if !strings.HasPrefix(got, want) || !bytes.HasSuffix([]byte(got), []byte("-0\"}\n")) ||
			len(got) != len(want)+len(`2006-01-02T15:04:05.000000000Z","event_id":"`)+32+len(`-0"}`)+1 {
			t.Fatalf("the request after the fuzzed one was stored as %q", got)
		}
	})
}

// waitFor waits until the sink holds n lines and takes them.
func waitFor(t *testing.T, s *memSink, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		have := len(s.lines)
		s.mu.Unlock()
		if have > n || (have < n && time.Now().After(deadline)) {
			t.Fatalf("sink holds %d lines, want %d", have, n)
		}
		if have == n {
			return s.take()
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// take returns the lines written so far and forgets them.
func (m *memSink) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.lines
	m.lines = nil
	return l
}
