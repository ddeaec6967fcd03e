package nats

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingestd/ingestd/sinks"
)

// The tests run against nats-server embedded in the test binary, with JetStream on: it stands
// for a NATS JetStream deployment.

var ctx = context.Background()

// lines is a batch's NDJSON as the engine hands it over.
const lines = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_1","status":"declined","amount":1234.5,"message":"a, b\\n"},"stream_id":"s1"}` + "\n" +
	`{"timestamp":"2025-02-12T14:32:16Z","source":"payments-app","event":{"transactionId":"txn_2","status":"approved"},"stream_id":"s1"}` + "\n"

func batch(data string) *sinks.Batch {
	return &sinks.Batch{Stream: "payments", StreamID: "s1", Data: []byte(data), Events: strings.Count(data, "\n"), ReceivedAt: time.Now().UnixNano()}
}

// startServer runs an embedded nats-server with JetStream, storing in dir, on port (-1 for a
// random one), until the test ends. edit adjusts its options.
func startServer(t testing.TB, dir string, port int, edit func(o *server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true}
	if edit != nil {
		edit(o)
	}
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// jetStream is the test's own JetStream client on url, connected with opts until the test ends.
func jetStream(t testing.TB, url string, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// createStream adds a stream capturing subjects, through a connection of its own.
func createStream(t testing.TB, url, name string, edit func(c *jetstream.StreamConfig), subjects ...string) jetstream.Stream {
	t.Helper()
	return addStream(t, jetStream(t, url), name, edit, subjects...)
}

// addStream adds a stream capturing subjects through js.
func addStream(t testing.TB, js jetstream.JetStream, name string, edit func(c *jetstream.StreamConfig), subjects ...string) jetstream.Stream {
	t.Helper()
	cfg := jetstream.StreamConfig{Name: name, Subjects: subjects, Duplicates: time.Minute}
	if edit != nil {
		edit(&cfg)
	}
	st, err := js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// stored is one message as the stream holds it.
type stored struct {
	subject, id, data string
}

// readStream returns every message of a stream, in order, through an ordered consumer.
func readStream(t testing.TB, st jetstream.Stream) []stored {
	t.Helper()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for m := range batch.Messages() {
		out = append(out, stored{m.Subject(), m.Headers().Get(jetstream.MsgIDHeader), string(m.Data())})
	}
	if err := batch.Error(); err != nil {
		t.Fatal(err)
	}
	if len(out) != n {
		t.Fatalf("read %d messages of the stream's %d", len(out), n)
	}
	return out
}

// newSink returns a connected sink for url, closed when the test ends.
func newSink(t testing.TB, url string, edit func(o *Options)) *Sink {
	t.Helper()
	s := unconnected(t, url, edit)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

// unconnected returns a sink for url that has not connected yet.
func unconnected(t testing.TB, url string, edit func(o *Options)) *Sink {
	t.Helper()
	o := NewOptions()
	o.URL = url
	if edit != nil {
		edit(o)
	}
	s, err := New("bus", o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connectErr returns the error of s's Connect, which must fail: what names what it should have
// refused.
func connectErr(t testing.TB, s *Sink, what string) error {
	t.Helper()
	err := s.Connect(ctx)
	if err == nil {
		s.Close(ctx)
		t.Fatalf("Connect accepted %s", what)
	}
	return err
}

// wantDelivered writes the batch of lines through s and wants its two events in st.
func wantDelivered(t testing.TB, s *Sink, st jetstream.Stream) {
	t.Helper()
	if err := s.WriteBatch(ctx, batch(lines)); err != nil {
		t.Fatal(err)
	}
	if got := readStream(t, st); len(got) != 2 {
		t.Fatalf("stream holds %d messages, want 2", len(got))
	}
}

// wantRefused: a sink for url made with edit, which the server does not let deliver, fails
// the batch of lines retryably once its (short) ack timeout passes.
func wantRefused(t *testing.T, url string, edit func(o *Options)) {
	t.Helper()
	bad := newSink(t, url, func(o *Options) {
		edit(o)
		o.AckTimeout = time.Second
	})
	wantKind(t, bad.WriteBatch(ctx, batch(lines)), sinks.Retryable)
}

// writeTemp writes data to a file name in a directory of its own and returns its path.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hashID is the default Nats-Msg-Id of a line, computed independently of the sink's code.
func hashID(streamID, line string) string {
	return fmt.Sprintf("%s-%016x", streamID, xxhashSum(line))
}

// openStream returns a handle on an existing stream, through a connection of its own.
func openStream(t testing.TB, url, name string) jetstream.Stream {
	t.Helper()
	st, err := jetStream(t, url).Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// freePort returns a TCP port nothing listens on (as far as a moment ago).
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
