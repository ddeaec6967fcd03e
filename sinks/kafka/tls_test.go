package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// testPKI is a CA and a certificate it signed for 127.0.0.1, written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	cert                      tls.Certificate
}

func newPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := testPKI{
		caFile:   write("ca.pem", "CERTIFICATE", caDER),
		certFile: write("cert.pem", "CERTIFICATE", leafDER),
		keyFile:  write("key.pem", "EC PRIVATE KEY", keyDER),
	}
	if p.cert, err = tls.LoadX509KeyPair(p.certFile, p.keyFile); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLS produces to a cluster that requires client certificates, trusting its CA by file.
func TestTLS(t *testing.T) {
	pki := newPKI(t)
	pool, _ := tlsfiles.LoadCAs(pki.caFile)
	srv := &tls.Config{Certificates: []tls.Certificate{pki.cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	c := newCluster(t, 1, []string{"t"}, kfake.TLS(srv))
	o := testOptions(c)
	o.Topic = "t"
	o.TLS = &TLS{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}
	s := newSink(t, o)
	if err := s.WriteBatch(context.Background(), batch("t", "s1", event(0, `"a"`))); err != nil {
		t.Fatal(err)
	}
	// Without the CA the broker's certificate is refused: retryable, since the broker or the
	// files may be fixed, and the message says why.
	o.TLS = &TLS{CertFile: pki.certFile, KeyFile: pki.keyFile}
	o.RequestTimeout = time.Second
	bad := newSink(t, o)
	err := bad.WriteBatch(context.Background(), batch("t", "s1", event(1, `"a"`)))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted broker: %v", err)
	}
}

// TestDocsExample loads the example of docs/sinks/kafka.md through the config loader, with its
// TLS files made real, so the page cannot drift from the options.
func TestDocsExample(t *testing.T) {
	page, err := os.ReadFile("../../docs/sinks/kafka.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(page)
	if m == nil {
		t.Fatal("docs/sinks/kafka.md has no yaml example")
	}
	pki := newPKI(t)
	example := strings.NewReplacer(
		"/etc/ingestd/kafka-ca.pem", pki.caFile,
		"/etc/ingestd/client.pem", pki.certFile,
		"/etc/ingestd/client-key.pem", pki.keyFile,
	).Replace(string(m[1]))
	t.Setenv("KAFKA_PASSWORD", "pw-from-env")
	doc := "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\n" +
		"streams: [{id: s1, sinks: [events-kafka]}]\n" + example
	cfg, err := config.Parse([]byte(doc), "kafka.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	got := cfg.Sinks[0].Options.(*Options)
	want := &Options{
		Brokers:               []string{"kafka-1:9092", "kafka-2:9092"},
		Topic:                 "ingest.{stream}",
		KeyField:              "event.transactionId",
		Headers:               map[string]string{"source-system": "ingestd"},
		Compression:           "zstd",
		Linger:                5 * time.Millisecond,
		MaxBufferedRecords:    10000,
		ProducerBatchMaxBytes: 1 << 20,
		RequestTimeout:        30 * time.Second,
		SASL:                  &SASL{Mechanism: "scram-sha-512", Username: "ingestd", Password: "pw-from-env"},
		TLS:                   &TLS{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", *got, *want)
	}
	s, err := New("events-kafka", got)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(context.Background())
}
