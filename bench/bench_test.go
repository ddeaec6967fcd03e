// The benchmarks drive ingestd's real handler (BenchmarkIngest) and Baseline, a net/http and
// encoding/json twin (BenchmarkBaseline), with the same workloads, end to end: a benchmark's
// time includes waiting until every event it sent has been written by a sink. Run them with
//
//	go test ./bench -run '^$' -bench . -benchmem
//	go test ./bench -run '^$' -bench . -benchmem -cpu 1
//
// and compare ingestd with the baseline, workload by workload, with benchstat
// (golang.org/x/perf/cmd/benchstat):
//
//	go test ./bench -run '^$' -bench . -benchmem -cpu 1 -count 10 >bench.txt
//	benchstat -col '.name@(Baseline Ingest)' bench.txt
//
// allocation_test.go checks that the steady state of the ingest path allocates nothing; it is
// left out of -race builds, whose instrumentation allocates.
package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

const (
	benchToken  = "bench-token-7c1e93f04b2d5a68"
	benchStream = "a0c3b4de-1923-4ff1-8dba-f92ad912d20f"
)

// discarded counts the events every discard sink has written. Benchmarks run one at a time and
// each engine is shut down (so its sinks are done) before the next starts, so a benchmark
// waits on the difference from the value it started with.
var discarded atomic.Int64

// discardSink is the "discard" sink type: it writes each batch to io.Discard and counts its
// events, so that the benchmarks measure the engine, not a disk.
type discardSink struct{}

type discardOptions struct{}

func (*discardOptions) Validate() []sinks.FieldError { return nil }

func (discardSink) Connect(context.Context) error { return nil }

func (discardSink) WriteBatch(_ context.Context, b *sinks.Batch) error {
	_, err := io.Discard.Write(b.Data)
	discarded.Add(int64(b.Events))
	return err
}

func (discardSink) Close(context.Context) error { return nil }

func init() {
	sinks.MustRegister(sinks.Registration{
		Type:       "discard",
		NewOptions: func() sinks.Options { return &discardOptions{} },
		New:        func(string, sinks.Options) (sinks.Sink, error) { return discardSink{}, nil },
	})
}

// engineYAML is the benchmark engine's config; the sink's max_events and max_bytes are filled
// in. queue_size is raised from the default 4096 because with one P the handler loop runs a
// whole 10ms time slice before the shard worker it woke gets the processor, and at about a
// microsecond per one-event request that is some 10000 requests.
const engineYAML = `
server:
  queue_size: 65536
  ack: memory
tokens:
  - name: bench
    token: "` + benchToken + `"
    streams: ["` + benchStream + `"]
streams:
  - id: "` + benchStream + `"
    name: payments
    sinks: [discard]
sinks:
  - name: discard
    type: discard
    batch: {max_events: %d, max_bytes: %d, max_age: 50ms}
`

// startEngine builds an engine with the discard sink and shuts it down when tb ends.
func startEngine(tb testing.TB, maxEvents, maxBytes int) *core.Engine {
	tb.Helper()
	return startEngineConfig(tb, fmt.Appendf(nil, engineYAML, maxEvents, maxBytes))
}

// startEngineConfig builds an engine from a YAML config and shuts it down when tb ends.
func startEngineConfig(tb testing.TB, yml []byte) *core.Engine {
	tb.Helper()
	cfg, err := config.Parse(yml, "bench.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := core.New(context.Background(), cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return eng
}

// waitCount returns when count reaches want. It first yields, which is enough when the shard
// worker only needs the processor, then sleeps between checks, as a batch waiting for its
// max_age needs time instead; spinning there would only blur CPU profiles. It allocates
// nothing, so the allocation test can use it too.
func waitCount(tb testing.TB, count func() int64, want int64) {
	tb.Helper()
	for range 1000 {
		if count() >= want {
			return
		}
		runtime.Gosched()
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d events written after 10s", count(), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// workload is one kind of request the benchmarks send again and again.
type workload struct {
	name        string // the sub-benchmark's name
	contentType string
	encoding    string // Content-Encoding; "" for none
	body        []byte // as sent
	decoded     int    // size of the decoded body, what ingested_bytes reports
	events      int
}

var workloads = sync.OnceValue(func() []workload {
	ndjson := func(events [][]byte) []byte {
		var b []byte
		for _, ev := range events {
			b = append(append(b, ev...), '\n')
		}
		return b
	}
	hundred := makeEvents(100)
	array := append(append([]byte{'['}, bytes.Join(hundred, []byte{','})...), ']')
	lines := ndjson(hundred)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	if _, err := zw.Write(lines); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	single := makeEvents(1)[0]
	return []workload{
		{"format:json/batch:1", "application/json", "", single, len(single), 1},
		{"format:json/batch:100", "application/json", "", array, len(array), 100},
		{"format:ndjson/batch:100", "application/x-ndjson", "", lines, len(lines), 100},
		{"format:ndjson/batch:100/encoding:gzip", "application/x-ndjson", "gzip", zipped.Bytes(), len(lines), 100},
	}
})

// makeEvents returns n events of about 500 bytes shaped like a payment service's, each a
// little different. Every tenth has no timestamp, so the engine fills it in, every seventh
// gives its zone as an offset, and in every tenth the message leaks a card number, which the
// pipeline benchmark's mask step hashes.
func makeEvents(n int) [][]byte {
	statuses := []string{"approved", "approved", "declined", "approved", "pending"}
	currencies := []string{"USD", "EUR", "GBP", "JPY"}
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	paths := []string{"/api/v2/payments", "/api/v2/payments/capture", "/api/v2/refunds"}
	agents := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36",
		"okhttp/4.12.0",
	}
	events := make([][]byte, n)
	for i := range events {
		var b []byte
		b = append(b, '{')
		switch {
		case i%10 == 9:
		case i%7 == 3:
			b = fmt.Appendf(b, `"timestamp":"2025-02-12T16:%02d:%02d.%03d+02:00",`, i/60%60, i%60, i*37%1000)
		default:
			b = fmt.Appendf(b, `"timestamp":"2025-02-12T14:%02d:%02dZ",`, 32+i/60%28, (15+i)%60)
		}
		b = fmt.Appendf(b, `"source":"payments-app","event":{"transactionId":"txn_%05d","status":%q,`+
			`"latency_ms":%d,"amount":%d.%02d,"currency":%q,"card_last4":"%04d","user_agent":%q,`+
			`"client_ip":"10.%d.%d.%d","path":%q,"region":%q,"retry":%t,`+
			`"message":"payment %s for order ord_%06d after %d ms%s"},`+
			`"metadata":{"env":"prod","team":"payments","host":"pay-%02d","version":"2.14.%d"}}`,
			30921+i, statuses[i%len(statuses)],
			120+i*13%400, 5+i*97%2000, i*7%100, currencies[i%len(currencies)], 1000+i*7919%9000, agents[i%len(agents)],
			i%4, i*3%256, 1+i*11%254, paths[i%len(paths)], regions[i%len(regions)], i%6 == 5,
			statuses[i%len(statuses)], 400000+i*31, 120+i*13%400, leak(i),
			i%12, i%5)
		events[i] = b
	}
	return events
}

var benchRemoteAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 51234}

// requestCtx returns a request context that carries w, ready for Engine.Handler; reset its
// Response between calls.
func (w *workload) requestCtx() *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(core.IngestPath)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("X-Stream-Id", benchStream)
	req.Header.SetContentType(w.contentType)
	if w.encoding != "" {
		req.Header.Set("Content-Encoding", w.encoding)
	}
	req.SetBody(w.body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, benchRemoteAddr, nil)
	return ctx
}

var ingestURL = &url.URL{Path: core.IngestPath}

// header returns the request headers of w for Baseline.
func (w *workload) header() http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+benchToken)
	h.Set("X-Stream-Id", benchStream)
	h.Set("Content-Type", w.contentType)
	if w.encoding != "" {
		h.Set("Content-Encoding", w.encoding)
	}
	return h
}

// httpRequest returns a new request that carries w with the headers h. Baseline only reads
// h, so calls may share it.
func (w *workload) httpRequest(h http.Header) *http.Request {
	return &http.Request{
		Method:        http.MethodPost,
		URL:           ingestURL,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(w.body)),
		ContentLength: int64(len(w.body)),
		Host:          "ingestd.test",
		RemoteAddr:    benchRemoteAddr.String(),
	}
}

// leak is what event i's message ends with: a card number in one event of ten.
func leak(i int) string {
	if i%10 == 4 {
		return ", card 4111 1111 1111 1111"
	}
	return ""
}
