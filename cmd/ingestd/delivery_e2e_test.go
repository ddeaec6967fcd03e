package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ingestd/ingestd/wal"
)

// receiver stands for a webhook destination (the http sink's receiving end), scripted by the
// test: answer decides each POST's status and headers from its NDJSON lines; accepted lines are
// kept by event id, and every post is logged with its times, for checking the sender's waits.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	answer  func(lines []string) (status int, header http.Header)
	got     map[string]int // event id -> times received in accepted posts
	sizes   []int          // lines per accepted post
	posts   []post
	stalled bool          // posts wait, unanswered, until their sender gives up
	stalls  int           // posts that did
	quit    chan struct{} // closed at the end of the test: stalled posts return
}

// post is one POST the receiver answered.
type post struct {
	batch      string    // the first event's id: the same in every attempt to send a batch
	arrived    time.Time // before its body was read
	answered   time.Time // before its status was written
	status     int
	retryAfter time.Duration // what the answer's Retry-After asked for
}

func newReceiver(t *testing.T, answer func([]string) (int, http.Header)) *receiver {
	r := &receiver{answer: answer, got: map[string]int{}, quit: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived := time.Now()
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return // the sender gave up mid-body
		}
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		r.mu.Lock()
		if r.stalled {
			r.stalls++
			r.mu.Unlock()
			select {
			case <-req.Context().Done():
			case <-r.quit:
			}
			return
		}
		defer r.mu.Unlock()
		status, h := r.answer(lines)
		wait, _ := strconv.Atoi(h.Get("Retry-After"))
		r.posts = append(r.posts, post{batch: eventID(t, lines[0]), arrived: arrived, answered: time.Now(),
			status: status, retryAfter: time.Duration(wait) * time.Second})
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		if status != http.StatusOK {
			return
		}
		r.sizes = append(r.sizes, len(lines))
		for _, l := range lines {
			r.got[eventID(t, l)]++
		}
	}))
	t.Cleanup(func() {
		close(r.quit)
		r.Close()
	})
	return r
}

func (r *receiver) setAnswer(a func([]string) (int, http.Header)) {
	r.mu.Lock()
	r.answer = a
	r.mu.Unlock()
}

// stall makes the webhook hang: each post from now on waits for its sender to give up, and
// none of its events counts as received.
func (r *receiver) stall(on bool) {
	r.mu.Lock()
	r.stalled = on
	r.mu.Unlock()
}

func (r *receiver) stalledPosts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stalls
}

func (r *receiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

// retriesWaited checks that no batch came again sooner than the Retry-After its previous
// attempt was answered with, and returns how many retries it checked. The sender learns of the
// answer after it was decided and sends the retry before it arrives, so the gap measured here
// is shorter than the wait the sender kept: any jitter may only lengthen it.
func (r *receiver) retriesWaited(t *testing.T) (checked int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[string]post{}
	for _, p := range r.posts {
		if prev, ok := last[p.batch]; ok && prev.retryAfter > 0 {
			checked++
			if gap := p.arrived.Sub(prev.answered); gap < prev.retryAfter {
				t.Errorf("batch %s came again %v after a %d answer with Retry-After %v", p.batch, gap, prev.status, prev.retryAfter)
			}
		}
		last[p.batch] = p
	}
	return checked
}

func ok([]string) (int, http.Header) { return http.StatusOK, nil }

func eventID(t *testing.T, line string) string {
	var ev struct {
		Event struct{ ID string } `json:"event"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Errorf("not an event: %v: %q", err, line)
	}
	return ev.Event.ID
}

// hookConfig routes stream streamA to the http sink "hook" (the receiver) and to the file sink
// "local" beside it.
func hookConfig(dir, url string, maxAge string) string {
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  grace_period: 10s
tokens:
  - {name: star, token: %q, streams: ["*"]}
streams:
  - {id: %q, name: orders, sinks: [hook, local]}
sinks:
  - name: hook
    type: http
    url: %q
    batch: {max_events: 40, max_age: %s}
    buffer: {max_batches: 10000}
    retry: {initial_backoff: 20ms, max_backoff: 200ms}
    dead_letter: {dir: %q}
  - name: local
    type: file
    path: %q
    batch: {max_events: 40, max_age: 20ms}
`, starToken, streamA, url, maxAge, filepath.Join(dir, "dlq"), filepath.Join(dir, "local", "{stream}.ndjson"))
}

// load is what sendLoadN's clients saw.
type load struct {
	accepted map[string]bool // ids of events answered 200
	unknown  map[string]bool // ids of events whose request failed without an answer: stored or not
	statuses map[int]int     // answers by status
}

// sendLoad sends 5-event requests from two clients until stop closes, and returns what they saw.
func sendLoad(t *testing.T, addr, tag string, stop chan struct{}) func() load {
	return sendLoadN(t, addr, tag, 2, false, stop)
}

// sendLoadN is sendLoad with n clients; with untilDown a failed connection ends a client quietly
// (the server is going or gone) instead of failing the test. Every answer must be 200 or 503:
// anything else is an error.
func sendLoadN(t *testing.T, addr, tag string, n int, untilDown bool, stop chan struct{}) func() load {
	var mu sync.Mutex
	res := load{accepted: map[string]bool{}, unknown: map[string]bool{}, statuses: map[int]int{}}
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var body bytes.Buffer
				ids := make([]string, 5)
				for j := range ids {
					ids[j] = fmt.Sprintf("%s-%d-%d-%d", tag, c, i, j)
					fmt.Fprintf(&body, `{"source":"e2e","event":{"id":%q,"note":"order %d"}}`+"\n", ids[j], i)
				}
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/streams/ingest", &body)
				req.Header.Set("Authorization", "Bearer "+starToken)
				req.Header.Set("X-Stream-Id", streamA)
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := client.Do(req)
				var answer []byte
				if err == nil {
					answer, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				switch {
				case err != nil:
					for _, id := range ids {
						res.unknown[id] = true
					}
				case resp.StatusCode == http.StatusOK:
					for _, id := range ids {
						res.accepted[id] = true
					}
				case resp.StatusCode != http.StatusServiceUnavailable:
					t.Errorf("answered %d: %s", resp.StatusCode, answer)
				}
				if err == nil {
					res.statuses[resp.StatusCode]++
				}
				mu.Unlock()
				if err != nil {
					if !untilDown {
						t.Error(err)
					}
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return func() load {
		wg.Wait()
		return res
	}
}

func fileIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]int{}
		}
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ids[eventID(t, sc.Text())]++
	}
	return ids
}

func exactlyOnce(t *testing.T, what string, accepted map[string]bool, got map[string]int) {
	t.Helper()
	missing, dup := 0, 0
	for id := range accepted {
		switch got[id] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 || len(got) != len(accepted) {
		t.Errorf("%s: %d accepted, %d stored; %d missing, %d duplicated", what, len(accepted), len(got), missing, dup)
	}
}

// TestEndToEndOutage: the webhook answers 503, then 429 with Retry-After, then recovers, and the
// config is reloaded in the middle of the outage. Nothing accepted is lost or duplicated; the
// file sink of the same stream kept receiving events in every phase; and no batch was sent to
// the webhook again before the Retry-After it was answered with had passed.
func TestEndToEndOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rcv := newReceiver(t, func([]string) (int, http.Header) { return http.StatusServiceUnavailable, nil })
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, hookConfig(dir, rcv.URL, "30ms"))
	p := startIngestd(t, dir, nil, "--config", cfgPath)
	local := filepath.Join(dir, "local", "orders.ndjson")

	stop := make(chan struct{})
	wait := sendLoad(t, p.addr, "out", stop)
	grows := growth(t, local)
	grows("503 phase", 450*time.Millisecond)
	// A reload in the middle of the outage: the old sink instance keeps its undelivered batches.
	writeFile(t, cfgPath, hookConfig(dir, rcv.URL, "40ms"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	grows("503 phase, after the reload", 300*time.Millisecond)
	rcv.setAnswer(func([]string) (int, http.Header) {
		return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
	})
	// Longer than the Retry-After, so that some batches are answered 429 twice.
	grows("429 phase", 1350*time.Millisecond)
	rcv.setAnswer(ok)
	grows("recovery", 450*time.Millisecond)
	close(stop)
	accepted := wait().accepted
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), `msg="config reloaded"`) })
	p.stop()
	p.wantExit(0, 15*time.Second)

	if len(accepted) == 0 {
		t.Fatal("nothing was accepted")
	}
	exactlyOnce(t, "webhook", accepted, rcv.counts())
	exactlyOnce(t, "file sink", accepted, fileIDs(t, local))
	if !strings.Contains(p.stderr.String(), "retrying") {
		t.Error("no retry was logged during the outage")
	}
	if n := rcv.retriesWaited(t); n == 0 {
		t.Error("no batch answered with a Retry-After was seen again")
	}
}

// growth returns a check that the file sink's file at path keeps growing: for the given time,
// every 150ms, it must hold more complete lines than at the last look.
func growth(t *testing.T, path string) func(phase string, d time.Duration) {
	const every = 150 * time.Millisecond
	last, err := fileCount(path)
	if err != nil {
		t.Fatal(err)
	}
	return func(phase string, d time.Duration) {
		t.Helper()
		for range d / every {
			time.Sleep(every)
			n, err := fileCount(path)
			if err != nil {
				t.Fatal(err)
			}
			if n <= last {
				t.Errorf("%s: the file sink gained nothing in %v (still %d lines)", phase, every, n)
			}
			last = n
		}
	}
}

// TestEndToEndTooLarge: the webhook refuses bodies of more than 7 events with 413; batches are
// split until they fit, and every event arrives once.
func TestEndToEndTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rcv := newReceiver(t, func(lines []string) (int, http.Header) {
		if len(lines) > 7 {
			return http.StatusRequestEntityTooLarge, nil
		}
		return http.StatusOK, nil
	})
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, hookConfig(dir, rcv.URL, "30ms"))
	p := startIngestd(t, dir, nil, "--config", cfgPath)
	stop := make(chan struct{})
	wait := sendLoad(t, p.addr, "big", stop)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	accepted := wait().accepted
	p.stop()
	p.wantExit(0, 15*time.Second)
	exactlyOnce(t, "webhook", accepted, rcv.counts())
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, n := range rcv.sizes {
		if n > 7 {
			t.Fatalf("the webhook accepted a post of %d events", n)
		}
	}
}

// TestEndToEndDeadLetterReplay: the webhook refuses batches holding a "poison" event with 400;
// they go to the dead-letter queue, and once the webhook is fixed `ingestd dlq replay` delivers
// them, once.
func TestEndToEndDeadLetterReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	poisoned := func(lines []string) (int, http.Header) {
		for _, l := range lines {
			if strings.Contains(l, "poison") {
				return http.StatusBadRequest, nil
			}
		}
		return http.StatusOK, nil
	}
	rcv := newReceiver(t, poisoned)
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, hookConfig(dir, rcv.URL, "20ms"))
	p := startIngestd(t, dir, nil, "--config", cfgPath)
	send := func(body string) {
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/v1/streams/ingest", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+starToken)
		req.Header.Set("X-Stream-Id", streamA)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("ingest: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	send(`{"source":"e2e","event":{"id":"p1","note":"poison"}}` + "\n" + `{"source":"e2e","event":{"id":"p2","note":"fine"}}`)
	time.Sleep(200 * time.Millisecond)
	send(`{"source":"e2e","event":{"id":"h1","note":"fine"}}`)
	waitFor(t, func() bool { return rcv.counts()["h1"] == 1 })
	p.stop()
	p.wantExit(0, 15*time.Second)
	if c := rcv.counts(); c["p1"] != 0 || c["p2"] != 0 {
		t.Fatalf("the refused batch reached the webhook: %v", c)
	}

	rcv.setAnswer(ok)
	code, stdout, stderr := runIngestd(t, dir, nil, "dlq", "replay", "--config", cfgPath, "--sink", "hook")
	if code != 0 || !strings.Contains(stdout, "2 event(s) re-sent") {
		t.Fatalf("dlq replay: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	c := rcv.counts()
	if c["p1"] != 1 || c["p2"] != 1 || c["h1"] != 1 {
		t.Fatalf("after replay the webhook holds %v", c)
	}
	code, stdout, _ = runIngestd(t, dir, nil, "dlq", "replay", "--config", cfgPath, "--sink", "hook")
	if code != 0 || !strings.Contains(stdout, "0 event(s) re-sent") {
		t.Fatalf("a second replay: exit %d, %s", code, stdout)
	}
}

// TestEndToEndWalTools checks `ingestd wal inspect` and `wal verify` on a log written by the
// wal package, then on the same log with a byte flipped in a record.
func TestEndToEndWalTools(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logDir := filepath.Join(dir, "wal")
	l, err := wal.Open(logDir, wal.Options{Consumers: []string{"hook"}})
	if err != nil {
		t.Fatal(err)
	}
	var last wal.Position
	for i := range 3 {
		if last, err = l.Append(context.Background(), []byte(fmt.Sprintf(`{"record":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Ack("hook", last); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runIngestd(t, dir, nil, "wal", "verify", "--dir", logDir)
	if code != 0 || stdout != logDir+": ok\n" {
		t.Fatalf("verify: %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = runIngestd(t, dir, nil, "wal", "inspect", "--dir", logDir)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("checkpoint hook: %d", last)) || !strings.Contains(stdout, ".wal") ||
		!strings.Contains(stdout, fmt.Sprintf("log id %016x\n", l.ID())) {
		t.Fatalf("inspect: %d\n%s", code, stdout)
	}
	segs, _ := filepath.Glob(filepath.Join(logDir, "*.wal"))
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-3] ^= 0xff // inside the last record's payload
	writeFile(t, segs[0], string(data))
	code, _, stderr = runIngestd(t, dir, nil, "wal", "verify", "--dir", logDir)
	if code != 1 || !strings.Contains(stderr, filepath.Base(segs[0])) {
		t.Fatalf("verify of a damaged log: exit %d, %q", code, stderr)
	}
}

// diskConfig is hookConfig's world with ack: disk: a write-ahead log under dir, and the webhook
// and a file sink beside it, each with its own checkpoint in the log.
func diskConfig(dir, url, grace string) string {
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  grace_period: %s
  ack: disk
  wal: {dir: %q}
tokens:
  - {name: star, token: %q, streams: ["*"]}
streams:
  - {id: %q, name: orders, sinks: [hook, local]}
sinks:
  - name: hook
    type: http
    url: %q
    batch: {max_events: 40, max_age: 20ms}
    buffer: {max_batches: 100000}
    retry: {initial_backoff: 20ms, max_backoff: 200ms}
  - name: local
    type: file
    path: %q
    batch: {max_events: 40, max_age: 20ms}
    buffer: {max_batches: 100000}
`, grace, filepath.Join(dir, "wal"), starToken, streamA, url, filepath.Join(dir, "local", "{stream}.ndjson"))
}

func atLeastOnce(t *testing.T, what string, accepted map[string]bool, got map[string]int) {
	t.Helper()
	missing, dup := 0, 0
	for id := range accepted {
		if got[id] == 0 {
			missing++
		}
	}
	for _, n := range got {
		if n > 1 {
			dup += n - 1
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of %d events answered 200 never arrived", what, missing, len(accepted))
	}
	t.Logf("%s: %d events answered 200, all delivered; %d duplicates (delivered after its last persisted checkpoint)", what, len(accepted), dup)
}

// TestEndToEndCrash: under ack: disk, ingestd is killed with SIGKILL while four clients send;
// after a restart on the same log, every event that got a 200 reaches the webhook.
func TestEndToEndCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rcv := newReceiver(t, ok)
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, diskConfig(dir, rcv.URL, "10s"))
	p := startIngestd(t, dir, nil, "--config", cfgPath)
	stop := make(chan struct{})
	wait := sendLoadN(t, p.addr, "crash", 4, true, stop)
	time.Sleep(700 * time.Millisecond)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	accepted := wait().accepted
	if len(accepted) == 0 {
		t.Fatal("nothing was accepted before the crash")
	}

	p2 := startIngestd(t, dir, nil, "--config", cfgPath)
	waitFor(t, func() bool {
		got := rcv.counts()
		for id := range accepted {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	p2.stop()
	p2.wantExit(0, 15*time.Second)
	atLeastOnce(t, "webhook", accepted, rcv.counts())
	atLeastOnce(t, "file sink", accepted, fileIDs(t, filepath.Join(dir, "local", "orders.ndjson")))
}

// TestEndToEndShutdownKeepsUndelivered: under ack: disk the webhook stops answering while four
// clients send, and ingestd gets SIGTERM while they still do. It exits 0 within its grace period
// (what the webhook did not take stays in the write-ahead log); every answer was 200 or 503; and
// after a restart with the webhook healthy, every event answered 200 reaches it, while the file
// sink beside it, which kept up, gets nothing twice.
func TestEndToEndShutdownKeepsUndelivered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rcv := newReceiver(t, ok)
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	const grace = time.Second
	writeFile(t, cfgPath, diskConfig(dir, rcv.URL, grace.String()))
	p := startIngestd(t, dir, nil, "--config", cfgPath)
	stop := make(chan struct{})
	wait := sendLoadN(t, p.addr, "slow", 4, true, stop)
	waitFor(t, func() bool { return len(rcv.counts()) > 0 })
	// From now on every batch sticks at the webhook, so events answered 200 are still
	// undelivered when the grace period ends, however fast the machine: nothing to skip.
	rcv.stall(true)
	waitFor(t, func() bool { return rcv.stalledPosts() > 0 })
	time.Sleep(200 * time.Millisecond)
	signalled := time.Now()
	p.stop()
	select {
	case <-p.done:
	case <-time.After(grace + 10*time.Second):
		t.Fatal("ingestd did not exit after SIGTERM")
	}
	took := time.Since(signalled)
	if took > grace+2*time.Second {
		t.Errorf("shutdown took %v with a grace period of %v", took, grace)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0: the undelivered events are safe in the log", code)
	}
	close(stop)
	res := wait()
	t.Logf("exited after %v; answers: %v; %d events of requests left without an answer", took, res.statuses, len(res.unknown))
	if len(res.accepted) == 0 {
		t.Fatal("nothing was accepted before the shutdown")
	}
	missing := 0
	before := rcv.counts()
	for id := range res.accepted {
		if before[id] == 0 {
			missing++
		}
	}
	if missing == 0 {
		t.Fatal("every accepted event reached the stalled webhook before the restart")
	}

	rcv.stall(false)
	p2 := startIngestd(t, dir, nil, "--config", cfgPath)
	waitFor(t, func() bool {
		got := rcv.counts()
		for id := range res.accepted {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	p2.stop()
	p2.wantExit(0, 15*time.Second)
	atLeastOnce(t, "webhook", res.accepted, rcv.counts())
	// The file sink kept up: its own checkpoint passed what it delivered, so the restart sends
	// it nothing again.
	onceEach(t, "file sink", res, fileIDs(t, filepath.Join(dir, "local", "orders.ndjson")))
}

// onceEach checks a sink that delivered all along: each event answered 200 arrived exactly
// once, and every other event it holds is of a request whose client saw no answer.
func onceEach(t *testing.T, what string, res load, got map[string]int) {
	t.Helper()
	missing, dup, stray := 0, 0, 0
	for id := range res.accepted {
		if got[id] == 0 {
			missing++
		}
	}
	for id, n := range got {
		if n > 1 {
			dup++
		}
		if !res.accepted[id] && !res.unknown[id] {
			stray++
		}
	}
	if missing > 0 || dup > 0 || stray > 0 {
		t.Errorf("%s: %d accepted, %d stored; %d missing, %d duplicated, %d never answered 200", what, len(res.accepted), len(got), missing, dup, stray)
	}
}
