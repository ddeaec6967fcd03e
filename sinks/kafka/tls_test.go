package kafka

import (
	"context"
	"crypto/tls"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// TestTLS produces to a cluster that requires client certificates, trusting its CA by file.
func TestTLS(t *testing.T) {
	ca := testpki.New(t)
	client := ca.Client(t)
	c := newCluster(t, 1, []string{"t"}, kfake.TLS(ca.ServerConfig(t, tls.RequireAndVerifyClientCert)))
	o := testOptions(c)
	o.Topic = "t"
	o.TLS = &tlsfiles.Client{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
	s := newSink(t, o)
	if err := s.WriteBatch(context.Background(), batch("t", "s1", event(0, `"a"`))); err != nil {
		t.Fatal(err)
	}
	// Without the CA the broker's certificate is refused: retryable, since the broker or the
	// files may be fixed, and the message says why.
	o.TLS = &tlsfiles.Client{CertFile: client.CertFile, KeyFile: client.KeyFile}
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
	ca := testpki.New(t)
	client := ca.Client(t)
	example := strings.NewReplacer(
		"/etc/ingestd/kafka-ca.pem", ca.CertFile,
		"/etc/ingestd/client.pem", client.CertFile,
		"/etc/ingestd/client-key.pem", client.KeyFile,
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
		TLS:                   &tlsfiles.Client{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile},
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
