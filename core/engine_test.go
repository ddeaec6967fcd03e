package core

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// memSink keeps every line it is given. When gate is set, WriteBatch first waits for a value on
// it, which lets a test hold a sink still and fill the engine's queues.
type memSink struct {
	mu    sync.Mutex
	lines []string
	gate  chan struct{}
}

type memOptions struct {
	ID string `yaml:"id"`
}

func (o *memOptions) Validate() []sinks.FieldError { return nil }

var (
	memMu    sync.Mutex
	memSinks = map[string]*memSink{}
)

func init() {
	sinks.MustRegister(sinks.Registration{
		Type:       "memory",
		NewOptions: func() sinks.Options { return &memOptions{} },
		New: func(name string, o sinks.Options) (sinks.Sink, error) {
			memMu.Lock()
			defer memMu.Unlock()
			id := o.(*memOptions).ID
			if memSinks[id] == nil {
				memSinks[id] = &memSink{}
			}
			return memSinks[id], nil
		},
	})
}

// newMem registers a fresh in-memory sink under a test-unique id.
func newMem(t *testing.T) (string, *memSink) {
	id := t.Name() + fmt.Sprint(time.Now().UnixNano())
	m := &memSink{}
	memMu.Lock()
	memSinks[id] = m
	memMu.Unlock()
	return id, m
}

func (m *memSink) Connect(context.Context) error { return nil }
func (m *memSink) Close(context.Context) error   { return nil }
func (m *memSink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range strings.SplitAfter(string(b.Data), "\n") {
		if l != "" {
			m.lines = append(m.lines, l)
		}
	}
	if n := strings.Count(string(b.Data), "\n"); n != b.Events {
		return fmt.Errorf("batch says %d events but holds %d lines", b.Events, n)
	}
	return nil
}

func (m *memSink) Lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

// waitLines waits until the sink holds n lines.
func (m *memSink) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := m.Lines()
		if len(l) >= n || time.Now().After(deadline) {
			if len(l) != n {
				t.Fatalf("sink holds %d lines, want %d", len(l), n)
			}
			return l
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const (
	streamA   = "a0c3b4de-1923-4ff1-8dba-f92ad912d20f"
	streamB   = "b-stream"
	starToken = "star-token-0123456789"
	aToken    = "scoped-token-0123456789"
	seedEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD"},"metadata":{"env":"prod","team":"payments"}}`
)

// testEngine starts an engine on a loopback port. extra is appended to the server section.
type testEngine struct {
	*Engine
	url string
	sa  *memSink
	sb  *memSink
}

func startEngine(t *testing.T, server string, tokens string) *testEngine {
	t.Helper()
	idA, sa := newMem(t)
	idB, sb := newMem(t)
	if tokens == "" {
		tokens = fmt.Sprintf(`
  - {name: star, token: %q, streams: ["*"]}
  - {name: scoped, token: %q, streams: [%q]}
  - {name: old, token: "expired-token-0123456789", streams: ["*"], expires_at: "2020-01-01T00:00:00Z"}`, starToken, aToken, streamA)
	}
	yml := fmt.Sprintf(`
server:
  listen: "127.0.0.1:0"
  grace_period: 5s
  ack: memory
%s
tokens:%s
streams:
  - {id: %q, name: payments, sinks: [a]}
  - {id: %q, sinks: [a, b]}
sinks:
  - {name: a, type: memory, id: %q, batch: {max_events: 50, max_age: 20ms}}
  - {name: b, type: memory, id: %q, batch: {max_events: 50, max_age: 20ms}}
`, server, tokens, streamA, streamB, idA, idB)
	te := startWith(t, yml)
	te.sa, te.sb = sa, sb
	return te
}

type reply struct {
	status     int
	retryAfter string
	Error      string `json:"error"`
	Detail     string `json:"detail"`
	Status     string `json:"status"`
	Events     int    `json:"events"`
	Ingested   int    `json:"ingested_bytes"`
	StreamID   string `json:"stream_id"`
}

func (te *testEngine) post(t *testing.T, method, path string, hdr map[string]string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(method, te.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if len(raw) > 0 && json.Unmarshal(raw, &r) != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
	}
	return r
}

func headers(token, stream, ctype string) map[string]string {
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	if stream != "" {
		h["X-Stream-Id"] = stream
	}
	if ctype != "" {
		h["Content-Type"] = ctype
	}
	return h
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestIngestAnswers(t *testing.T) {
	te := startEngine(t, "  max_payload_bytes: 4096\n  max_events_per_request: 3", "")
	f := func(method, path string, hdr map[string]string, body []byte, status int, code string, detail string) reply {
		t.Helper()
		r := te.post(t, method, path, hdr, body)
		if r.status != status || r.Error != code {
			t.Fatalf("%s %s %v %.60q: got %d %q (%s), want %d %q", method, path, hdr, body, r.status, r.Error, r.Detail, status, code)
		}
		if detail != "" && !strings.Contains(r.Detail, detail) {
			t.Fatalf("detail %q does not contain %q", r.Detail, detail)
		}
		if code != "" && r.Detail == "" {
			t.Fatalf("error %q without a detail", code)
		}
		return r
	}
	ok := headers(starToken, streamA, "application/json")
	nd := headers(starToken, streamA, "application/x-ndjson")

	// accepted: exact events and ingested_bytes
	r := f("POST", IngestPath, ok, []byte(seedEvent), 200, "", "")
	if r.Status != "accepted" || r.Events != 1 || r.Ingested != len(seedEvent) || r.StreamID != streamA {
		t.Fatalf("accepted reply = %+v", r)
	}
	arr := "[" + seedEvent + "," + seedEvent + "]"
	if r = f("POST", IngestPath, ok, []byte(arr), 200, "", ""); r.Events != 2 || r.Ingested != len(arr) {
		t.Fatalf("array reply = %+v", r)
	}
	lines := seedEvent + "\n\n" + seedEvent + "\r\n"
	if r = f("POST", IngestPath, nd, []byte(lines), 200, "", ""); r.Events != 2 || r.Ingested != len(lines) {
		t.Fatalf("ndjson reply = %+v", r)
	}
	gzh := headers(starToken, streamA, "application/json; charset=utf-8")
	gzh["Content-Encoding"] = "gzip"
	if r = f("POST", IngestPath, gzh, gz(seedEvent), 200, "", ""); r.Events != 1 || r.Ingested != len(seedEvent) {
		t.Fatalf("gzip reply = %+v", r)
	}
	scoped := headers(aToken, streamA, "application/json")
	f("POST", IngestPath, scoped, []byte(seedEvent), 200, "", "")

	// 400s
	f("POST", IngestPath, ok, []byte(`{"source":"x","event":{}`), 400, "invalid_json", "index 0")
	f("POST", IngestPath, ok, []byte(`{"source":"x","event":{},"timestamp":"12/02/2025"}`), 400, "invalid_format", "timestamp")
	f("POST", IngestPath, ok, []byte(`{"event":{}}`), 400, "missing_field", "source")
	f("POST", IngestPath, nd, []byte(seedEvent+"\n"+`{"source":"x"}`), 400, "missing_field", "index 1")
	f("POST", IngestPath, ok, []byte(`[`+strings.Repeat(seedEvent+",", 3)+seedEvent+`]`), 400, "payload_too_large", "")
	f("POST", IngestPath, ok, bytes.Repeat([]byte(" "), 5000), 400, "payload_too_large", "")
	f("POST", IngestPath, headers(starToken, "", "application/json"), []byte(seedEvent), 400, "missing_stream_id", "X-Stream-Id")
	// 401, 403, 404
	f("POST", IngestPath, headers("", streamA, "application/json"), []byte(seedEvent), 401, "unauthorized", "Bearer")
	f("POST", IngestPath, headers("nope-nope-nope-nope", streamA, "application/json"), []byte(seedEvent), 401, "unauthorized", "")
	f("POST", IngestPath, headers("expired-token-0123456789", streamA, "application/json"), []byte(seedEvent), 401, "unauthorized", "expired")
	f("POST", IngestPath, headers(aToken, streamB, "application/json"), []byte(seedEvent), 403, "forbidden", streamB)
	// a scoped token cannot probe which ids exist
	f("POST", IngestPath, headers(aToken, "no-such-stream", "application/json"), []byte(seedEvent), 403, "forbidden", "")
	f("POST", IngestPath, headers(starToken, "no-such-stream", "application/json"), []byte(seedEvent), 404, "stream_not_found", "no-such-stream")
	// 415
	f("POST", IngestPath, headers(starToken, streamA, "text/plain"), []byte(seedEvent), 415, "unsupported_media_type", "text/plain")
	f("POST", IngestPath, headers(starToken, streamA, ""), []byte(seedEvent), 415, "unsupported_media_type", "")
	br := headers(starToken, streamA, "application/json")
	br["Content-Encoding"] = "br"
	f("POST", IngestPath, br, []byte(seedEvent), 415, "unsupported_media_type", "br")
	bad := headers(starToken, streamA, "application/json")
	bad["Content-Encoding"] = "gzip"
	f("POST", IngestPath, bad, []byte(seedEvent), 400, "invalid_format", "gzip")
	// other paths and methods
	f("GET", IngestPath, ok, nil, 405, "method_not_allowed", "POST")
	f("GET", "/v1/other", nil, nil, 404, "not_found", "")

	// only the accepted events reached the sink: 1+2+2+1+1
	te.sa.waitLines(t, 7)
}

func TestStoredEvent(t *testing.T) {
	te := startEngine(t, "", "")
	h := headers(starToken, streamA, "application/json")
	body := "{\n  \"stream_id\": \"spoofed\",\n  \"source\": \"app\",\n  \"event\": {\"a\": [1, 2]},\n  \"received_at\": \"x\"\n}"
	before := time.Now().UTC()
	if r := te.post(t, "POST", IngestPath, h, []byte(body)); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.Detail)
	}
	line := te.sa.waitLines(t, 1)[0]
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "}\n") {
		t.Fatalf("stored line is not one NDJSON line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("stored line is not JSON: %v: %q", err, line)
	}
	if got["stream_id"] != streamA || got["source"] != "app" || strings.Count(line, `"stream_id"`) != 1 || strings.Count(line, `"received_at"`) != 1 {
		t.Fatalf("stored line = %q", line)
	}
	ra, err := time.Parse(time.RFC3339Nano, got["received_at"].(string))
	if err != nil || ra.Before(before.Add(-time.Second)) || len(got["received_at"].(string)) != len("2006-01-02T15:04:05.000000000Z") {
		t.Fatalf("received_at = %v (%v)", got["received_at"], err)
	}
	if got["timestamp"] != got["received_at"] {
		t.Fatalf("timestamp %v should default to received_at %v", got["timestamp"], got["received_at"])
	}

	// a stream with two sinks: both get the same line; the client's timestamp is kept
	hb := headers(starToken, streamB, "application/json")
	if r := te.post(t, "POST", IngestPath, hb, []byte(seedEvent)); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	la, lb := te.sa.waitLines(t, 2)[1], te.sb.waitLines(t, 1)[0]
	// the client's timestamp is kept and no second one is added
	if la != lb || !strings.HasPrefix(la, seedEvent[:len(seedEvent)-1]+`,"stream_id":"b-stream","received_at":"`) || strings.Count(la, `"timestamp"`) != 1 {
		t.Fatalf("lines differ or wrong:\n%s\n%s", la, lb)
	}
}

func TestRateLimits(t *testing.T) {
	tokens := fmt.Sprintf(`
  - {name: star, token: %q, streams: ["*"]}
  - {name: slow, token: %q, streams: ["*"], rate_limit: {events_per_second: 0.001, burst: 3}}`, starToken, aToken)
	te := startEngine(t, "", tokens)
	// Token limits over HTTP; stream limits and the refund between them are in
	// TestStreamRateLimitRefundsToken (both use ratelimit.Bucket).
	h := headers(aToken, streamA, "application/x-ndjson")
	two := []byte(seedEvent + "\n" + seedEvent)
	if r := te.post(t, "POST", IngestPath, h, two); r.status != 200 {
		t.Fatalf("first request: %d %s", r.status, r.Detail)
	}
	r := te.post(t, "POST", IngestPath, h, two)
	if r.status != 429 || r.Error != "rate_limited" || r.retryAfter == "" || r.retryAfter == "0" {
		t.Fatalf("over the limit: %+v", r)
	}
	r = te.post(t, "POST", IngestPath, h, []byte(strings.Repeat(seedEvent+"\n", 4)))
	if r.status != 429 || !strings.Contains(r.Detail, "at most 3") {
		t.Fatalf("over the burst: %+v", r)
	}
	// the other token is not limited
	if r := te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/x-ndjson"), two); r.status != 200 {
		t.Fatalf("unlimited token: %d", r.status)
	}
}

func TestStreamRateLimitRefundsToken(t *testing.T) {
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {ack: memory}
tokens:
  - {name: t, token: %q, streams: ["*"], rate_limit: {events_per_second: 0.001, burst: 5}}
streams:
  - {id: s, sinks: [a], rate_limit: {events_per_second: 0.001, burst: 2}}
  - {id: s2, sinks: [a]}
sinks:
  - {name: a, type: memory, id: refund}
`, starToken)), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	g := e.gen.Load()
	tk := g.tokens[cfg.Tokens[0].Hash]
	now := time.Now().UnixNano()
	if code, _, _ := takeRate(tk, g.streams["s"], now, 2); code != 0 {
		t.Fatal("first take refused")
	}
	code, _, wait := takeRate(tk, g.streams["s"], now, 2)
	if code.String() != "rate_limited" || wait <= 0 {
		t.Fatalf("stream limit not applied: %v %v", code, wait)
	}
	// the refused request gave the token its 2 events back: 3 remain
	if code, _, _ := takeRate(tk, g.streams["s2"], now, 3); code != 0 {
		t.Fatal("token was charged for a request the stream refused")
	}
}

// A sink whose buffer is full under when_full: block turns its streams' requests away with 503
// at once, while a stream that does not route to it, on the same shard, keeps flowing.
func TestFullSinkRefusesOnlyItsStreams(t *testing.T) {
	idSlow, slow := newMem(t)
	idFast, fast := newMem(t)
	slow.gate = make(chan struct{})
	te := startWith(t, fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, shards: 1, ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams:
  - {id: to-slow, sinks: [slow]}
  - {id: to-fast, sinks: [fast]}
sinks:
  - {name: slow, type: memory, id: %q, batch: {max_events: 50}, buffer: {max_batches: 2}}
  - {name: fast, type: memory, id: %q, batch: {max_events: 50, max_age: 10ms}}
`, starToken, idSlow, idFast))
	body := []byte(strings.Repeat(seedEvent+"\n", 50)) // one full batch per request
	accepted := 0
	var r reply
	start := time.Now()
	for i := 0; i < 20; i++ {
		if r = te.post(t, "POST", IngestPath, headers(starToken, "to-slow", "application/x-ndjson"), body); r.status != 200 {
			break
		}
		accepted++
		time.Sleep(5 * time.Millisecond) // let the shard flush the batch to the sink's queue
	}
	if r.status != 503 || r.Error != "overloaded" || r.retryAfter != "1" || !strings.Contains(r.Detail, `sink "slow" is behind`) {
		t.Fatalf("after %d accepted requests: %+v", accepted, r)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("overload took %v to report", time.Since(start))
	}
	for range 5 {
		if r := te.post(t, "POST", IngestPath, headers(starToken, "to-fast", "application/x-ndjson"), body); r.status != 200 {
			t.Fatalf("a stream of a healthy sink was refused: %+v", r)
		}
	}
	fast.waitLines(t, 5*50)
	close(slow.gate) // the sink recovers: everything accepted is delivered
	slow.waitLines(t, accepted*50)
}

// Under when_full: drop_newest the requests are accepted and the batches past the buffer are
// dropped and counted.
func TestFullSinkDropsNewest(t *testing.T) {
	idSlow, slow := newMem(t)
	slow.gate = make(chan struct{})
	te := startWith(t, fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, shards: 1, ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams: [{id: s, sinks: [slow]}]
sinks:
  - {name: slow, type: memory, id: %q, batch: {max_events: 50}, buffer: {max_batches: 2, when_full: drop_newest}}
`, starToken, idSlow))
	body := []byte(strings.Repeat(seedEvent+"\n", 50))
	for i := 0; i < 10; i++ {
		if r := te.post(t, "POST", IngestPath, headers(starToken, "s", "application/x-ndjson"), body); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(slow.gate)
	// One batch is being written, two wait; the other seven were dropped.
	lines := slow.waitLines(t, 3*50)
	time.Sleep(50 * time.Millisecond)
	if got := testutil.ToFloat64(te.met.dropped.WithLabelValues("s", dropSinkFull)); got != 7*50 || len(slow.Lines()) != len(lines) {
		t.Fatalf("dropped{sink_full} = %v and %d delivered, want 350 and 150", got, len(slow.Lines()))
	}
}

func TestShutdownDeliversEverythingAccepted(t *testing.T) {
	te := startEngine(t, "", "")
	h := headers(starToken, streamB, "application/x-ndjson")
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"source":"w%d","event":{"i":%d}}`+"\n"+`{"source":"w%d","event":{"i":%d}}`, w, 2*i, w, 2*i+1)
				req, _ := http.NewRequest("POST", te.url+IngestPath, strings.NewReader(body))
				for k, v := range h {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the listener closed
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					accepted += 2
					mu.Unlock()
				} else if resp.StatusCode != 503 {
					t.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}(w)
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := te.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if te.Ready() {
		t.Fatal("ready after shutdown")
	}
	close(stop)
	wg.Wait()
	for _, s := range []*memSink{te.sa, te.sb} {
		lines := s.Lines()
		if len(lines) != accepted {
			t.Fatalf("sink holds %d events, %d were accepted", len(lines), accepted)
		}
		seen := map[string]bool{}
		for _, l := range lines {
			var ev struct {
				Source string
				Event  struct{ I int }
			}
			json.Unmarshal([]byte(l), &ev)
			k := fmt.Sprint(ev.Source, ev.Event.I)
			if seen[k] {
				t.Fatalf("duplicate %s", k)
			}
			seen[k] = true
		}
	}
	if accepted == 0 {
		t.Fatal("nothing was accepted")
	}
}

func TestOpsEndpoints(t *testing.T) {
	te := startEngine(t, "", "")
	get := func(path string) (int, string) {
		resp, err := http.Get(te.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, _ := get("/healthz"); c != 200 {
		t.Fatalf("healthz %d", c)
	}
	if c, _ := get("/readyz"); c != 200 {
		t.Fatalf("readyz %d", c)
	}
	if r := te.post(t, "POST", "/healthz", nil, nil); r.status != 405 {
		t.Fatalf("POST /healthz = %d", r.status)
	}
	te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/json"), []byte(seedEvent))
	te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/json"), []byte(`{}`))
	te.post(t, "POST", IngestPath, headers(starToken, "zzz", "application/json"), []byte(seedEvent))
	te.sa.waitLines(t, 1)
	_, m := get("/metrics")
	for _, want := range []string{
		`ingestd_requests_total{code="200",stream="payments"} 1`,
		`ingestd_requests_total{code="400",stream="payments"} 1`,
		`ingestd_requests_total{code="404",stream="_unknown"} 1`,
		`ingestd_events_received_total{stream="payments"} 1`,
		`ingestd_events_rejected_total{reason="missing_field",stream="payments"} 1`,
		fmt.Sprintf(`ingestd_bytes_received_total{stream="payments"} %d`, len(seedEvent)),
		`ingestd_events_delivered_total{sink="a"} 1`,
		`ingestd_sink_batches_total{result="ok",sink="a"} 1`,
		`ingestd_queue_depth{shard="0"}`,
		`ingestd_request_duration_seconds_count 3`,
		`ingestd_events_dropped_total`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestReloadLosesNothing(t *testing.T) {
	te := startEngine(t, "", "")
	h := headers(starToken, streamA, "application/json")
	for i := 0; i < 10; i++ {
		te.post(t, "POST", IngestPath, h, []byte(seedEvent))
	}
	idC, sc := newMem(t)
	yml := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", grace_period: 5s, ack: memory}
tokens:
  - {name: new, token: "a-brand-new-token-42", streams: ["*"]}
streams:
  - {id: %q, sinks: [c]}
sinks:
  - {name: c, type: memory, id: %q}
`, streamA, idC)
	cfg, err := config.Parse([]byte(yml), "new.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// the old sink delivers what the old config accepted, in the background
	if n := len(te.sa.waitLines(t, 10)); n != 10 {
		t.Fatalf("old sink holds %d of 10 events after reload", n)
	}
	if r := te.post(t, "POST", IngestPath, h, []byte(seedEvent)); r.status != 401 {
		t.Fatalf("removed token still works: %d", r.status)
	}
	if r := te.post(t, "POST", IngestPath, headers("a-brand-new-token-42", streamA, "application/json"), []byte(seedEvent)); r.status != 200 {
		t.Fatalf("new token: %d %s", r.status, r.Detail)
	}
	sc.waitLines(t, 1)

	changed := *cfg
	changed.Server.MaxPayloadBytes = 10
	if err := te.Reload(context.Background(), &changed); err != ErrServerChanged {
		t.Fatalf("server change: %v", err)
	}
}

func TestServerLevelLimits(t *testing.T) {
	te := startEngine(t, "  max_payload_bytes: 1024\n  max_header_bytes: 1024", "")
	// a body over the limit is refused by the HTTP layer before the handler runs
	r := te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/json"), bytes.Repeat([]byte("x"), 2000))
	if r.status != 400 || r.Error != "payload_too_large" {
		t.Fatalf("big body: %+v", r)
	}
	h := headers(starToken, streamA, "application/json")
	h["X-Padding"] = strings.Repeat("p", 2000)
	r = te.post(t, "POST", IngestPath, h, []byte(seedEvent))
	if r.status != 431 || r.Error != "headers_too_large" {
		t.Fatalf("big headers: %+v", r)
	}
}

func TestSlowRequestGets408(t *testing.T) {
	te := startEngine(t, "  read_timeout: 200ms", "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(te.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// headers that never finish: a slow-loris client
	if _, err := conn.Write([]byte("POST " + IngestPath + " HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	got, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 408")) || !bytes.Contains(got, []byte(`"error":"request_timeout"`)) {
		t.Fatalf("slow request answered %q", got)
	}
}

// Requests are refused while the events already held in memory (decoded bodies waiting in the
// rings) are over max_queue_bytes. The rings drain in microseconds here, so the test holds the
// budget itself, as queued requests would.
func TestQueuedBytesLimitAnswers503(t *testing.T) {
	te := startEngine(t, "  max_payload_bytes: 4096\n  max_queue_bytes: 4096", "")
	h := headers(starToken, streamA, "application/x-ndjson")
	body := []byte(strings.Repeat(`{"source":"a","event":{}}`+"\n", 120)) // 3 KB decoded
	te.queued.Add(2048)
	r := te.post(t, "POST", IngestPath, h, body)
	if r.status != 503 || r.Error != "overloaded" || r.retryAfter != "1" || !strings.Contains(r.Detail, "max_queue_bytes") {
		t.Fatalf("request of 3 KB while 2 KB are held of a 4 KB budget: %+v", r)
	}
	te.queued.Add(-2048)
	if r := te.post(t, "POST", IngestPath, h, body); r.status != 200 {
		t.Fatalf("with the budget free: %+v", r)
	}
	te.sa.waitLines(t, 120)
	if q := te.queued.Load(); q != 0 {
		t.Fatalf("%d bytes still counted as queued after delivery", q)
	}
}

func TestShutdownPastGraceCountsDrops(t *testing.T) {
	te := startEngine(t, "", "")
	te.sa.gate = make(chan struct{}) // the sink never delivers
	if r := te.post(t, "POST", IngestPath, headers(starToken, streamA, "application/json"), []byte(seedEvent)); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := te.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown reported success although the sink delivered nothing")
	}
	mfs, err := te.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "ingestd_events_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			dropped[labels["stream"]+"/"+labels["reason"]] = m.GetCounter().GetValue()
		}
	}
	if dropped["payments/shutdown"] != 1 || dropped["b-stream/shutdown"] != 0 {
		t.Fatalf("dropped events = %v, want payments/shutdown 1", dropped)
	}
}
