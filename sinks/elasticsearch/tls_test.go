package elasticsearch

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

// TestTLS runs the strict bulk receiver (standing in for an Elasticsearch node with TLS on)
// behind an httptest TLS server whose certificate a CA of the test's own issued: with that CA
// as tls.ca_file the batch is delivered; with another CA the handshake fails, as a retryable
// error that names the certificate problem, and nothing arrives.
func TestTLS(t *testing.T) {
	ca := testpki.New(t)
	bs := &bulkServer{t: t, seen: map[int]int{}}
	bs.srv = httptest.NewUnstartedServer(http.HandlerFunc(bs.serve))
	bs.srv.TLS = ca.ServerConfig(t, tls.NoClientCert)
	bs.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	bs.srv.StartTLS()
	t.Cleanup(bs.srv.Close)
	if !strings.HasPrefix(bs.srv.URL, "https://127.0.0.1:") {
		t.Fatalf("server URL %s", bs.srv.URL)
	}

	s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.TLS = &TLS{CAFile: ca.CertFile} })
	if err := s.WriteBatch(context.Background(), batchOf(3)); err != nil {
		t.Fatal(err)
	}
	if len(bs.docs) != 3 {
		t.Fatalf("%d documents arrived, want 3", len(bs.docs))
	}

	other := testpki.New(t)
	s = newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.TLS = &TLS{CAFile: other.CertFile} })
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
		t.Fatalf("wrong CA: kind %v, err %v", k, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "x509: certificate signed by unknown authority") || !strings.Contains(msg, "POST 127.0.0.1:") {
		t.Fatalf("wrong CA: %v", err)
	}
	if len(bs.docs) != 3 {
		t.Fatalf("%d documents arrived after the failed handshake", len(bs.docs))
	}
}
