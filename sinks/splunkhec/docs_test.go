package splunkhec_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
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
	ca := testpki.New(t)
	client := ca.Client(t)
	yaml := "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\nstreams: [{id: s1, sinks: [splunk]}]\n" +
		strings.NewReplacer(
			"/etc/ingestd/splunk-ca.pem", ca.CertFile,
			"/etc/ingestd/client.pem", client.CertFile,
			"/etc/ingestd/client-key.pem", client.KeyFile,
		).Replace(block("yaml", 1))
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
