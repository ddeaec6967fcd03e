// Command loadtest measures how many events per second an ingestd takes, with vegeta.
//
// By default it starts the binary given with -bin on a throw-away config (one token, one
// stream, a file sink with fsync "none" in a temporary directory, or with -sink stdout a stdout
// sink whose output goes to /dev/null), waits for /readyz, runs two
// attacks, then stops the server with SIGTERM and checks that it exits 0:
//
//	a) max rate: -workers concurrent requests for -max-duration, each sent as soon as the last
//	   one returned; events/s = successful requests/s x -batch;
//	b) constant rate: -ratio (70%) of run a's request rate for -duration. Any answer other
//	   than 200 in this run makes loadtest exit 1.
//
// Every request is a POST of -batch NDJSON events of about 500 bytes each, shaped like the
// seed event that ingestd prints on its default config. On a small machine the load generator
// and the server share the CPUs, so the max rate is a lower bound of what ingestd can do alone.
//
// Usage:
//
//	go run ./bench/loadtest -bin bin/ingestd                           (what make loadtest runs)
//	go run ./bench/loadtest -target http://127.0.0.1:8080 -token T -stream S
//
// Flags:
//
//	-bin PATH            ingestd binary to start (default bin/ingestd); ignored with -target
//	-target URL          drive an ingestd that is already running at URL instead
//	-token T             bearer token for -target
//	-stream S            stream id for -target
//	-batch N             events per request (default 100)
//	-workers N           concurrent requests in run a (default 64)
//	-max-workers N       most concurrent requests in run b (default 256)
//	-max-duration D      length of run a (default 10s)
//	-duration D          length of run b (default 10s)
//	-ratio F             run b's rate as a fraction of run a's (default 0.7)
//	-timeout D           per-request timeout (default 10s)
//	-bodies N            distinct request bodies, sent in turn (default 16)
//	-server-cpu N        run the started server on CPU N alone (taskset: Go then picks
//	                     GOMAXPROCS=1, which ingestd raises to 2 under ack: disk) and the load
//	                     generator on the other CPUs (default -1: no pinning); make loadtest uses
//	                     1 on machines with two or more CPUs
//	-sink file|stdout    the started server's sink (default file; stdout measures the engine
//	                     without the disk)
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/sys/unix"
)

type options struct {
	bin, target, token, stream string
	batch, workers, maxWorkers int
	bodies                     int
	maxDuration, duration      time.Duration
	timeout                    time.Duration
	ratio                      float64
	sink                       string
	serverCPU                  int
	pipeline                   bool
	ack                        string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/ingestd", "ingestd binary to start; ignored with -target")
	flag.StringVar(&o.target, "target", "", "base URL of a running ingestd to drive instead of starting one")
	flag.StringVar(&o.token, "token", "", "bearer token, with -target")
	flag.StringVar(&o.stream, "stream", "", "stream id, with -target")
	flag.IntVar(&o.batch, "batch", 100, "events per request")
	flag.IntVar(&o.workers, "workers", 64, "concurrent requests in the max-rate run")
	flag.IntVar(&o.maxWorkers, "max-workers", 256, "most concurrent requests in the constant-rate run")
	flag.IntVar(&o.bodies, "bodies", 16, "distinct request bodies, sent in turn")
	flag.DurationVar(&o.maxDuration, "max-duration", 10*time.Second, "length of the max-rate run")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of the constant-rate run")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.Float64Var(&o.ratio, "ratio", 0.7, "constant-rate run's rate as a fraction of the max rate")
	flag.StringVar(&o.sink, "sink", "file", `sink of the started server: "file" (NDJSON files, fsync none: measures the disk too) or "stdout" (written to /dev/null: measures the engine alone)`)
	flag.StringVar(&o.ack, "ack", "disk", `server.ack of the started server: "disk" (the default: every request fsync'd in the write-ahead log), "memory" or "delivered"`)
	flag.BoolVar(&o.pipeline, "pipeline", false, "give the started server's stream the reference pipeline of BenchmarkPipeline: enrich (2 fields), mask (card detector, hash mode), two routes, one keyed sample")
	flag.IntVar(&o.serverCPU, "server-cpu", -1, "pin the started server to this CPU (taskset) and the load generator to the other CPUs, so they do not compete; -1 = no pinning")
	flag.Parse()
	if o.sink != "file" && o.sink != "stdout" {
		fmt.Fprintln(os.Stderr, `loadtest: -sink must be "file" or "stdout"`)
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(o options, out io.Writer) error {
	switch {
	case o.batch < 1 || o.workers < 1 || o.maxWorkers < 1 || o.bodies < 1:
		return errors.New("-batch, -workers, -max-workers and -bodies must be at least 1")
	case o.maxDuration <= 0 || o.duration <= 0 || o.timeout <= 0:
		return errors.New("-max-duration, -duration and -timeout must be positive")
	case !(o.ratio > 0 && o.ratio <= 1):
		return errors.New("-ratio must be in (0, 1]")
	case o.target != "" && (o.token == "" || o.stream == ""):
		return errors.New("-target needs -token and -stream")
	}

	var srv *server
	if o.target == "" {
		var err error
		if srv, err = startServer(o.bin, o.sink, o.ack, o.pipeline, o.serverCPU); err != nil {
			return err
		}
		defer srv.cleanup()
		o.target, o.token, o.stream = "http://"+srv.addr, srv.token, srv.stream
		fmt.Fprintf(out, "ingestd %s on %s, sink in %s\n", o.bin, srv.addr, srv.dir)
	}
	if err := waitReady(o.target, 10*time.Second); err != nil {
		return err
	}

	tr, eventBytes := targeter(o)
	fmt.Fprintf(out, "requests of %d NDJSON events, %d bytes each (%.0f bytes per event)\n\n",
		o.batch, eventBytes, float64(eventBytes)/float64(o.batch))

	a := attack(vegeta.NewAttacker(vegeta.Workers(uint64(o.workers)), vegeta.MaxWorkers(uint64(o.workers)),
		vegeta.Connections(o.workers), vegeta.Timeout(o.timeout)),
		tr, vegeta.ConstantPacer{}, o.maxDuration, "max-rate")
	a.print(out, fmt.Sprintf("run a: max rate, %d workers, %v", o.workers, o.maxDuration), o.batch)
	if a.ok == 0 {
		return errors.New("run a had no successful request; not starting run b")
	}

	rate := max(int(a.okRate()*o.ratio), 1)
	b := attack(vegeta.NewAttacker(vegeta.MaxWorkers(uint64(o.maxWorkers)), vegeta.Connections(o.maxWorkers),
		vegeta.Timeout(o.timeout)),
		tr, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, o.duration, "constant-rate")
	b.print(out, fmt.Sprintf("run b: constant rate %d requests/s (%.0f%% of run a), %v", rate, o.ratio*100, o.duration), o.batch)

	var errs []error
	if n := b.m.Requests - b.ok; n > 0 {
		errs = append(errs, fmt.Errorf("run b: %d of %d requests were not answered 200", n, b.m.Requests))
	}
	if srv != nil {
		if err := srv.stop(30 * time.Second); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintln(out, "ingestd stopped on SIGTERM with exit code 0")
		}
	}
	return errors.Join(errs...)
}

// targeter returns a Targeter that sends pre-built bodies in turn, and the size of one body.
func targeter(o options) (vegeta.Targeter, int) {
	bodies := make([][]byte, o.bodies)
	seq := 0
	for i := range bodies {
		var b []byte
		for range o.batch {
			seq++
			b = appendEvent(b, seq)
		}
		bodies[i] = b
	}
	header := http.Header{
		"Authorization": {"Bearer " + o.token},
		"Content-Type":  {"application/x-ndjson"},
		"X-Stream-Id":   {o.stream},
	}
	url := o.target + "/v1/streams/ingest"
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = http.MethodPost, url, header
		t.Body = bodies[next.Add(1)%uint64(len(bodies))]
		return nil
	}, len(bodies[0])
}

// appendEvent appends one line of about 500 bytes: the seed event's shape with more detail.
func appendEvent(b []byte, seq int) []byte {
	return fmt.Appendf(b, `{"timestamp":"2025-02-12T14:32:%02d.%03dZ","source":"payments-app",`+
		`"event":{"transactionId":"txn_%09d","status":"approved","latency_ms":%d,"amount":%d,"currency":"USD",`+
		`"merchant":{"id":"m_%05d","name":"Corner Coffee"},`+
		`"card":{"brand":"visa","last4":"%04d"},"items":[{"sku":"esp-dbl","qty":2,"price":350},`+
		`{"sku":"crois-al","qty":1,"price":425}],"note":"contactless"},`+
		`"metadata":{"env":"prod","team":"payments","region":"us-east-1","host":"pay-worker-%02d",`+
		`"trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x"}}`+"\n",
		seq%60, seq%1000, seq, 20+seq%300, 100+seq%9000, seq%100000, seq%10000, seq%32, seq%0x10000)
}

// result is one attack's outcome.
type result struct {
	m  vegeta.Metrics
	ok uint64 // answers with status 200 exactly
}

func attack(atk *vegeta.Attacker, tr vegeta.Targeter, p vegeta.Pacer, d time.Duration, name string) *result {
	r := &result{}
	for res := range atk.Attack(tr, p, d, name) {
		r.m.Add(res)
		if res.Code == http.StatusOK {
			r.ok++
		}
	}
	r.m.Close()
	return r
}

// okRate is successful requests per second, over the run and the wait for its last answers.
func (r *result) okRate() float64 {
	secs := (r.m.Duration + r.m.Wait).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(r.ok) / secs
}

func (r *result) print(w io.Writer, title string, batch int) {
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "  requests    %d (%.1f/s)\n", r.m.Requests, r.m.Rate)
	success := 0.0
	if r.m.Requests > 0 {
		success = float64(r.ok) / float64(r.m.Requests)
	}
	fmt.Fprintf(w, "  success     %.2f%% answered 200\n", success*100)
	codes := make([]string, 0, len(r.m.StatusCodes))
	for code := range r.m.StatusCodes {
		if code != "200" {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	fmt.Fprint(w, "  non-200    ")
	if len(codes) == 0 {
		fmt.Fprint(w, " none")
	}
	for _, code := range codes {
		label := code
		if code == "0" {
			label = "no answer"
		}
		fmt.Fprintf(w, " %s: %d", label, r.m.StatusCodes[code])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  events/s    %.0f\n", r.okRate()*float64(batch))
	l := r.m.Latencies
	fmt.Fprintf(w, "  latency     p50 %v  p99 %v  max %v\n", l.P50, l.P99, l.Max)
	for i, e := range r.m.Errors {
		if i == 5 {
			fmt.Fprintf(w, "  ... %d more distinct errors\n", len(r.m.Errors)-i)
			break
		}
		fmt.Fprintf(w, "  error       %s\n", e)
	}
	fmt.Fprintln(w)
}

// server is an ingestd started by loadtest.
type server struct {
	cmd           *exec.Cmd
	dir           string
	addr          string
	token, stream string
	stderr        syncBuffer
	done          chan struct{}
}

const loadStream = "loadtest"

var readyLine = regexp.MustCompile(`msg="ingestd ready".* listen=(\S+)`)

// streamPipeline is the stream's routing: every event to the sink, or with the reference
// pipeline, its processors and two routes, both to the sink.
func streamPipeline(pipeline bool) string {
	if !pipeline {
		return "    sinks: [out]"
	}
	return `    processors:
      - {type: enrich, set: {metadata.region: "eu-west-1", metadata.pipeline: "ingestd"}}
      - {type: mask, fields: [event.note], detectors: [credit_card], mode: hash, key: "loadtest-mask-key-0123456789"}
    routes:
      - {name: big, when: 'event.status == "declined" && event.amount > 1000', to: [out], final: true}
      - {name: prod-sampled, when: 'metadata.env in ["prod", "staging"]', sample: {rate: 0.5, key: event.transactionId}, to: [out]}
    default: [out]`
}

func startServer(bin, sink, ack string, pipeline bool, cpu int) (*server, error) {
	dir, err := os.MkdirTemp("", "ingestd-loadtest-")
	if err != nil {
		return nil, err
	}
	var secret [16]byte
	rand.Read(secret[:])
	s := &server{dir: dir, token: hex.EncodeToString(secret[:]), stream: loadStream, done: make(chan struct{})}
	cfg := fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  ack: %s
  wal: {dir: %q}
tokens:
  - name: loadtest
    token: %q
    streams: [%q]
streams:
  - id: %q
%s
sinks:
`, ack, filepath.Join(dir, "wal"), s.token, loadStream, loadStream, streamPipeline(pipeline))
	if sink == "stdout" {
		cfg += "  - {name: out, type: stdout}\n"
	} else {
		cfg += fmt.Sprintf("  - {name: out, type: file, fsync: none, path: %q}\n", filepath.Join(dir, "data", "{stream}", "events-{date}.ndjson"))
	}
	path := filepath.Join(dir, "ingestd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve", "--config", path)
	if cpu >= 0 {
		if err := pin(s.cmd, cpu); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m := readyLine.FindStringSubmatch(s.stderr.String()); m != nil {
			s.addr = m[1]
			return s, nil
		}
		select {
		case <-s.done:
			s.cleanup()
			return nil, fmt.Errorf("ingestd exited before it was ready (%v):\n%s", s.cmd.ProcessState, s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.cleanup()
			return nil, fmt.Errorf("ingestd did not log its address within 10s:\n%s", s.stderr.String())
		}
	}
}

// stop sends SIGTERM and waits for exit code 0.
func (s *server) stop(within time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.done:
	case <-time.After(within):
		return fmt.Errorf("ingestd did not exit within %v of SIGTERM", within)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("ingestd exited with code %d after SIGTERM:\n%s", code, s.stderr.String())
	}
	return nil
}

// cleanup kills the server if it still runs and removes its directory, events included.
func (s *server) cleanup() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

func waitReady(base string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/readyz did not answer 200 within %v (last: %s)", base, within, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// syncBuffer collects the server's log while it runs.
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

// pin makes cmd run on CPU cpu alone with one P, and moves this process to every other CPU.
func pin(cmd *exec.Cmd, cpu int) error {
	n := runtime.NumCPU()
	if cpu >= n || n < 2 {
		return fmt.Errorf("-server-cpu %d needs at least two CPUs and a CPU number below %d", cpu, n)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return fmt.Errorf("-server-cpu needs taskset (util-linux): %w", err)
	}
	cmd.Args = append([]string{taskset, "-c", strconv.Itoa(cpu)}, cmd.Args...)
	cmd.Path = taskset
	var rest unix.CPUSet
	for i := 0; i < n; i++ {
		if i != cpu {
			rest.Set(i)
		}
	}
	// Affinity is per thread on Linux: set it on every thread the runtime has started so far;
	// threads started later inherit it from their creator.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &rest); err != nil {
			return fmt.Errorf("pinning the load generator: %w", err)
		}
	}
	return nil
}
