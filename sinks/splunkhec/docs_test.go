package splunkhec_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/splunkhec"
)

// The config example in the docs loads through the config loader as written (its TLS files
// made real), and its stored event turns into the envelope the docs show, as a bare server that
// keeps the request body (standing for HEC's event endpoint) receives it.
func TestDocsExample(t *testing.T) {
	page, err := os.ReadFile("../../docs/sinks/splunk_hec.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(fence string, nth int) string {
		parts := strings.Split(string(page), "```"+fence+"\n")
		return parts[nth][:strings.Index(parts[nth], "```")]
	}
	dir := t.TempDir()
	writeKeyPair(t, dir)
	yaml := "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\nstreams: [{id: s1, sinks: [splunk]}]\n" +
		strings.ReplaceAll(block("yaml", 1), "/etc/ingestd/", dir+"/")
	t.Setenv("SPLUNK_HEC_TOKEN", "0f3c6e1a-8b2d-4e5f-9a7b-1c2d3e4f5a6b")
	cfg, err := config.Parse([]byte(yaml), "splunk_hec.md")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Sinks[0].Options.(*splunkhec.Options)
	if o.Token != "0f3c6e1a-8b2d-4e5f-9a7b-1c2d3e4f5a6b" || !o.Ack.Enabled || o.Ack.Timeout != 2*time.Minute || o.Fields["env"] != "metadata.env" {
		t.Fatalf("options %+v", o)
	}
	if _, err := splunkhec.New("splunk", o); err != nil {
		t.Fatal(err)
	}

	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	o.URL, o.TLS, o.Compression, o.Ack.Enabled = srv.URL, nil, splunkhec.CompressionNone, false
	s, err := splunkhec.New("splunk", o)
	if err != nil {
		t.Fatal(err)
	}
	s.Connect(context.Background())
	defer s.Close(context.Background())
	if err := s.WriteBatch(context.Background(), &sinks.Batch{Data: []byte(block("json", 1)), Events: 1}); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(block("json", 2), "\n"); string(body) != want {
		t.Fatalf("sent\n%s\ndocs show\n%s", body, want)
	}
}

// writeKeyPair writes a self-signed certificate as splunk-ca.pem and client.pem, with its key.
func writeKeyPair(t *testing.T, dir string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ingestd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, data := range map[string][]byte{
		"splunk-ca.pem":  cert,
		"client.pem":     cert,
		"client-key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
