package elasticsearch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverCert issues a certificate for 127.0.0.1.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "es-node"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// file writes the CA's certificate where tls.ca_file can point.
func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTLS runs the strict bulk receiver (standing in for an Elasticsearch node with TLS on)
// behind an httptest TLS server whose certificate a CA of the test's own issued: with that CA
// as tls.ca_file the batch is delivered; with another CA the handshake fails, as a retryable
// error that names the certificate problem, and nothing arrives.
func TestTLS(t *testing.T) {
	ca := newTestCA(t, "ingestd test CA")
	bs := &bulkServer{t: t, seen: map[int]int{}}
	bs.srv = httptest.NewUnstartedServer(http.HandlerFunc(bs.serve))
	bs.srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.serverCert(t)}}
	bs.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	bs.srv.StartTLS()
	t.Cleanup(bs.srv.Close)
	if !strings.HasPrefix(bs.srv.URL, "https://127.0.0.1:") {
		t.Fatalf("server URL %s", bs.srv.URL)
	}

	s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.TLS = &TLS{CAFile: ca.file(t)} })
	if err := s.WriteBatch(context.Background(), batchOf(3)); err != nil {
		t.Fatal(err)
	}
	if len(bs.docs) != 3 {
		t.Fatalf("%d documents arrived, want 3", len(bs.docs))
	}

	other := newTestCA(t, "another CA")
	s = newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.TLS = &TLS{CAFile: other.file(t)} })
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
