package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingestd/ingestd/sinks"
)

func xxhashSum(s string) uint64 { return xxhash.Sum64String(s) }

func wantKind(t *testing.T, err error, want sinks.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want a %v one", want)
	}
	k, _ := sinks.Classify(err)
	t.Logf("%v: %v", k, err)
	if k != want {
		t.Fatalf("error %q is %v, want %v", err, k, want)
	}
}

// TestWriteBatchDelivers: every event becomes one message on the templated subject, with the
// line as its data and the deterministic id as Nats-Msg-Id, in order.
func TestWriteBatchDelivers(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.Subject = "ingestd.{stream}.{stream_id}" })

	third := `{"event":{"n":3},"stream_id":"s2"}` + "\n"
	for _, b := range []*sinks.Batch{batch(lines), {Stream: "orders", StreamID: "s2", Data: []byte(third), Events: 1}} {
		if err := s.WriteBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got := readStream(t, st)
	var want []stored
	for line := range strings.Lines(lines) {
		line = strings.TrimSuffix(line, "\n")
		want = append(want, stored{"ingestd.payments.s1", hashID("s1", line), line})
	}
	want = append(want, stored{"ingestd.orders.s2", hashID("s2", strings.TrimSuffix(third, "\n")), strings.TrimSuffix(third, "\n")})
	if len(got) != len(want) {
		t.Fatalf("stream holds %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
		}
		if !json.Valid([]byte(got[i].data)) {
			t.Errorf("message %d is not JSON: %q", i, got[i].data)
		}
	}
}

// TestDefaultSubject: without a subject option, events go to ingestd.<stream>; a batch without
// a final newline still delivers its last line.
func TestDefaultSubject(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.*")
	s := newSink(t, srv.ClientURL(), nil)
	if err := s.WriteBatch(ctx, batch(`{"a":1}`+"\n"+`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	got := readStream(t, st)
	if len(got) != 2 || got[0].subject != "ingestd.payments" || got[1].data != `{"a":2}` {
		t.Fatalf("stream holds %+v", got)
	}
}

// TestDedupe: a batch written twice (as the engine retries one) is stored once.
func TestDedupe(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(t, srv.ClientURL(), nil)
	for range 2 {
		if err := s.WriteBatch(ctx, batch(lines)); err != nil {
			t.Fatal(err)
		}
	}
	// A retry of a batch's second half (after a split) is a duplicate too.
	second := lines[strings.IndexByte(lines, '\n')+1:]
	if err := s.WriteBatch(ctx, batch(second)); err != nil {
		t.Fatal(err)
	}
	if got := readStream(t, st); len(got) != 2 {
		t.Fatalf("stream holds %d messages, want 2", len(got))
	}
}

// TestMsgIDField: the field's value is the id (a string unescaped, a number as written); an
// event without it, or with a value of another kind, gets the hash id.
func TestMsgIDField(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.MsgIDField = "event.id" })
	data := []string{
		`{"event":{"id":"a\"b\u00e9"}}`,
		`{"event":{"id":42.5}}`,
		`{"event":{"other":1}}`,
		`{"event":{"id":""}}`,
		`{"event":{"id":{"x":1}}}`,
	}
	if err := s.WriteBatch(ctx, batch(strings.Join(data, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	want := []string{`a"bé`, "42.5", hashID("s1", data[2]), hashID("s1", data[3]), hashID("s1", data[4])}
	got := readStream(t, st)
	for i, w := range want {
		if got[i].id != w {
			t.Errorf("event %d: id %q, want %q", i, got[i].id, w)
		}
	}
}

// TestMsgIDDefault: by default the id is ingestd's event_id, so a copy of an event replayed
// from the write-ahead log (same event_id, same line) is dropped by JetStream as a duplicate.
func TestMsgIDDefault(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(t, srv.ClientURL(), nil)
	line := `{"event":{"n":1},"stream_id":"s1","event_id":"5d1f0c2a9e7b4418000000000000a0f2-3"}`
	for range 2 { // the second time stands for a replay after a crash
		if err := s.WriteBatch(ctx, batch(line+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	got := readStream(t, st)
	if len(got) != 1 || got[0].id != "5d1f0c2a9e7b4418000000000000a0f2-3" {
		t.Fatalf("stored %+v, want the event once, with its event_id as Nats-Msg-Id", got)
	}
}

// TestServerDown: with the server gone, a batch fails retryably within ack_timeout; once it is
// back, delivery resumes and nothing is stored twice.
func TestServerDown(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, -1, nil)
	url := srv.ClientURL()
	createStream(t, url, "EVENTS", nil, "ingestd.>")
	const ackTimeout = 2 * time.Second
	s := newSink(t, url, func(o *Options) { o.AckTimeout = ackTimeout })
	if err := s.WriteBatch(ctx, batch(lines)); err != nil {
		t.Fatal(err)
	}
	tcpPort := srv.Addr().(*net.TCPAddr).Port
	srv.Shutdown()
	srv.WaitForShutdown()

	start := time.Now()
	err := s.WriteBatch(ctx, batch(`{"n":3}`+"\n"))
	if d := time.Since(start); d > ackTimeout+time.Second {
		t.Fatalf("WriteBatch took %v with ack_timeout %v", d, ackTimeout)
	}
	wantKind(t, err, sinks.Retryable)

	startServer(t, dir, tcpPort, nil)
	deadline := time.Now().Add(15 * time.Second)
	for {
		err = s.WriteBatch(ctx, batch(`{"n":3}`+"\n"))
		if err == nil {
			break
		}
		wantKind(t, err, sinks.Retryable)
		if time.Now().After(deadline) {
			t.Fatalf("no delivery after the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := readStream(t, openStream(t, url, "EVENTS")); len(got) != 3 || got[2].data != `{"n":3}` {
		t.Fatalf("stream holds %+v", got)
	}
}

// TestConnectWhileDown: Connect succeeds with no server; batches fail retryably until one
// starts, then deliver.
func TestConnectWhileDown(t *testing.T) {
	port := freePort(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	s := newSink(t, url, func(o *Options) { o.AckTimeout = time.Second })
	wantKind(t, s.WriteBatch(ctx, batch(lines)), sinks.Retryable)

	srv := startServer(t, t.TempDir(), port, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := s.WriteBatch(ctx, batch(lines))
		if err == nil {
			break
		}
		wantKind(t, err, sinks.Retryable)
		if time.Now().After(deadline) {
			t.Fatalf("no delivery once the server started: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := readStream(t, st); len(got) != 2 {
		t.Fatalf("stream holds %d messages, want 2", len(got))
	}
}

// TestNoStream: a subject no stream captures is a permanent failure.
func TestNoStream(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.Subject = "elsewhere.{stream}" })
	err := s.WriteBatch(ctx, batch(lines))
	wantKind(t, err, sinks.Permanent)
	if !strings.Contains(err.Error(), "no JetStream stream captures") {
		t.Fatalf("error %q does not say why", err)
	}
}

// TestNoJetStream: a server without JetStream answers no one; that may be passing (JetStream
// starting), so it stays retryable.
func TestNoJetStream(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) { o.JetStream = false })
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.AckTimeout = time.Second })
	wantKind(t, s.WriteBatch(ctx, batch(lines)), sinks.Retryable)
}

// TestAckTimeout: a message that gets no ack within ack_timeout fails the batch retryably,
// after ack_timeout. A subscriber that never answers (on a server without JetStream) stands for
// a stream that does not answer.
func TestAckTimeout(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) { o.JetStream = false })
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync("ingestd.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	const ackTimeout = 500 * time.Millisecond
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.AckTimeout = ackTimeout })
	start := time.Now()
	err = s.WriteBatch(ctx, batch(lines))
	if d := time.Since(start); d < ackTimeout || d > ackTimeout+time.Second {
		t.Fatalf("WriteBatch took %v with ack_timeout %v", d, ackTimeout)
	}
	wantKind(t, err, sinks.Retryable)
	if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("error %q is not an ack timeout", err)
	}
	if m, err := sub.NextMsg(time.Second); err != nil || m.Header.Get(jetstream.MsgIDHeader) == "" {
		t.Fatalf("the subscriber got %v, %v", m, err)
	}
}

// TestStreamNameMismatch: with stream_name, a subject captured by another stream is refused
// permanently, and nothing is stored.
func TestStreamNameMismatch(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	createStream(t, srv.ClientURL(), "AUDIT", nil, "audit.>")
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.StreamName = "AUDIT" })
	wantKind(t, s.WriteBatch(ctx, batch(lines)), sinks.Permanent)
	if got := readStream(t, st); len(got) != 0 {
		t.Fatalf("stream holds %+v", got)
	}
	ok := newSink(t, srv.ClientURL(), func(o *Options) { o.StreamName = "EVENTS" })
	if err := ok.WriteBatch(ctx, batch(lines)); err != nil {
		t.Fatal(err)
	}
}

// TestTooLarge: an event over the server's max_payload, or the stream's max_msg_size, asks the
// engine to split the batch.
func TestTooLarge(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) { o.MaxPayload = 4096 })
	createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	createStream(t, srv.ClientURL(), "SMALL", func(c *jetstream.StreamConfig) { c.MaxMsgSize = 100 }, "small.>")
	big := `{"pad":"` + strings.Repeat("x", 5000) + `"}` + "\n"

	s := newSink(t, srv.ClientURL(), nil)
	wantKind(t, s.WriteBatch(ctx, batch(lines+big)), sinks.TooLarge)
	small := newSink(t, srv.ClientURL(), func(o *Options) { o.Subject = "small.{stream}" })
	wantKind(t, small.WriteBatch(ctx, batch(lines)), sinks.TooLarge)
}

// TestContextEnded: a batch whose ctx has ended publishes nothing and says so.
func TestContextEnded(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(t, srv.ClientURL(), nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.WriteBatch(cctx, batch(lines)); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteBatch = %v, want context.Canceled", err)
	}
	if got := readStream(t, st); len(got) != 0 {
		t.Fatalf("stream holds %+v", got)
	}
}

func TestLifecycle(t *testing.T) {
	s, err := New("bus", &Options{URL: "nats://127.0.0.1:1", Subject: DefaultSubject, MaxPending: 1, AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, batch(lines)); err == nil || !strings.Contains(err.Error(), "before Connect") {
		t.Fatalf("WriteBatch before Connect: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, batch("")); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	for range 2 {
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New("bus", NewOptions()); err == nil || !strings.Contains(err.Error(), "url: is required") {
		t.Fatalf("New with invalid options: %v", err)
	}
	reg, ok := sinks.Lookup("nats")
	if !ok || reg.Concurrency != 1 {
		t.Fatalf("registration %+v, %v", reg, ok)
	}
	if _, err := reg.New("bus", reg.NewOptions()); err == nil {
		t.Fatal("registration built a sink from invalid options")
	}
}

// TestBatchLargerThanMaxPending: a batch of 1000 events with max_pending 8 is stored whole and
// in order, and no more than 8 messages ever await their ack. The embedded nats-server stands
// for JetStream; a subscriber on every subject of the account watches the traffic: each event
// published to the stream's subject, and each of JetStream's acks to the publisher's reply
// inbox. Arriving on one subscription, they keep the server's order, and an ack is sent only
// after its message, so published minus acked is at most what the client had in flight.
func TestBatchLargerThanMaxPending(t *testing.T) {
	const events, maxPending = 1000, 8
	srv := startServer(t, t.TempDir(), -1, nil)
	st := createStream(t, srv.ClientURL(), "EVENTS", nil, "ingestd.>")

	watch, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watch.Close)
	var (
		mu                         sync.Mutex
		published, acked, inFlight int
		most                       int
	)
	sub, err := watch.Subscribe(">", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(m.Subject, "ingestd.") && strings.HasPrefix(m.Reply, nats.InboxPrefix):
			published++
			inFlight++
			most = max(most, inFlight)
		case strings.HasPrefix(m.Subject, nats.InboxPrefix) && strings.Contains(string(m.Data), `"seq":`):
			acked++
			inFlight--
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}

	var data strings.Builder
	for i := range events {
		fmt.Fprintf(&data, `{"event":{"n":%d},"stream_id":"s1"}`+"\n", i)
	}
	s := newSink(t, srv.ClientURL(), func(o *Options) { o.MaxPending = maxPending })
	if err := s.WriteBatch(ctx, batch(data.String())); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		p, a, m := published, acked, most
		mu.Unlock()
		if p == events && a == events {
			if m > maxPending || m < 1 {
				t.Fatalf("up to %d messages awaited their ack at once, max_pending is %d", m, maxPending)
			}
			t.Logf("at most %d messages in flight", m)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher saw %d messages published and %d acked, want %d each", p, a, events)
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := readStream(t, st)
	if len(got) != events {
		t.Fatalf("stream holds %d messages, want %d", len(got), events)
	}
	for i, m := range got {
		if want := fmt.Sprintf(`{"event":{"n":%d},"stream_id":"s1"}`, i); m.data != want {
			t.Fatalf("message %d = %s, want %s", i, m.data, want)
		}
	}
}
