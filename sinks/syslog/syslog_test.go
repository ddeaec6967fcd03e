package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

const event = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_1","status":"declined","amount":1234.5,"message":"card declined"},"metadata":{"env":"prod"},"stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z"}`

func TestRFC5424Exact(t *testing.T) {
	srv := newServer(t, "tcp", true, nil)
	s := newSink(t, srv.addr, nil)
	second := `{"timestamp":"2025-02-12T15:04:05.123456789+01:30","source":"x"}`
	if err := s.WriteBatch(context.Background(), batch(event, second)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<14>1 2025-02-12T14:32:15Z host ingestd - - - " + event,
		"<14>1 2025-02-12T13:34:05.123456Z host ingestd - - - " + second,
	}
	for i, got := range srv.wait(2) {
		if got != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

func TestRFC3164Exact(t *testing.T) {
	srv := newServer(t, "tcp", true, nil)
	s := newSink(t, srv.addr, func(o *Options) {
		o.Format, o.Facility, o.Severity, o.AppName = FormatRFC3164, "local3", "warning", "payments"
		o.MessageField = "event.message"
	})
	noMessage := `{"timestamp":"2025-02-03T04:05:06-02:00"}`
	if err := s.WriteBatch(context.Background(), batch(event, noMessage)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<156>Feb 12 14:32:15 host payments: card declined",
		"<156>Feb  3 06:05:06 host payments: " + noMessage,
	}
	for i, got := range srv.wait(2) {
		if got != want[i] {
			t.Errorf("message %d:\n got %q\nwant %q", i, got, want[i])
		}
	}
}

func TestStructuredDataEscaping(t *testing.T) {
	srv := newServer(t, "tcp", true, nil)
	s := newSink(t, srv.addr, func(o *Options) {
		o.StructuredData = map[string]map[string]string{
			"ingest@32473": {"src": "source", "note": "event.note", "n": "event.n", "absent": "event.absent", "obj": "event.obj"},
			"empty@32473":  {"x": "nowhere"},
		}
		o.MessageField = "event.msg"
	})
	line := `{"timestamp":"2025-02-12T14:32:15Z","source":"a]b","event":{"note":"q\"uote \\ back ] é","n":12,"obj":{"k":"]"},"msg":"hi"}}`
	if err := s.WriteBatch(context.Background(), batch(line)); err != nil {
		t.Fatal(err)
	}
	want := `<14>1 2025-02-12T14:32:15Z host ingestd - - [ingest@32473 n="12" note="q\"uote \\ back \] é" obj="{\"k\":\"\]\"}" src="a\]b"] hi`
	if got := srv.wait(1)[0]; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestFieldMappings(t *testing.T) {
	srv := newServer(t, "tcp", true, nil)
	s := newSink(t, srv.addr, func(o *Options) {
		o.FacilityField, o.SeverityField = "log.facility", "log.level"
		o.AppNameField, o.MsgIDField, o.MessageField = "source", "event.kind", "event.text"
	})
	lines := []string{
		// names in any case, a MSGID cleaned of spaces, a long app name cut to 48 bytes
		`{"timestamp":"2025-01-01T00:00:00Z","source":"` + strings.Repeat("a", 60) + `","log":{"facility":"LOCAL7","level":"Error"},"event":{"kind":"pay ment","text":"t"}}`,
		// numbers, as JSON numbers and as strings
		`{"timestamp":"2025-01-01T00:00:00Z","source":"app","log":{"facility":4,"level":"2"},"event":{"kind":"k","text":5}}`,
		// unknown values fall back to the defaults; no timestamp: received_at
		`{"source":"","log":{"facility":"nope","level":99},"received_at":"2025-01-01T00:00:01.5Z"}`,
		// no time at all: the NILVALUE
		`{"log":{"facility":null,"level":"warn"},"source":null}`,
	}
	if err := s.WriteBatch(context.Background(), batch(lines...)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<187>1 2025-01-01T00:00:00Z host " + strings.Repeat("a", 48) + " - pay_ment - t",
		"<34>1 2025-01-01T00:00:00Z host app - k - 5",
		"<14>1 2025-01-01T00:00:01.5Z host ingestd - - - " + lines[2],
		"<12>1 - host ingestd - - - " + lines[3],
	}
	for i, got := range srv.wait(len(want)) {
		if got != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

func TestNonTransparentFraming(t *testing.T) {
	srv := newServer(t, "tcp", false, nil)
	s := newSink(t, srv.addr, func(o *Options) {
		o.Framing, o.MessageField = FramingNonTransparent, "m"
	})
	if err := s.WriteBatch(context.Background(), batch(`{"m":"one\ntwo"}`, `{"m":"three"}`)); err != nil {
		t.Fatal(err)
	}
	want := []string{"<14>1 - host ingestd - - - one two", "<14>1 - host ingestd - - - three"}
	for i, got := range srv.wait(2) {
		if got != want[i] {
			t.Errorf("message %d: got %q, want %q", i, got, want[i])
		}
	}
}

func TestOctetCountingKeepsNewlines(t *testing.T) {
	srv := newServer(t, "tcp", true, nil)
	s := newSink(t, srv.addr, func(o *Options) { o.MessageField = "m" })
	if err := s.WriteBatch(context.Background(), batch(`{"m":"one\ntwo"}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.wait(1)[0], "<14>1 - host ingestd - - - one\ntwo"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUDP(t *testing.T) {
	srv := newServer(t, "udp", false, nil)
	s := newSink(t, srv.addr, func(o *Options) { o.Transport, o.MessageField = TransportUDP, "m" })
	if err := s.WriteBatch(context.Background(), batch(`{"m":"a"}`, `{"m":"b\nc"}`)); err != nil {
		t.Fatal(err)
	}
	want := []string{"<14>1 - host ingestd - - - a", "<14>1 - host ingestd - - - b\nc"}
	for i, got := range srv.wait(2) {
		if got != want[i] {
			t.Errorf("datagram %d: got %q, want %q", i, got, want[i])
		}
	}
}

func TestUDPTooLarge(t *testing.T) {
	srv := newServer(t, "udp", false, nil)
	s := newSink(t, srv.addr, func(o *Options) { o.Transport = TransportUDP })
	big := `{"m":"` + strings.Repeat("x", MaxDatagram) + `"}`
	err := s.WriteBatch(context.Background(), batch(`{"m":"small"}`, big))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.TooLarge {
		t.Fatalf("err %v (kind %v), want TooLarge", err, k)
	}
	// Nothing of the batch went out, not even the small message before the big one.
	time.Sleep(50 * time.Millisecond)
	if n := srv.count(); n != 0 {
		t.Errorf("server got %d datagrams, want 0", n)
	}
	// The largest message that fits goes.
	fits := `{"m":"` + strings.Repeat("x", MaxDatagram-len("<14>1 - host ingestd - - - {\"m\":\"\"}")) + `"}`
	if err := s.WriteBatch(context.Background(), batch(fits)); err != nil {
		t.Fatal(err)
	}
	if got := srv.wait(1)[0]; len(got) != MaxDatagram {
		t.Errorf("datagram of %d bytes, want %d", len(got), MaxDatagram)
	}
}

// TestTLS: the in-process TLS server (standing for a syslog server's TLS listener; rsyslog's
// needs a stream driver not installed here) requires a client certificate from the test CA. The
// sink trusts that CA by tls.ca_file, presents tls.cert_file, and keeps one connection across
// batches; a sink trusting only the system's roots fails retryably.
func TestTLS(t *testing.T) {
	ca := testpki.New(t)
	client := ca.Client(t)
	srv := newServer(t, "tcp", true, ca.ServerConfig(t, tls.RequireAndVerifyClientCert))
	s := newSink(t, srv.addr, func(o *Options) {
		o.Transport = TransportTLS
		o.TLS = &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
	})
	for i := range 3 { // the connection, and TLS 1.3 session tickets on it, survive batches
		if err := s.WriteBatch(context.Background(), batch(event)); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	for _, got := range srv.wait(3) {
		if want := "<14>1 2025-02-12T14:32:15Z host ingestd - - - " + event; got != want {
			t.Errorf("got %s", got)
		}
	}
	srv.mu.Lock()
	conns := len(srv.conns)
	srv.mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections for 3 batches, want 1", conns)
	}

	// A sink that does not trust the server's certificate fails, retryably.
	untrusting := newSink(t, srv.addr, func(o *Options) { o.Transport = TransportTLS })
	err := untrusting.WriteBatch(context.Background(), batch(event))
	var unknown x509.UnknownAuthorityError
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable || !errors.As(err, &unknown) {
		t.Errorf("err %v (kind %v), want a retryable unknown-authority error", err, k)
	}
}

// TestTLSServerName: against the in-process TLS server (standing for a syslog server with TLS
// on, its certificate for 127.0.0.1 and localhost), the name checked is the address's host
// unless tls.server_name gives another; a name the certificate lacks fails the batch retryably,
// naming the name, and insecure_skip_verify accepts the certificate anyway.
func TestTLSServerName(t *testing.T) {
	ca := testpki.New(t)
	srv := newServer(t, "tcp", true, ca.ServerConfig(t, tls.NoClientCert))
	sent := 0
	for _, c := range []struct {
		name string
		tls  *TLS
		ok   bool
	}{
		{"the address's host", &TLS{CAFile: ca.CertFile}, true},
		{"server_name in the certificate", &TLS{CAFile: ca.CertFile, ServerName: "localhost"}, true},
		{"insecure_skip_verify", &TLS{ServerName: "logs.example.com", InsecureSkipVerify: true}, true},
		// Last: the server counts the refused handshake as a bad frame.
		{"server_name not in it", &TLS{CAFile: ca.CertFile, ServerName: "logs.example.com"}, false},
	} {
		s := newSink(t, srv.addr, func(o *Options) { o.Transport, o.TLS = TransportTLS, c.tls })
		err := s.WriteBatch(context.Background(), batch(event))
		if c.ok {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			sent++
			srv.wait(sent)
			continue
		}
		var wrongName x509.HostnameError
		if k, _ := sinks.Classify(err); !errors.As(err, &wrongName) || k != sinks.Retryable || !strings.Contains(err.Error(), "logs.example.com") {
			t.Fatalf("%s: err %v (kind %v), want a retryable error about the name", c.name, err, k)
		}
	}
	if n := srv.count(); n != sent {
		t.Fatalf("server got %d messages, want %d", n, sent)
	}
}

// TestConnectTLSFiles: Connect reads the TLS files again, as they may have gone since New
// validated them, and names the option of the one it cannot read.
func TestConnectTLSFiles(t *testing.T) {
	for _, key := range []string{"tls.ca_file", "tls.cert_file", "tls.key_file"} {
		ca := testpki.New(t)
		client := ca.Client(t)
		o := NewOptions()
		o.Address, o.Transport = "127.0.0.1:6514", TransportTLS
		o.TLS = &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
		s, err := New("logs", o)
		if err != nil {
			t.Fatal(err)
		}
		gone := map[string]string{"tls.ca_file": ca.CertFile, "tls.cert_file": client.CertFile, "tls.key_file": client.KeyFile}[key]
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		want := `syslog sink "logs": ` + key + ": open " + gone + ": no such file or directory"
		if err := s.Connect(context.Background()); err == nil || err.Error() != want {
			t.Errorf("Connect: %v, want %s", err, want)
		}
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	for _, transport := range []string{TransportTCP, TransportTLS} {
		t.Run(transport, func(t *testing.T) {
			var cfg *tls.Config
			var caFile string
			if transport == TransportTLS {
				ca := testpki.New(t)
				cfg, caFile = ca.ServerConfig(t, tls.NoClientCert), ca.CertFile
			}
			srv := newServer(t, "tcp", true, cfg)
			s := newSink(t, srv.addr, func(o *Options) {
				o.Transport = transport
				if cfg != nil {
					o.TLS = &TLS{CAFile: caFile}
				}
			})
			ctx := context.Background()
			if err := s.WriteBatch(ctx, batch(`{"n":1}`)); err != nil {
				t.Fatal(err)
			}
			srv.wait(1)

			srv.stop()
			err := s.WriteBatch(ctx, batch(`{"n":2}`))
			if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
				t.Fatalf("with the server down: err %v (kind %v), want retryable", err, k)
			}
			srv.start()
			// The retry and the next batch reach the new server over a new connection: none is
			// written into the dead one.
			for _, line := range []string{`{"n":2}`, `{"n":3}`} {
				if err := s.WriteBatch(ctx, batch(line)); err != nil {
					t.Fatal(err)
				}
			}
			got := srv.wait(3)
			for i, n := range []string{"1", "2", "3"} {
				if want := `<14>1 - host ingestd - - - {"n":` + n + `}`; got[i] != want {
					t.Errorf("message %d: got %s, want %s", i, got[i], want)
				}
			}
		})
	}
}

func TestReconnectWithoutRestartGap(t *testing.T) {
	// The server drops the connection while the sink is idle and comes straight back: the
	// next batch notices the closed connection before writing and is not lost.
	srv := newServer(t, "tcp", true, nil)
	s := newSink(t, srv.addr, nil)
	ctx := context.Background()
	if err := s.WriteBatch(ctx, batch(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	srv.wait(1)
	srv.stop()
	srv.start()
	time.Sleep(20 * time.Millisecond) // for the FIN to arrive
	if err := s.WriteBatch(ctx, batch(`{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	if got := srv.wait(2)[1]; got != `<14>1 - host ingestd - - - {"n":2}` {
		t.Errorf("got %s", got)
	}
}

func TestWriteTimeout(t *testing.T) {
	// A server that accepts but never reads: the kernel buffers fill and the write times out.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c
		}
	}()
	s := newSink(t, ln.Addr().String(), func(o *Options) { o.Timeout = 100 * time.Millisecond })
	line := `{"m":"` + strings.Repeat("x", 1<<20) + `"}`
	b := batch(line, line, line, line, line, line, line, line, line, line, line, line, line, line, line, line)
	start := time.Now()
	err = s.WriteBatch(context.Background(), b)
	var ne net.Error
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v (kind %v), want a retryable timeout", err, k)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with a 100ms timeout", d)
	}
	if s.conn != nil {
		t.Error("the connection is kept after a failed write")
	}
	if c := <-held; c != nil {
		c.Close()
	}
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newSink(t, addr, nil)
	err = s.WriteBatch(context.Background(), batch(event))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable || !strings.Contains(err.Error(), "dial tcp") {
		t.Fatalf("err %v (kind %v), want a retryable dial error", err, k)
	}
}

func TestWriteBatchEdges(t *testing.T) {
	s, err := New("x", func() *Options { o := NewOptions(); o.Address = "127.0.0.1:1"; return o }())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), batch(event)); err == nil || !strings.Contains(err.Error(), "before Connect") {
		t.Errorf("before Connect: %v", err)
	}
	if err := s.WriteBatch(context.Background(), &sinks.Batch{}); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	s.Connect(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WriteBatch(ctx, batch(event)); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
	// Close is safe without a connection and twice.
	if err := s.Close(context.Background()); err != nil {
		t.Error(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestRegistration(t *testing.T) {
	r, ok := sinks.Lookup("syslog")
	if !ok {
		t.Fatal("syslog is not registered")
	}
	o := r.NewOptions().(*Options)
	o.Address = "127.0.0.1:514"
	if s, err := r.New("x", o); err != nil || s == nil {
		t.Fatalf("New: %v, %v", s, err)
	}
	if s, err := r.New("x", NewOptions()); err == nil || s != nil {
		t.Fatalf("New without address: %v, %v", s, err)
	}
	if _, err := r.New("x", wrongOptions{}); err == nil {
		t.Fatal("New took foreign options")
	}
}

type wrongOptions struct{}

func (wrongOptions) Validate() []sinks.FieldError { return nil }
