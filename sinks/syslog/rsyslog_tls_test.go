package syslog

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

// startRsyslogTLS starts a real rsyslogd with one TLS listener (imtcp with the GnuTLS network
// stream driver, package rsyslog-gnutls) that requires a client certificate from ca, writing
// each message as received to raw.log.
func startRsyslogTLS(t *testing.T, ca *testpki.CA) *rsyslog {
	t.Helper()
	server := ca.Server(t)
	r := &rsyslog{tcp: freePort(t, "tcp"), dir: t.TempDir()}
	_, port, _ := net.SplitHostPort(r.tcp)
	r.run(t, fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"
  DefaultNetstreamDriverCAFile=%q DefaultNetstreamDriverCertFile=%q DefaultNetstreamDriverKeyFile=%q)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" address="127.0.0.1" port=%q)
template(name="raw" type="string" string="%%rawmsg%%\n")
action(type="omfile" file=%q template="raw")
`, r.dir, ca.CertFile, server.CertFile, server.KeyFile, port, filepath.Join(r.dir, "raw.log")))
	return r
}

// TestRsyslogTLS sends RFC 5424 over TLS, octet-counted, to a real rsyslog that checks the
// client's certificate, and reads back what it wrote; without a client certificate rsyslog
// takes nothing.
func TestRsyslogTLS(t *testing.T) {
	ca := testpki.New(t)
	client := ca.Client(t)
	r := startRsyslogTLS(t, ca)
	ctx := context.Background()

	bare := newSink(t, r.tcp, func(o *Options) {
		o.Transport, o.TLS = TransportTLS, &TLS{CAFile: ca.CertFile}
	})
	if err := bare.WriteBatch(ctx, batch(event)); err == nil {
		// TLS 1.3 finishes the client's side of the handshake before the server checks the
		// certificate: the write may seem to succeed, but rsyslog must not store it.
		time.Sleep(300 * time.Millisecond)
	}

	s := newSink(t, r.tcp, func(o *Options) {
		o.Transport = TransportTLS
		o.TLS = &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
	})
	if err := s.WriteBatch(ctx, batch(event, event)); err != nil {
		t.Fatal(err)
	}
	want := "<14>1 2025-02-12T14:32:15Z host ingestd - - - " + event
	lines := r.lines(t, "raw.log", 2)
	for i, got := range lines {
		if got != want {
			t.Errorf("message %d:\n got %s\nwant %s", i, got, want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if data, _ := os.ReadFile(filepath.Join(r.dir, "raw.log")); strings.Count(string(data), "\n") != 2 {
		t.Fatalf("rsyslog stored %d messages, want the 2 sent with a client certificate:\n%s", strings.Count(string(data), "\n"), data)
	}
}
