package main

// One stream fanned out to five real destinations, one of which goes away for two seconds. Each
// server stands for the system its sink is written for:
//
//   - Elasticsearch: VictoriaLogs (a separate binary, $VICTORIA_LOGS_BIN, on PATH or in
//     bin/tools), through its Elasticsearch bulk endpoint /insert/elasticsearch/_bulk, read back
//     with LogsQL.
//   - Splunk HEC: the OpenTelemetry Collector's Splunk HEC receiver, as bin/tools/otelhec
//     ($OTELHEC_BIN), which writes every record it decoded to a file.
//   - a syslog server: rsyslogd (on PATH or in /usr/sbin) on TCP, with a config written here that
//     writes each message's MSG to a file.
//   - Kafka: franz-go's kfake cluster in this process, read back with a kgo consumer.
//   - NATS JetStream: nats-server embedded in this process, with a file store; it is the one
//     stopped and restarted, on the same port and store.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	destStreamID = "fanout-5f0c6a0e"
	destStream   = "fanout" // the stream's name: {stream} in the topic and subject
	kafkaTopic   = "ingest.fanout"
	natsSubject  = "ingestd.fanout"
	natsStream   = "EVENTS"
	stoppedSink  = "bus" // the nats sink, whose server is stopped midway
)

// destination is one sink's real server, read back by seq (event.seq of each stored event).
type destination struct {
	sink string // its name in the config
	// count is cheap and tells how many events the server has taken so far.
	count func() (int, error)
	// read returns how many times each seq arrived.
	read func() (map[int64]int, error)
}

// seqOf is event.seq of a stored event line.
func seqOf(line []byte) (int64, error) {
	var ev struct {
		Event struct {
			Seq *int64 `json:"seq"`
		} `json:"event"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		return 0, fmt.Errorf("%v: %q", err, line)
	}
	if ev.Event.Seq == nil {
		return 0, fmt.Errorf("no event.seq in %q", line)
	}
	return *ev.Event.Seq, nil
}

// loopbackAddr returns a loopback address whose port was free a moment ago.
func loopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tool finds a server binary: the environment variable, then PATH, then bin/tools of the repo.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if bin := os.Getenv(env); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v; install it with `make deps`", env, bin, err)
		}
		return bin
	}
	if bin, err := exec.LookPath(name); err == nil {
		return bin
	}
	bin := filepath.Join("..", "..", "bin", "tools", name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: $%s is unset, it is not on PATH nor in bin/tools; install it with `make deps`", name, env)
	}
	return bin
}

// startServer runs a server binary until the test ends, logging its output if the test fails,
// and waits until addr accepts connections.
func startServer(t *testing.T, what, addr string, cmd *exec.Cmd) {
	t.Helper()
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", what, out.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 20s:\n%s", what, addr, out.String())
		}
	}
}

// fileLines reads an NDJSON file a server appends to; pick takes each complete line's seq.
func fileLines(path string, pick func(line []byte) (int64, error)) (map[int64]int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[int64]int{}, nil
	}
	if err != nil {
		return nil, err
	}
	got := map[int64]int{}
	data = data[:bytes.LastIndexByte(data, '\n')+1] // a line being written is not complete yet
	for line := range bytes.Lines(data) {
		seq, err := pick(line)
		if err != nil {
			return nil, err
		}
		got[seq]++
	}
	return got, nil
}

func fileCount(path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return bytes.Count(data, []byte("\n")), err
}

// victoriaLogs starts VictoriaLogs; the sink writes to its Elasticsearch bulk endpoint.
func victoriaLogs(t *testing.T) (base string, d *destination) {
	bin := tool(t, "VICTORIA_LOGS_BIN", "victoria-logs")
	addr := loopbackAddr(t)
	startServer(t, "victoria-logs", addr, exec.Command(bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr))
	base = "http://" + addr
	ingested := regexp.MustCompile(`(?m)^vl_rows_ingested_total\{type="elasticsearch_bulk"\} (\d+)$`)
	count := func() (int, error) {
		b, err := httpGet(base + "/metrics")
		if err != nil {
			return 0, err
		}
		m := ingested.FindSubmatch(b)
		if m == nil {
			return 0, errors.New("victoria-logs /metrics has no vl_rows_ingested_total for the bulk API")
		}
		return strconv.Atoi(string(m[1]))
	}
	read := func() (map[int64]int, error) {
		b, err := httpGet(base + "/select/logsql/query?query=" + url.QueryEscape("* | fields event.seq"))
		if err != nil {
			return nil, err
		}
		got := map[int64]int{}
		for line := range bytes.Lines(b) {
			var row struct {
				Seq string `json:"event.seq"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				return nil, fmt.Errorf("%v: %q", err, line)
			}
			seq, err := strconv.ParseInt(row.Seq, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("row %q: %v", line, err)
			}
			got[seq]++
		}
		return got, nil
	}
	return base, &destination{sink: "search", count: count, read: read}
}

func httpGet(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return b, err
}

// otelHEC starts the OpenTelemetry Collector's Splunk HEC receiver; each record it writes has
// the whole stored event as its body.
func otelHEC(t *testing.T) (addr string, d *destination) {
	bin := tool(t, "OTELHEC_BIN", "otelhec")
	addr = loopbackAddr(t)
	out := filepath.Join(t.TempDir(), "records.ndjson")
	startServer(t, "otelhec", addr, exec.Command(bin, "-listen", addr, "-out", out))
	pick := func(line []byte) (int64, error) {
		var r struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return 0, fmt.Errorf("%v: %q", err, line)
		}
		return seqOf(r.Body)
	}
	return addr, &destination{
		sink:  "splunk",
		count: func() (int, error) { return fileCount(out) },
		read:  func() (map[int64]int, error) { return fileLines(out, pick) },
	}
}

// rsyslog starts rsyslogd listening on TCP, writing each message's MSG (the stored event) as a
// line of a file.
func rsyslog(t *testing.T) (addr string, d *destination) {
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/rsyslogd"); err != nil {
			t.Fatal("rsyslogd is not on PATH nor in /usr/sbin; install it with `make deps` (apt-get install rsyslog)")
		}
	}
	dir := t.TempDir()
	addr = loopbackAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	out := filepath.Join(dir, "messages.ndjson")
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port=%q)
template(name="msg" type="string" string="%%msg%%\n")
action(type="omfile" file=%q template="msg")
`, dir, port, out)
	confFile := filepath.Join(dir, "rsyslog.conf")
	writeFile(t, confFile, conf)
	startServer(t, "rsyslogd", addr, exec.Command(bin, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid")))
	return addr, &destination{
		sink:  "siem",
		count: func() (int, error) { return fileCount(out) },
		read:  func() (map[int64]int, error) { return fileLines(out, seqOf) },
	}
}

// kafka starts a kfake cluster with the topic, and a consumer that reads it from the start for
// as long as the test runs.
func kafka(t *testing.T) (brokers []string, d *destination) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, kafkaTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(kafkaTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var records int
	var readErr error
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			mu.Lock()
			fs.EachError(func(topic string, p int32, err error) {
				if ctx.Err() == nil && readErr == nil {
					readErr = fmt.Errorf("fetch %s/%d: %w", topic, p, err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				records++
				seq, err := seqOf(r.Value)
				if err != nil && readErr == nil {
					readErr = err
				}
				got[seq]++
			})
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cl.Close()
	})
	return c.ListenAddrs(), &destination{
		sink: "events-kafka",
		count: func() (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return records, readErr
		},
		read: func() (map[int64]int, error) {
			mu.Lock()
			defer mu.Unlock()
			out := make(map[int64]int, len(got))
			for k, v := range got {
				out[k] = v
			}
			return out, readErr
		},
	}
}

// natsServer is the embedded nats-server with JetStream, which the test stops and restarts on
// the same port and store.
type natsServer struct {
	t    *testing.T
	dir  string
	port int
	mu   sync.Mutex
	srv  *server.Server
	// what has been read of the stream, to read only new messages each time
	got  map[int64]int
	last uint64 // the stream sequence read up to
}

func (n *natsServer) start() {
	n.t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, JetStream: true,
		StoreDir: n.dir, NoLog: true, NoSigs: true})
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats-server did not start")
	}
	n.t.Cleanup(srv.Shutdown)
	n.mu.Lock()
	n.srv = srv
	n.port = srv.Addr().(*net.TCPAddr).Port
	n.mu.Unlock()
}

func (n *natsServer) stop() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	srv.Shutdown()
	srv.WaitForShutdown()
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// stream opens the stream through a connection of its own, which close ends.
func (n *natsServer) stream(ctx context.Context) (st jetstream.Stream, close func(), err error) {
	nc, err := nats.Connect(n.url(), nats.NoReconnect())
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err == nil {
		st, err = js.Stream(ctx, natsStream)
	}
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return st, nc.Close, nil
}

func (n *natsServer) count() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, closeConn, err := n.stream(ctx)
	if err != nil {
		return 0, err
	}
	defer closeConn()
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.State.Msgs), nil
}

// read fetches the messages stored since the last read, in order.
func (n *natsServer) read() (map[int64]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, closeConn, err := n.stream(ctx)
	if err != nil {
		return nil, err
	}
	defer closeConn()
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if info.State.LastSeq > n.last {
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: n.last + 1})
		if err != nil {
			return nil, err
		}
		for n.last < info.State.LastSeq {
			batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				return nil, err
			}
			before := n.last
			for m := range batch.Messages() {
				meta, err := m.Metadata()
				if err != nil {
					return nil, err
				}
				seq, err := seqOf(m.Data())
				if err != nil {
					return nil, err
				}
				n.got[seq]++
				n.last = meta.Sequence.Stream
			}
			if err := batch.Error(); err != nil {
				return nil, err
			}
			if n.last == before {
				return nil, fmt.Errorf("no message past stream sequence %d of %d", n.last, info.State.LastSeq)
			}
		}
	}
	out := make(map[int64]int, len(n.got))
	for k, v := range n.got {
		out[k] = v
	}
	return out, nil
}

// natsJetStream starts the embedded server and creates the stream that captures the subject.
func natsJetStream(t *testing.T) (*natsServer, *destination) {
	n := &natsServer{t: t, dir: t.TempDir(), port: -1, got: map[int64]int{}}
	n.start()
	nc, err := nats.Connect(n.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: natsStream, Subjects: []string{natsSubject}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	return n, &destination{sink: stoppedSink, count: n.count, read: n.read}
}

// destinationsConfig routes one stream to the five sinks, with short batches and back-off and
// buffers large enough to hold the stopped sink's backlog.
func destinationsConfig(dir, esBase, hecAddr, syslogAddr string, brokers []string, natsURL string) string {
	const common = `
    batch: {max_events: 500, max_age: 50ms}
    retry: {initial_backoff: 50ms, max_backoff: 500ms}
    buffer: {max_batches: 100000}`
	brokerList, _ := json.Marshal(brokers)
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  grace_period: 10s
  ack: disk
  wal: {dir: %[1]q}
tokens:
  - {name: star, token: %[2]q, streams: ["*"]}
streams:
  - {id: %[3]q, name: %[4]s, sinks: [search, splunk, siem, events-kafka, %[5]s]}
sinks:
  - name: search
    type: elasticsearch
    urls: [%[6]q]
    path: /insert/elasticsearch/_bulk
    query: {_msg_field: event.message, _time_field: timestamp}
    compression: gzip%[8]s
  - name: splunk
    type: splunk_hec
    url: %[7]q
    token: e2e-hec-token-0123456789
    source_field: source
    sourcetype: _json%[8]s
  - name: siem
    type: syslog
    address: %[9]q
    hostname: e2e%[8]s
  - name: events-kafka
    type: kafka
    brokers: %[10]s
    topic: "ingest.{stream}"
    linger: 1ms%[8]s
  - name: %[5]s
    type: nats
    url: %[11]q
    ack_timeout: 1s%[8]s
`, filepath.Join(dir, "wal"), starToken, destStreamID, destStream, stoppedSink,
		esBase, "http://"+hecAddr, common, syslogAddr, brokerList, natsURL)
}

// fanoutLedger is what the senders were answered.
type fanoutLedger struct {
	mu       sync.Mutex
	accepted map[int64]bool
	refused  map[string]int // "status detail" -> requests
	failed   []error        // requests that got no answer
}

func (l *fanoutLedger) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

// sendNumbered posts 20-event NDJSON requests from n clients until stop closes; seqs are unique
// across all of them. It returns a function waiting for the clients to finish.
func sendNumbered(addr string, n int, l *fanoutLedger, stop chan struct{}) func() {
	var seq sync.Mutex
	next := int64(0)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			var body bytes.Buffer
			for {
				select {
				case <-stop:
					return
				default:
				}
				body.Reset()
				seq.Lock()
				first := next
				next += 20
				seq.Unlock()
				now := time.Now().UTC().Format(time.RFC3339Nano)
				for s := first; s < first+20; s++ {
					fmt.Fprintf(&body, `{"timestamp":%q,"source":"e2e-w%d","event":{"seq":%d,"message":"event %d"},"metadata":{"sender":%d}}`+"\n", now, w, s, s, w)
				}
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/streams/ingest", &body)
				req.Header.Set("Authorization", "Bearer "+starToken)
				req.Header.Set("X-Stream-Id", destStreamID)
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := client.Do(req)
				var answer []byte
				if err == nil {
					answer, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				l.mu.Lock()
				switch {
				case err != nil:
					l.failed = append(l.failed, err)
				case resp.StatusCode == http.StatusOK:
					for s := first; s < first+20; s++ {
						l.accepted[s] = true
					}
				default:
					l.refused[fmt.Sprintf("%d %s", resp.StatusCode, answer)]++
				}
				l.mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return wg.Wait
}

var retryLine = regexp.MustCompile(`msg="batch delivery failed; retrying" sink=(\S+)`)

// TestEndToEndDestinations: one stream goes to five real destinations while four clients send;
// the NATS server is stopped for two seconds midway and started again on the same port and
// store. Every event answered 200 reaches all five; the other four keep receiving during the
// outage; nothing is refused.
func TestEndToEndDestinations(t *testing.T) {
	dir := t.TempDir()
	esBase, es := victoriaLogs(t)
	hecAddr, hec := otelHEC(t)
	syslogAddr, siem := rsyslog(t)
	brokers, kf := kafka(t)
	ns, bus := natsJetStream(t)
	dests := []*destination{es, hec, siem, kf, bus}
	others := dests[:4]

	cfgPath := filepath.Join(dir, "ingestd.yaml")
	writeFile(t, cfgPath, destinationsConfig(dir, esBase, hecAddr, syslogAddr, brokers, ns.url()))
	p := startIngestd(t, dir, nil, "--config", cfgPath)

	sample := func(ds []*destination) map[string]int {
		t.Helper()
		out := map[string]int{}
		for _, d := range ds {
			n, err := d.count()
			if err != nil {
				t.Fatalf("%s: %v", d.sink, err)
			}
			out[d.sink] = n
		}
		return out
	}

	l := &fanoutLedger{accepted: map[int64]bool{}, refused: map[string]int{}}
	stop := make(chan struct{})
	start := time.Now()
	wait := sendNumbered(p.addr, 4, l, stop)
	time.Sleep(1500 * time.Millisecond)

	ns.stop()
	outage := sample(others)
	acceptedAtStop := l.size()
	time.Sleep(2 * time.Second)
	recovered := sample(others)
	ns.start()
	restarted := time.Now()
	storedAtRestart, err := bus.count()
	if err != nil {
		t.Fatalf("NATS after its restart: %v", err)
	}
	backlog := l.size() - storedAtRestart
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wait()
	sent := time.Now()

	for _, d := range others {
		if recovered[d.sink] <= outage[d.sink] {
			t.Errorf("%s received nothing while NATS was down: %d events when it stopped, %d two seconds later",
				d.sink, outage[d.sink], recovered[d.sink])
		}
	}
	t.Logf("during the 2s NATS outage the others went from %v to %v; %d events were accepted before it",
		outage, recovered, acceptedAtStop)

	// Wait until every destination holds every accepted event.
	l.mu.Lock()
	accepted := l.accepted
	l.mu.Unlock()
	if len(accepted) == 0 {
		t.Fatal("no event was accepted")
	}
	// First the servers' own counts, cheap enough to poll often, for the figures below; then
	// each destination read back whole, until it holds every accepted event.
	deadline := time.Now().Add(20 * time.Second)
	reached := map[string]time.Time{} // when its server had first taken as many events as accepted
	for len(reached) < len(dests) && time.Now().Before(deadline) {
		for _, d := range dests {
			if _, ok := reached[d.sink]; !ok {
				if n, err := d.count(); err == nil && n >= len(accepted) {
					reached[d.sink] = time.Now()
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := map[string]map[int64]int{}
	deadline = time.Now().Add(10 * time.Second) // VictoriaLogs makes rows searchable about a second after it took them
	for _, d := range dests {
		for {
			m, err := d.read()
			if err == nil {
				got[d.sink] = m
				if holdsAll(m, accepted) {
					break
				}
			}
			if time.Now().After(deadline) {
				if err != nil {
					t.Errorf("%s: %v", d.sink, err)
				}
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	p.stop()
	p.wantExit(0, 15*time.Second)

	for _, d := range dests {
		m := got[d.sink]
		missing, extra, dups := 0, 0, 0
		for s := range accepted {
			if m[s] == 0 {
				missing++
			}
		}
		for s, n := range m {
			if !accepted[s] {
				extra++
			}
			dups += n - 1
		}
		if missing > 0 || extra > 0 {
			t.Errorf("%s: %d of %d accepted events missing, %d events stored that were not accepted", d.sink, missing, len(accepted), extra)
		}
		switch {
		case d.sink == stoppedSink:
			t.Logf("%s (stopped and restarted): %d duplicates", d.sink, dups)
		case dups > 0:
			t.Errorf("%s: %d duplicates, though its server never went away", d.sink, dups)
		}
	}

	retries := map[string]int{}
	for _, m := range retryLine.FindAllStringSubmatch(p.stderr.String(), -1) {
		retries[m[1]]++
	}
	if retries[stoppedSink] == 0 {
		t.Errorf("ingestd logged no retry of sink %s while its server was down", stoppedSink)
	}
	t.Logf("batch retries logged per sink: %v", retries)

	l.mu.Lock()
	for answer, n := range l.refused {
		if strings.HasPrefix(answer, "503 ") && strings.Contains(answer, strconv.Quote(stoppedSink)+" is behind") {
			t.Logf("%d requests refused while sink %s's buffer was full: %s", n, stoppedSink, answer)
			continue
		}
		t.Errorf("%d requests answered %s", n, answer)
	}
	for _, err := range l.failed {
		t.Errorf("a request got no answer: %v", err)
	}
	l.mu.Unlock()

	// End-to-end figures on this machine: each destination's events over the time from the first
	// request until its server had taken as many (its own count, polled every 20ms; read back
	// and checked whole afterwards), and NATS's catch-up after its restart.
	took := sent.Sub(start)
	t.Logf("%d events accepted in %v (%.0f events/s offered)", len(accepted), took.Round(time.Millisecond), float64(len(accepted))/took.Seconds())
	for _, d := range dests {
		if at, ok := reached[d.sink]; ok {
			t.Logf("%-12s all %d events after %v (%.0f events/s), %v after the last answer",
				d.sink, len(accepted), at.Sub(start).Round(time.Millisecond), float64(len(accepted))/at.Sub(start).Seconds(),
				at.Sub(sent).Round(time.Millisecond))
		}
	}
	if at, ok := reached[stoppedSink]; ok {
		n := len(accepted) - storedAtRestart
		t.Logf("%s after its restart: a backlog of about %d events and the new ones, %d events in %v (%.0f events/s)",
			stoppedSink, backlog, n, at.Sub(restarted).Round(time.Millisecond), float64(n)/at.Sub(restarted).Seconds())
	}
}

// holdsAll tells whether got has every accepted seq.
func holdsAll(got map[int64]int, accepted map[int64]bool) bool {
	for s := range accepted {
		if got[s] == 0 {
			return false
		}
	}
	return true
}
