// Package testpki makes throwaway certificate authorities for the sinks' TLS tests: a CA
// (ECDSA P-256) issues server certificates for 127.0.0.1 and localhost, and client
// certificates, each written as PEM files into the test's temporary directories. It is meant
// for tests only.
package testpki

import (
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
	"testing"
	"time"
)

// ClientName is the common name of every client certificate, for servers that check who
// connected.
const ClientName = "ingestd-client"

// CA is a certificate authority made for one test.
type CA struct {
	CertFile string         // the CA's certificate as PEM, for a ca_file option
	Pool     *x509.CertPool // the CA alone: a server's ClientCAs or a client's RootCAs
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
}

// Pair is a certificate the CA issued and its key.
type Pair struct {
	CertFile, KeyFile string          // PEM files, for cert_file and key_file options
	TLS               tls.Certificate // for a tls.Config's Certificates
}

// New makes a CA, valid from an hour ago for a day, and writes its certificate as ca.pem.
func New(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := template(t, "ingestd test CA")
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	ca := &CA{Pool: x509.NewCertPool(), cert: cert, key: key}
	ca.Pool.AddCert(cert)
	ca.CertFile = writePEM(t, t.TempDir(), "ca.pem", "CERTIFICATE", der)
	return ca
}

// Server issues a server certificate for 127.0.0.1 and localhost.
func (ca *CA) Server(t testing.TB) Pair {
	t.Helper()
	tmpl := template(t, "localhost")
	tmpl.DNSNames = []string{"localhost"}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return ca.issue(t, tmpl)
}

// Client issues a client certificate named ClientName.
func (ca *CA) Client(t testing.TB) Pair {
	t.Helper()
	tmpl := template(t, ClientName)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.issue(t, tmpl)
}

// ServerConfig is a TLS server's config with a fresh Server certificate; with a clientAuth
// other than tls.NoClientCert it trusts this CA's client certificates.
func (ca *CA) ServerConfig(t testing.TB, clientAuth tls.ClientAuthType) *tls.Config {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS}, ClientAuth: clientAuth}
	if clientAuth != tls.NoClientCert {
		cfg.ClientCAs = ca.Pool
	}
	return cfg
}

// CertFile writes a certificate made elsewhere (such as an httptest server's) as a PEM file,
// for a ca_file option that trusts it alone.
func CertFile(t testing.TB, cert *x509.Certificate) string {
	t.Helper()
	return writePEM(t, t.TempDir(), "cert.pem", "CERTIFICATE", cert.Raw)
}

// issue signs tmpl with the CA for a new key and writes both, each pair in its own directory so
// that a test may issue several.
func (ca *CA) issue(t testing.TB, tmpl *x509.Certificate) Pair {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	leaf, err := x509.ParseCertificate(der)
	must(t, err)
	dir := t.TempDir()
	return Pair{
		CertFile: writePEM(t, dir, "cert.pem", "CERTIFICATE", der),
		KeyFile:  writePEM(t, dir, "key.pem", "PRIVATE KEY", keyDER),
		TLS:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
	}
}

// template is a certificate named cn with a random serial, valid from an hour ago (to allow for
// clock skew) for a day (longer than any test run).
func template(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	must(t, err)
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	return key
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// must ends the test on err: a helper that cannot make its certificates leaves nothing to test.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
