package tlsfiles

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

// TestPool: Open builds and replaces the transport, a failed Open keeps the one in place, and
// Close is safe before Open and twice.
func TestPool(t *testing.T) {
	var p Pool
	p.Close()
	if err := p.Open(nil, time.Second, 2, 3); err != nil || p.Transport == nil {
		t.Fatalf("Open with the defaults: %v, transport %v", err, p.Transport)
	}
	if p.MaxIdleConns != 6 || p.MaxIdleConnsPerHost != 3 || p.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("transport: %d idle, %d per host, skip verify %v", p.MaxIdleConns, p.MaxIdleConnsPerHost, p.TLSClientConfig.InsecureSkipVerify)
	}
	first := p.Transport
	if err := p.Open(&Client{InsecureSkipVerify: true}, time.Second, 1, 1); err != nil || p.Transport == first || !p.TLSClientConfig.InsecureSkipVerify {
		t.Fatalf("second Open: %v, replaced %v", err, p.Transport != first)
	}
	kept := p.Transport
	err := p.Open(&Client{CAFile: filepath.Join(t.TempDir(), "missing.pem")}, time.Second, 1, 1)
	if err == nil || !strings.HasPrefix(err.Error(), "tls.ca_file: open ") || p.Transport != kept {
		t.Fatalf("Open with a missing CA file: %v, transport kept %v", err, p.Transport == kept)
	}
	p.Close()
	p.Close()
}

// TestClient: a block read from files a test CA issued gives the settings it names; each
// unreadable or mismatched file is reported under its option, and Check adds the half pair.
func TestClient(t *testing.T) {
	cfg, key, err := (*Client)(nil).Config()
	if err != nil || key != "" || cfg.MinVersion != tls.VersionTLS12 || cfg.RootCAs != nil || len(cfg.Certificates) != 0 {
		t.Fatalf("defaults: %+v, %q, %v", cfg, key, err)
	}

	ca := testpki.New(t)
	client, other := ca.Client(t), ca.Client(t)
	full := &Client{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile, ServerName: "logs.example.com", InsecureSkipVerify: true}
	cfg, key, err = full.Config()
	if err != nil || key != "" {
		t.Fatalf("Config: %q, %v", key, err)
	}
	if !cfg.RootCAs.Equal(ca.Pool) || cfg.ServerName != "logs.example.com" || !cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("config %+v", cfg)
	}
	if len(cfg.Certificates) != 1 || !reflect.DeepEqual(cfg.Certificates[0].Certificate, client.TLS.Certificate) {
		t.Errorf("client certificate %+v, want the one in %s", cfg.Certificates, client.CertFile)
	}

	dir := t.TempDir()
	missing, notPEM := filepath.Join(dir, "missing.pem"), filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		block Client
		want  []string // key: message, as Check adds them
	}{
		{"complete", *full, nil},
		{"no such CA file", Client{CAFile: missing}, []string{"tls.ca_file: open " + missing + ": no such file or directory"}},
		{"CA file without PEM", Client{CAFile: notPEM}, []string{"tls.ca_file: " + notPEM + " holds no PEM certificate"}},
		{"no such certificate", Client{CertFile: missing, KeyFile: client.KeyFile}, []string{"tls.cert_file: open " + missing + ": no such file or directory"}},
		{"no such key", Client{CertFile: client.CertFile, KeyFile: missing}, []string{"tls.key_file: open " + missing + ": no such file or directory"}},
		{"another certificate's key", Client{CertFile: client.CertFile, KeyFile: other.KeyFile},
			[]string{"tls.cert_file: " + client.CertFile + " and " + other.KeyFile + ": tls: private key does not match public key"}},
		{"certificate alone", Client{CertFile: client.CertFile}, []string{"tls: cert_file and key_file go together"}},
		{"key alone, bad CA", Client{CAFile: notPEM, KeyFile: client.KeyFile},
			[]string{"tls: cert_file and key_file go together", "tls.ca_file: " + notPEM + " holds no PEM certificate"}},
	} {
		var got []string
		c.block.Check(func(key, msg string) { got = append(got, key+": "+msg) })
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Check gave %q, want %q", c.name, got, c.want)
		}
	}
}
