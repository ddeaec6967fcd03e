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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ingestd/ingestd/wal"
)

// receiver stands for a webhook destination (the http sink's receiving end), scripted by the
// test: answer decides each POST's status and headers from its NDJSON lines; accepted lines are
// kept by event id.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	answer func(lines []string) (status int, header http.Header)
	got    map[string]int // event id -> times received in accepted posts
	sizes  []int          // lines per accepted post
	posts  int
}

func newReceiver(t *testing.T, answer func([]string) (int, http.Header)) *receiver {
	r := &receiver{answer: answer, got: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.posts++
		status, h := r.answer(lines)
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
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setAnswer(a func([]string) (int, http.Header)) {
	r.mu.Lock()
	r.answer = a
	r.mu.Unlock()
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

// sendLoad sends 5-event requests from two clients until stop closes, and returns the ids of
// the events answered 200.
func sendLoad(t *testing.T, addr, tag string, stop chan struct{}) func() map[string]bool {
	return sendLoadN(t, addr, tag, 2, false, stop)
}

// sendLoadN is sendLoad with n clients; with untilDown a failed connection ends a client quietly
// (the server was killed) instead of failing the test.
func sendLoadN(t *testing.T, addr, tag string, n int, untilDown bool, stop chan struct{}) func() map[string]bool {
	var mu sync.Mutex
	accepted := map[string]bool{}
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
				if err != nil {
					if !untilDown {
						t.Error(err)
					}
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == http.StatusOK {
					mu.Lock()
					for _, id := range ids {
						accepted[id] = true
					}
					mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return func() map[string]bool {
		wg.Wait()
		return accepted
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
// config is reloaded in the middle of the outage. Nothing accepted is lost or duplicated, and
// the file sink of the same stream kept receiving events throughout.
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
	time.Sleep(400 * time.Millisecond)
	if n := len(fileIDs(t, local)); n == 0 {
		t.Error("the file sink received nothing while the webhook was down")
	}
	// A reload in the middle of the outage: the old sink instance keeps its undelivered batches.
	writeFile(t, cfgPath, hookConfig(dir, rcv.URL, "40ms"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	rcv.setAnswer(func([]string) (int, http.Header) {
		return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
	})
	time.Sleep(500 * time.Millisecond)
	rcv.setAnswer(ok)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	accepted := wait()
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
	accepted := wait()
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
	accepted := wait()
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

// TestEndToEndShutdownKeepsUndelivered: a webhook too slow to take everything before the grace
// period ends; ingestd exits on time, and what it could not deliver is delivered after the
// restart, from the write-ahead log.
func TestEndToEndShutdownKeepsUndelivered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var slow sync.Mutex
	delay := 150 * time.Millisecond
	rcv := newReceiver(t, func([]string) (int, http.Header) {
		slow.Lock()
		d := delay
		slow.Unlock()
		time.Sleep(d)
		return http.StatusOK, nil
	})
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, diskConfig(dir, rcv.URL, "1s"))
	p := startIngestd(t, dir, nil, "--config", cfgPath)
	stop := make(chan struct{})
	wait := sendLoadN(t, p.addr, "slow", 4, true, stop)
	time.Sleep(600 * time.Millisecond)
	close(stop)
	accepted := wait()
	start := time.Now()
	p.stop()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("ingestd did not exit within its grace period")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %v with a grace period of 1s", took)
	}
	if got := len(rcv.counts()); got >= len(accepted) {
		t.Skipf("the slow webhook took all %d events before the grace period ended; nothing left to replay", got)
	}
	slow.Lock()
	delay = 0
	slow.Unlock()
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
	// The file sink kept up: its own checkpoint passed what it delivered, so the restart sends
	// it nothing again.
	local := fileIDs(t, filepath.Join(dir, "local", "orders.ndjson"))
	exactlyOnce(t, "file sink", accepted, local)
}
