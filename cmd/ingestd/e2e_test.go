// End-to-end tests of the built binary. They stand for a user running the real ingestd: the
// binary is built with `go build`, started from a config file as an operator would start it,
// spoken to over HTTP on loopback, stopped with SIGTERM, and judged by its answers, its exit
// code and the files its sinks wrote. The binary is built without -race even when the tests run
// with it; the engine's races are the unit tests' business.
package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ingestd/ingestd/wal"
)

const e2eVersion = "e2e-test"

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ingestdBinary builds the binary once for every test of the package. go test puts its own Go
// first in PATH, so "go" is the toolchain running the tests.
func ingestdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "ingestd-e2e-"); buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "ingestd")
		cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+e2eVersion, "-o", buildPath, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// syncBuffer collects a child's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one running ingestd.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{} // closed when it has exited
}

var readyLine = regexp.MustCompile(`msg="ingestd ready".* listen=(\S+)`)

// startIngestd runs `ingestd serve args...` in dir with env added to the environment, and
// returns once it logged its address and /readyz answers 200.
func startIngestd(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	p := &process{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(ingestdBinary(t), append([]string{"serve"}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("ingestd stderr:\n%s", p.stderr.String())
		}
	})

	deadline := time.Now().Add(10 * time.Second)
	for p.addr == "" {
		if m := readyLine.FindStringSubmatch(p.stderr.String()); m != nil {
			p.addr = m[1]
			break
		}
		select {
		case <-p.done:
			t.Fatalf("ingestd exited with %v before it was ready", p.cmd.ProcessState)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("ingestd did not log its address within 10s")
		}
	}
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		last := fmt.Sprint(err)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
			last = resp.Status
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 10s; last answer: %s", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM.
func (p *process) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
}

// wantExit waits for the process to exit and checks its exit code.
func (p *process) wantExit(code int, within time.Duration) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.t.Fatalf("ingestd did not exit within %v", within)
	}
	if got := p.cmd.ProcessState.ExitCode(); got != code {
		p.t.Fatalf("ingestd exit code %d, want %d", got, code)
	}
}

// runIngestd runs a command that does not serve, with env added to the environment, and
// returns its exit code and output.
func runIngestd(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(ingestdBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// The ingest test's world: two tokens, two streams, one file sink each.
const (
	starToken   = "e2e-star-token-0123456789abcdef"
	scopedToken = "e2e-scoped-token-0123456789abcdef"
	oldToken    = "e2e-expired-token-0123456789abcdef"
	streamA     = "orders-a" // named "alpha": its files go under alpha/
	streamB     = "5f0c6a0e-8d0b-4a43-9b1e-2f7c1d9e4b21"
	keyA        = "alpha"
	keyB        = streamB // unnamed: its files go under its id
	maxPayload  = 64 << 10
	maxEvents   = 50
)

// e2eConfig is the ingest test's config with its sinks under dir. The star token comes from
// the environment and the scoped one as a digest, so both forms are exercised. Sink a flushes
// by age, sink b only when a batch is full or at shutdown.
func e2eConfig(dir string) string {
	sum := sha256.Sum256([]byte(scopedToken))
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:8080"
  max_payload_bytes: %d
  max_events_per_request: %d
  grace_period: 10s
tokens:
  - name: star
    token: "${E2E_STAR_TOKEN}"
    streams: ["*"]
  - name: scoped
    token: "sha256:%s"
    streams: [%q]
  - name: expired
    token: %q
    streams: ["*"]
    expires_at: "2020-01-01T00:00:00Z"
streams:
  - id: %q
    name: %s
    sinks: [files-a]
  - id: %q
    sinks: [files-b]
sinks:
  - name: files-a
    type: file
    path: %q
    max_file_bytes: 200000
    batch: {max_events: 200, max_age: 50ms}
  - name: files-b
    type: file
    path: %q
    fsync: none
    max_file_bytes: 200000
    batch: {max_events: 200, max_age: 1h}
`, maxPayload, maxEvents, hex.EncodeToString(sum[:]), streamA, oldToken, streamA, keyA, streamB,
		filepath.Join(dir, "sink-a", "{stream}", "events-{date}.ndjson"),
		filepath.Join(dir, "sink-b", "{stream}", "events-{date}.ndjson"))
}

// sentEvent is one event as the client sent it.
type sentEvent struct {
	seq    int64
	req    *call
	fields map[string]string // member name -> value as compact JSON; stream_id/received_at left out
	ts     string            // the client's timestamp as JSON, "" when it sent none
}

// call is one request and the answer it must get.
type call struct {
	name   string
	method string
	path   string
	header map[string]string
	body   []byte // as sent

	status int
	code   string // the error code; "" for 200
	plain  int    // ingested_bytes: the decoded body's size
	stream string // the stream id of a 200
	events []*sentEvent

	start, end time.Time // when the client sent it and had the answer
}

// gen makes one sender's requests. Its seqs come from a counter shared by all senders.
type gen struct {
	seq *atomic.Int64
	rnd *rand.Rand
	zw  *zstd.Encoder
	w   int
}

var timestamps = []string{
	`"2025-02-12T14:32:15Z"`,
	`"2025-02-12T14:32:15.123456+02:00"`,
	`"2024-12-31T23:59:59.5-05:30"`,
	`"2025-06-01T00:00:00.000000001Z"`,
}

// event returns one valid event object in compact JSON. Its members come in a random order;
// some carry their own stream_id or received_at, which ingestd must replace.
func (g *gen) event() ([]byte, *sentEvent) {
	ev := &sentEvent{seq: g.seq.Add(1), fields: map[string]string{}}
	type member struct{ name, value string }
	ms := []member{
		{"source", strconv.Quote("e2e-w" + strconv.Itoa(g.w))},
		{"event", fmt.Sprintf(`{"seq":%d,"kind":"click","amount":12.50,"note":"caf\u00e9 \"q\" \\ \u2603","nested":{"list":[1,2.0,{"x":null}],"ok":true}}`, ev.seq)},
	}
	if i := g.rnd.IntN(len(timestamps) + 2); i < len(timestamps) {
		ms = append(ms, member{"timestamp", timestamps[i]})
		ev.ts = timestamps[i]
	}
	if g.rnd.IntN(2) == 0 {
		ms = append(ms, member{"metadata", fmt.Sprintf(`{"worker":%d,"env":"e2e"}`, g.w)})
	}
	if g.rnd.IntN(3) == 0 {
		ms = append(ms, member{"tags", `["a","b"]`}, member{"ratio", "1e-3"})
	}
	for _, m := range ms {
		ev.fields[m.name] = m.value
	}
	switch g.rnd.IntN(8) {
	case 0:
		ms = append(ms, member{"stream_id", `"spoofed"`})
	case 1:
		ms = append(ms, member{"received_at", `"1999-01-01T00:00:00Z"`})
	case 2:
		ms = append(ms, member{"received_at", `"1999-01-01T00:00:00Z"`}, member{"stream_id", `"spoofed"`})
	case 3:
		ms = append(ms, member{"event_id", `"client-chosen"`})
	}
	g.rnd.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, m.name)
		b = append(b, ':')
		b = append(b, m.value...)
	}
	return append(b, '}'), ev
}

// pretty spreads an object over several lines, as a person writing JSON by hand would.
func pretty(obj []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, obj, "", "  "); err != nil {
		panic(err) // obj is made by gen.event, always valid
	}
	return b.Bytes()
}

type shape int

const (
	single shape = iota
	array
	ndjson
)

func (s shape) String() string { return [...]string{"single", "array", "ndjson"}[s] }

// body makes n events in the given framing and returns it with its Content-Type.
func (g *gen) body(s shape, n int) ([]byte, string, []*sentEvent) {
	var evs []*sentEvent
	var objs [][]byte
	for range n {
		obj, ev := g.event()
		if s != ndjson && g.rnd.IntN(4) == 0 {
			obj = pretty(obj)
		}
		objs = append(objs, obj)
		evs = append(evs, ev)
	}
	switch s {
	case single:
		ct := "application/json"
		if g.rnd.IntN(2) == 0 {
			ct = "application/json; charset=utf-8"
		}
		return objs[0], ct, evs
	case array:
		sep := []byte(",")
		if g.rnd.IntN(2) == 0 {
			sep = []byte(",\n  ")
		}
		return slices.Concat([]byte("["), bytes.Join(objs, sep), []byte("]")), "application/json", evs
	default:
		b := bytes.Join(objs, []byte("\n"))
		if g.rnd.IntN(2) == 0 {
			b = append(b, '\n')
		}
		return b, "application/x-ndjson", evs
	}
}

var encodings = []string{"", "gzip", "zstd", "deflate"}

// encode compresses plain as Content-Encoding enc. HTTP's "deflate" is the zlib format.
func (g *gen) encode(enc string, plain []byte) []byte {
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "":
		return plain
	case "zstd":
		return g.zw.EncodeAll(plain, nil)
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w = zlib.NewWriter(&b)
	}
	// Writes into a bytes.Buffer cannot fail.
	w.Write(plain)
	w.Close()
	return b.Bytes()
}

func ingest(token, stream, contentType, encoding string, body []byte) *call {
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	if stream != "" {
		h["X-Stream-Id"] = stream
	}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	if encoding != "" {
		h["Content-Encoding"] = encoding
	}
	return &call{method: http.MethodPost, path: "/v1/streams/ingest", header: h, body: body}
}

// valid makes an accepted request: any framing, encoding, and token allowed on its stream.
func valid(g *gen) *call {
	s := shape(g.rnd.IntN(3))
	n := 1
	if s != single {
		n = 1 + g.rnd.IntN(20)
	}
	plain, ct, evs := g.body(s, n)
	enc := encodings[g.rnd.IntN(len(encodings))]
	token, stream := starToken, streamA
	switch g.rnd.IntN(3) {
	case 0:
		token = scopedToken
	case 1:
		stream = streamB
	}
	c := ingest(token, stream, ct, enc, g.encode(enc, plain))
	c.name = fmt.Sprintf("valid %v of %d events, encoding %q", s, n, enc)
	c.status, c.plain, c.stream, c.events = http.StatusOK, len(plain), stream, evs
	return c
}

// rejected builds a request that must fail with status and code; the events it carries must
// never be stored.
func rejected(name string, status int, code string, build func(g *gen) *call) func(g *gen) *call {
	return func(g *gen) *call {
		c := build(g)
		c.name, c.status, c.code = name, status, code
		return c
	}
}

// withBad makes an NDJSON or JSON-array body of valid events with bad in the middle.
func withBad(g *gen, ndjsonBody bool, bad string) ([]byte, []*sentEvent) {
	a, ea := g.event()
	b, eb := g.event()
	evs := []*sentEvent{ea, eb}
	if ndjsonBody {
		return slices.Concat(a, []byte("\n"+bad+"\n"), b), evs
	}
	return slices.Concat([]byte("["), a, []byte(","+bad+","), b, []byte("]")), evs
}

func badBody(ndjsonBody bool, bad string) func(g *gen) *call {
	return func(g *gen) *call {
		body, evs := withBad(g, ndjsonBody, bad)
		ct := "application/json"
		if ndjsonBody {
			ct = "application/x-ndjson"
		}
		c := ingest(starToken, streamA, ct, "", body)
		c.events = evs
		return c
	}
}

// withHeaders makes a valid NDJSON body sent with the given token, stream and headers.
func withHeaders(token, stream, contentType, encoding string) func(g *gen) *call {
	return func(g *gen) *call {
		plain, _, evs := g.body(ndjson, 2)
		c := ingest(token, stream, contentType, encoding, plain)
		c.events = evs
		return c
	}
}

// padded is an NDJSON body of valid events, each with a long "pad" member, larger than size.
func padded(g *gen, size int) ([]byte, []*sentEvent) {
	var b []byte
	var evs []*sentEvent
	for len(b) <= size {
		obj, ev := g.event()
		obj = append(obj[:len(obj)-1], `,"pad":"`...)
		obj = append(obj, strings.Repeat("x", 4000)...)
		obj = append(obj, `"}`+"\n"...)
		b = append(b, obj...)
		evs = append(evs, ev)
	}
	return b, evs
}

var invalidCases = []func(g *gen) *call{
	rejected("truncated JSON", 400, "invalid_json", func(g *gen) *call {
		plain, ct, evs := g.body(array, 3)
		c := ingest(starToken, streamA, ct, "gzip", g.encode("gzip", plain[:len(plain)-1]))
		c.events = evs
		return c
	}),
	rejected("broken NDJSON line", 400, "invalid_json", badBody(true, `{"source":"x","event":`)),
	rejected("array element not an object", 400, "invalid_json", badBody(false, `42`)),
	rejected("timestamp not ISO 8601", 400, "invalid_format", badBody(false, `{"source":"x","event":{},"timestamp":"12/02/2025 14:32"}`)),
	rejected("timestamp without zone", 400, "invalid_format", badBody(true, `{"source":"x","event":{},"timestamp":"2025-02-12T14:32:15"}`)),
	rejected("event not an object", 400, "invalid_format", badBody(true, `{"source":"x","event":"clicked"}`)),
	rejected("no source", 400, "missing_field", badBody(false, `{"event":{"a":1}}`)),
	rejected("no event", 400, "missing_field", badBody(true, `{"source":"x","metadata":{}}`)),
	rejected("body over max_payload_bytes", 400, "payload_too_large", func(g *gen) *call {
		body, evs := padded(g, maxPayload)
		c := ingest(starToken, streamA, "application/x-ndjson", "", body)
		c.events = evs
		return c
	}),
	rejected("decompressed body over max_payload_bytes", 400, "payload_too_large", func(g *gen) *call {
		body, evs := padded(g, maxPayload)
		c := ingest(starToken, streamB, "application/x-ndjson", "zstd", g.encode("zstd", body))
		c.events = evs
		return c
	}),
	rejected("too many events", 400, "payload_too_large", func(g *gen) *call {
		plain, ct, evs := g.body(ndjson, maxEvents+1)
		c := ingest(starToken, streamA, ct, "deflate", g.encode("deflate", plain))
		c.events = evs
		return c
	}),
	rejected("no X-Stream-Id", 400, "missing_stream_id", withHeaders(starToken, "", "application/x-ndjson", "")),
	rejected("no token", 401, "unauthorized", withHeaders("", streamA, "application/x-ndjson", "")),
	rejected("unknown token", 401, "unauthorized", withHeaders("e2e-unknown-token-0123456789", streamA, "application/x-ndjson", "")),
	rejected("expired token", 401, "unauthorized", withHeaders(oldToken, streamA, "application/x-ndjson", "")),
	rejected("basic auth", 401, "unauthorized", func(g *gen) *call {
		c := withHeaders("", streamA, "application/x-ndjson", "")(g)
		c.header["Authorization"] = "Basic " + starToken
		return c
	}),
	rejected("scoped token, other stream", 403, "forbidden", withHeaders(scopedToken, streamB, "application/x-ndjson", "")),
	rejected("scoped token, unknown stream", 403, "forbidden", withHeaders(scopedToken, "no-such-stream", "application/x-ndjson", "")),
	rejected("star token, unknown stream", 404, "stream_not_found", withHeaders(starToken, "no-such-stream", "application/x-ndjson", "")),
	rejected("text/plain", 415, "unsupported_media_type", withHeaders(starToken, streamA, "text/plain", "")),
	rejected("no Content-Type", 415, "unsupported_media_type", withHeaders(starToken, streamA, "", "")),
	rejected("brotli", 415, "unsupported_media_type", withHeaders(starToken, streamB, "application/x-ndjson", "br")),
	rejected("GET on the ingest path", 405, "method_not_allowed", func(*gen) *call {
		c := ingest(starToken, streamA, "", "", nil)
		c.method = http.MethodGet
		return c
	}),
	rejected("other path", 404, "not_found", func(g *gen) *call {
		c := withHeaders(starToken, streamA, "application/x-ndjson", "")(g)
		c.path = "/v1/streams/ingest/more"
		return c
	}),
}

// report gathers failures from the senders and keeps the first few readable.
type report struct {
	mu   sync.Mutex
	msgs []string
	n    int
}

func (r *report) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if len(r.msgs) < 20 {
		r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
	}
}

func (r *report) flush(t *testing.T) {
	t.Helper()
	for _, m := range r.msgs {
		t.Error(m)
	}
	if r.n > len(r.msgs) {
		t.Errorf("... and %d more failures", r.n-len(r.msgs))
	}
}

type answer struct {
	Status        string `json:"status"`
	IngestedBytes *int   `json:"ingested_bytes"`
	StreamID      string `json:"stream_id"`
	Events        *int   `json:"events"`
	Error         string `json:"error"`
	Detail        string `json:"detail"`
}

// check compares an answer with what c must get. late reports that SIGTERM had been sent by
// the time the answer came, when a POST to the ingest path may get 503 overloaded instead.
func (c *call) check(status int, h http.Header, body []byte, late bool) error {
	var a answer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return fmt.Errorf("%s: answer %d %q is not the API's JSON: %v", c.name, status, body, err)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("%s: Content-Type %q", c.name, ct)
	}
	if late && c.method == http.MethodPost && c.path == "/v1/streams/ingest" && status == http.StatusServiceUnavailable {
		if a.Error != "overloaded" || a.Detail == "" || h.Get("Retry-After") == "" {
			return fmt.Errorf("%s: draining answer %q, Retry-After %q", c.name, body, h.Get("Retry-After"))
		}
		return nil
	}
	if status != c.status {
		return fmt.Errorf("%s: status %d, want %d: %s", c.name, status, c.status, body)
	}
	if c.status != http.StatusOK {
		if a.Error != c.code || a.Detail == "" {
			return fmt.Errorf("%s: answer %s, want error %q with a detail", c.name, body, c.code)
		}
		return nil
	}
	if a.Status != "accepted" || a.StreamID != c.stream || a.Events == nil || *a.Events != len(c.events) ||
		a.IngestedBytes == nil || *a.IngestedBytes != c.plain || a.Error != "" || a.Detail != "" {
		return fmt.Errorf("%s: answer %s, want %d events, %d ingested bytes, stream %q",
			c.name, body, len(c.events), c.plain, c.stream)
	}
	return nil
}

// ledger is what the senders learnt: every accepted event, and the seqs that must not be stored.
type ledger struct {
	mu       sync.Mutex
	accepted map[int64]*sentEvent
	refused  map[int64]string // seq -> why
	late     int              // requests answered after SIGTERM
	answered atomic.Int64
}

func (l *ledger) record(c *call, ok bool, why string, late bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range c.events {
		if ok {
			ev.req = c
			l.accepted[ev.seq] = ev
		} else {
			l.refused[ev.seq] = why
		}
	}
	if late {
		l.late++
	}
}

// send runs one sender: perSender requests from the case list, starting at a different place
// for each sender so all of them mix valid and invalid requests.
func send(w, perSender int, cases []func(*gen) *call, base string, client *http.Client,
	g *gen, l *ledger, stopping *atomic.Bool, r *report) {
	for i := range perSender {
		c := cases[(w*7+i)%len(cases)](g)
		req, err := http.NewRequest(c.method, base+c.path, bytes.NewReader(c.body))
		if err != nil {
			r.add("%s: %v", c.name, err)
			return
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		c.start = time.Now()
		resp, err := client.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		c.end = time.Now()
		late := stopping.Load()
		l.answered.Add(1)
		if err != nil {
			l.record(c, false, c.name+": "+err.Error(), late)
			if late {
				return // SIGTERM closed the port: not accepted, and nothing more to send
			}
			r.add("%s: %v", c.name, err)
			continue
		}
		if cerr := c.check(resp.StatusCode, resp.Header, body, late); cerr != nil {
			r.add("%v", cerr)
		}
		l.record(c, resp.StatusCode == http.StatusOK, fmt.Sprintf("%s: answered %d", c.name, resp.StatusCode), late)
	}
}

func TestEndToEndIngest(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ingestd.yaml")
	if err := os.WriteFile(cfg, []byte(e2eConfig(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startIngestd(t, dir, []string{"E2E_STAR_TOKEN=" + starToken}, "--config", cfg, "--listen", "127.0.0.1:0")
	base := "http://" + p.addr
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if path == "/metrics" && !bytes.Contains(b, []byte("ingestd_requests_total")) {
			t.Fatalf("GET /metrics has no ingestd_requests_total:\n%s", b)
		}
	}

	// Valid requests are most of the traffic; every invalid kind still comes up dozens of times.
	cases := slices.Clone(invalidCases)
	for range 2 * len(invalidCases) {
		cases = append(cases, valid)
	}
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()

	const senders, perSender = 8, 250
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: senders},
	}
	defer client.CloseIdleConnections()
	l := &ledger{accepted: map[int64]*sentEvent{}, refused: map[int64]string{}}
	var stopping atomic.Bool
	var r report
	var seq atomic.Int64
	var wg sync.WaitGroup
	for w := range senders {
		g := &gen{seq: &seq, rnd: rand.New(rand.NewPCG(uint64(w), 1)), zw: zw, w: w}
		wg.Go(func() { send(w, perSender, cases, base, client, g, l, &stopping, &r) })
	}

	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()

	// SIGTERM with a third of the requests still to go.
	for l.answered.Load() < senders*perSender*2/3 {
		select {
		case <-sent:
			r.flush(t)
			t.Fatal("the senders stopped before SIGTERM")
		case <-time.After(time.Millisecond):
		}
	}
	stopping.Store(true)
	p.stop()
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := probe.Get(base + "/readyz")
		if err != nil {
			break // the port is closed
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d 5s after SIGTERM", resp.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-sent
	p.wantExit(0, 15*time.Second)
	r.flush(t)
	if l.late == 0 {
		t.Error("every request was answered before SIGTERM; the test did not exercise draining")
	}
	t.Logf("%d events accepted, %d events refused, %d requests answered after SIGTERM",
		len(l.accepted), len(l.refused), l.late)
	checkStored(t, dir, l)
}

var (
	receivedAt  = regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"$`)
	eventIDForm = regexp.MustCompile(`^"[0-9a-f]{32}-\d+"$`)
)

// checkStored reads every file the sinks wrote and compares it with the ledger.
func checkStored(t *testing.T, dir string, l *ledger) {
	t.Helper()
	var r report
	stored := map[int64]bool{}
	received := map[*call]string{} // every event of a request has the same received_at
	ids := map[string]int64{}      // event_id -> seq: ids are unique
	for sink, key := range map[string]map[string]string{
		"sink-a": {keyA: streamA},
		"sink-b": {keyB: streamB},
	} {
		root := filepath.Join(dir, sink)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			streamKey, _, _ := strings.Cut(rel, string(filepath.Separator))
			streamID, ok := key[streamKey]
			if !ok {
				r.add("%s: a file outside %s/<stream key>/ of its sink", path, sink)
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if len(data) > 0 && data[len(data)-1] != '\n' {
				r.add("%s: the last line is not complete", path)
			}
			for n, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
				where := fmt.Sprintf("%s:%d", path, n+1)
				seq, err := checkLine(line, streamID, l, received, ids, &r, where)
				if err != nil {
					r.add("%s: %v: %s", where, err, line)
					continue
				}
				if stored[seq] {
					r.add("%s: event seq %d stored twice", where, seq)
				}
				stored[seq] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for seq := range l.accepted {
		if !stored[seq] {
			r.add("accepted event seq %d (%s) was not stored", seq, l.accepted[seq].req.name)
		}
	}
	r.flush(t)
	if len(l.accepted) == 0 {
		t.Fatal("no event was accepted")
	}
}

// checkLine checks one stored line and returns its event's seq.
func checkLine(line []byte, streamID string, l *ledger, received map[*call]string, ids map[string]int64, r *report, where string) (int64, error) {
	names, got, err := members(line)
	if err != nil {
		return 0, err
	}
	var inner struct {
		Seq *int64 `json:"seq"`
	}
	if err := json.Unmarshal([]byte(got["event"]), &inner); err != nil || inner.Seq == nil {
		return 0, fmt.Errorf("no event.seq (%v)", err)
	}
	seq := *inner.Seq
	ev := l.accepted[seq]
	if ev == nil {
		if why, ok := l.refused[seq]; ok {
			return 0, fmt.Errorf("event seq %d of a request that was not accepted (%s) was stored", seq, why)
		}
		return 0, fmt.Errorf("event seq %d was never sent", seq)
	}
	if want := strconv.Quote(ev.req.stream); got["stream_id"] != want || ev.req.stream != streamID {
		r.add("%s: stream_id %s in %s's files, want %s", where, got["stream_id"], streamID, want)
	}
	ra := got["received_at"]
	if !receivedAt.MatchString(ra) {
		r.add("%s: received_at %s is not RFC 3339 UTC with 9 fractional digits", where, ra)
	} else if at, _ := time.Parse(`"`+time.RFC3339Nano+`"`, ra); at.Before(ev.req.start.Add(-time.Second)) || at.After(ev.req.end.Add(time.Second)) {
		r.add("%s: received_at %s, but the request was sent at %v and answered at %v", where, ra, ev.req.start, ev.req.end)
	}
	if first, ok := received[ev.req]; !ok {
		received[ev.req] = ra
	} else if first != ra {
		r.add("%s: received_at %s differs from %s of another event of the same request", where, ra, first)
	}
	wantTS := ev.ts
	if wantTS == "" {
		wantTS = ra
	}
	if got["timestamp"] != wantTS {
		r.add("%s: timestamp %s, want %s", where, got["timestamp"], wantTS)
	}
	id := got["event_id"]
	if !eventIDForm.MatchString(id) {
		r.add("%s: event_id %s is not ingestd's (32 hex digits, '-', the index)", where, id)
	} else if other, dup := ids[id]; dup && other != seq {
		r.add("%s: event_id %s also names event seq %d", where, id, other)
	}
	ids[id] = seq
	want := []string{"stream_id", "received_at", "event_id", "timestamp"}
	for name, value := range ev.fields {
		if name == "timestamp" {
			continue
		}
		want = append(want, name)
		if got[name] != value {
			r.add("%s: member %q is %s, the client sent %s", where, name, got[name], value)
		}
	}
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		r.add("%s: members %q, want %q", where, names, want)
	}
	return seq, nil
}

// members returns the names of a JSON object's members, in order and with any duplicates, and
// each value as compact JSON (so that only whitespace may differ from what the client sent).
func members(line []byte) ([]string, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	var names []string
	values := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		values[name] = compact.String()
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if dec.More() {
		return nil, nil, errors.New("more than one JSON value on the line")
	}
	return names, values, nil
}

var (
	curlURL    = regexp.MustCompile(`curl .*"http://([^/"]+)/v1/streams/ingest"`)
	curlHeader = regexp.MustCompile(`-H "([A-Za-z-]+): ([^"]*)"`)
	curlData   = regexp.MustCompile(`-d '([^']*)'`)
)

// The default config run: what a new user sees first.
func TestEndToEndDefaultConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const token = "e2e-default-token-0123456789abcdef"
	p := startIngestd(t, dir, []string{"INGESTD_TOKEN=" + token}, "--listen", "127.0.0.1:0")

	out := p.stdout.String()
	url, data := curlURL.FindStringSubmatch(out), curlData.FindStringSubmatch(out)
	if url == nil || data == nil {
		t.Fatalf("no curl command with a URL and -d in stdout:\n%s", out)
	}
	if url[1] != p.addr {
		t.Fatalf("the curl command goes to %s, ingestd listens on %s", url[1], p.addr)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+url[1]+"/v1/streams/ingest", strings.NewReader(data[1]))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range curlHeader.FindAllStringSubmatch(out, -1) {
		req.Header.Set(h[1], h[2])
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+token {
		t.Fatalf("the curl command sends Authorization %q, want the $INGESTD_TOKEN", got)
	}
	stream := req.Header.Get("X-Stream-Id")
	if stream == "" {
		t.Fatalf("the curl command sends no X-Stream-Id:\n%s", out)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c := &call{name: "the printed curl command", status: 200, plain: len(data[1]), stream: stream,
		events: []*sentEvent{{}}}
	if err := c.check(resp.StatusCode, resp.Header, body, false); err != nil {
		t.Fatal(err)
	}
	p.stop()
	p.wantExit(0, 10*time.Second)

	var lines [][]byte
	err = filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() && d.Name() == "wal" {
			return filepath.SkipDir // the write-ahead log of ack: disk, checked below
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		lines = append(lines, bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("%d lines under ./data, want the one seed event: %q", len(lines), lines)
	}
	// The default config acknowledges on disk: the request went through the write-ahead log,
	// whose checkpoint is past it after the clean shutdown.
	rep, err := wal.Inspect(filepath.Join(dir, "data", "wal"))
	if err != nil || len(rep.Segments) == 0 || len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Position == 0 || len(rep.Problems) != 0 {
		t.Fatalf("write-ahead log of the default config: %+v, %v", rep, err)
	}
	_, got, err := members(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	_, sent, err := members([]byte(data[1]))
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range sent {
		if got[name] != value {
			t.Errorf("stored %q is %s, the curl command sent %s", name, got[name], value)
		}
	}
	if got["stream_id"] != strconv.Quote(stream) || !receivedAt.MatchString(got["received_at"]) {
		t.Errorf("stored event %s lacks stream_id %q or a received_at", lines[0], stream)
	}
}

// TestEndToEndCommands covers the commands that answer without serving, and serve's failures.
func TestEndToEndCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(e2eConfig(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Three mistakes on known lines: an unknown key, a short token, a sink nobody defined.
	bad := filepath.Join(dir, "bad.yaml")
	badYAML := `server:
  listen: "127.0.0.1:8080"
  max_payload_byte: 100
tokens:
  - name: t
    token: "short"
    streams: ["*"]
streams:
  - id: s1
    sinks: [nowhere]
sinks:
  - name: local
    type: file
    path: "` + filepath.Join(dir, "out", "{stream}.ndjson") + `"
`
	if err := os.WriteFile(bad, []byte(badYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"E2E_STAR_TOKEN=" + starToken}
	errLine := regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:\d+: [a-z_\[\]0-9.]+: \S.*$`)

	f := func(args []string, wantCode int, wantStdout string, wantStderr ...string) {
		t.Helper()
		code, stdout, stderr := runIngestd(t, dir, env, args...)
		if code != wantCode {
			t.Errorf("ingestd %q: exit code %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, stdout, stderr)
		}
		if stdout != wantStdout {
			t.Errorf("ingestd %q: stdout %q, want %q", args, stdout, wantStdout)
		}
		for _, w := range wantStderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("ingestd %q: stderr lacks %q:\n%s", args, w, stderr)
			}
		}
		if len(wantStderr) == 0 && stderr != "" {
			t.Errorf("ingestd %q: stderr %q, want none", args, stderr)
		}
	}

	// version
	f([]string{"version"}, 0, "ingestd "+e2eVersion+"\n")

	// validate
	f([]string{"validate", "--config", good}, 0, good+": ok\n")
	f([]string{"validate", "--config", bad}, 1, "",
		bad+":3: server.max_payload_byte: ",
		bad+":6: tokens[0].token: ",
		bad+":10: streams[0].sinks[0]: ")
	f([]string{"validate", "--config", filepath.Join(dir, "missing.yaml")}, 1, "", "missing.yaml", "no such file")
	f([]string{"validate"}, 2, "", "--config FILE is required")
	f([]string{"validate", "--frobnicate"}, 2, "", "flag provided but not defined")

	// serve refuses a bad config before it listens, and an address it cannot listen on.
	f([]string{"serve", "--config", bad}, 1, "", bad+":3: server.max_payload_byte: ")
	f([]string{"serve", "--config", good, "--listen", "127.0.0.1:99999"}, 1, "", "listening")

	f([]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, "usage:")

	// Every line of validate's report has the form file:line: key: message.
	_, _, stderr := runIngestd(t, dir, env, "validate", "--config", bad)
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if !errLine.MatchString(line) {
			t.Errorf("validate line %q is not file:line: key: message", line)
		}
	}
}
