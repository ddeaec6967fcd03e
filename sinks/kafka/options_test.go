package kafka

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

func TestDefaultsAndYAML(t *testing.T) {
	o := NewOptions()
	src := `
brokers: [k1:9092, k2:9092]
key_field: event.transactionId
headers: {team: payments}
compression: lz4
sasl: {mechanism: scram-sha-512, username: u, password: p}
tls: {insecure_skip_verify: true}
`
	if err := yaml.Unmarshal([]byte(src), o); err != nil {
		t.Fatal(err)
	}
	if errs := o.Validate(); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if o.Topic != "{stream}" || o.Linger != 5*time.Millisecond || o.MaxBufferedRecords != DefaultMaxBufferedRecords ||
		o.ProducerBatchMaxBytes != 1<<20 || o.RequestTimeout != 30*time.Second || o.Compression != "lz4" ||
		!slices.Equal(o.Brokers, []string{"k1:9092", "k2:9092"}) || o.SASL.Mechanism != SASLScramSHA512 || !o.TLS.InsecureSkipVerify {
		t.Errorf("decoded %+v", o)
	}
	if NewOptions().Compression != CompressionZstd {
		t.Error("default compression is not zstd")
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	missing := filepath.Join(dir, "missing.pem")

	cases := []struct {
		name string
		edit func(*Options)
		want []string // keys of the errors, in order
	}{
		{"no brokers", func(o *Options) { o.Brokers = nil }, []string{"brokers"}},
		{"bad broker", func(o *Options) { o.Brokers = []string{"ok:9092", "", "kafka://x:1"} }, []string{"brokers[1]", "brokers[2]"}},
		{"empty topic", func(o *Options) { o.Topic = "" }, []string{"topic"}},
		{"unknown token", func(o *Options) { o.Topic = "{date}" }, []string{"topic"}},
		{"unclosed token", func(o *Options) { o.Topic = "x-{stream" }, []string{"topic"}},
		{"bad literal", func(o *Options) { o.Topic = "a/{stream}" }, []string{"topic"}},
		{"bad key field", func(o *Options) { o.KeyField = "event..id" }, []string{"key_field"}},
		{"reserved header", func(o *Options) { o.Headers = map[string]string{"stream_id": "x", "": "y"} }, []string{"headers", "headers.stream_id"}},
		{"compression", func(o *Options) { o.Compression = "brotli" }, []string{"compression"}},
		{"buffer", func(o *Options) { o.MaxBufferedRecords = 0 }, []string{"max_buffered_records"}},
		{"linger", func(o *Options) { o.Linger = -time.Millisecond }, []string{"linger"}},
		{"batch bytes", func(o *Options) { o.ProducerBatchMaxBytes = 100 }, []string{"producer_batch_max_bytes"}},
		{"sasl", func(o *Options) { o.SASL = &SASL{Mechanism: "gssapi"} }, []string{"sasl.mechanism", "sasl.username", "sasl.password"}},
		{"ca not pem", func(o *Options) { o.TLS = &tlsfiles.Client{CAFile: notPEM} }, []string{"tls.ca_file"}},
		{"ca missing", func(o *Options) { o.TLS = &tlsfiles.Client{CAFile: missing} }, []string{"tls.ca_file"}},
		{"key without cert", func(o *Options) { o.TLS = &tlsfiles.Client{KeyFile: notPEM} }, []string{"tls"}},
		{"cert without key", func(o *Options) { o.TLS = &tlsfiles.Client{CertFile: notPEM} }, []string{"tls"}},
		{"bad pair", func(o *Options) { o.TLS = &tlsfiles.Client{CertFile: notPEM, KeyFile: notPEM} }, []string{"tls.cert_file"}},
		{"timeout", func(o *Options) { o.RequestTimeout = 500 * time.Millisecond }, []string{"request_timeout"}},
		{"several", func(o *Options) { o.Brokers, o.Compression = nil, "x" }, []string{"brokers", "compression"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := NewOptions()
			o.Brokers = []string{"localhost:9092"}
			c.edit(o)
			errs := o.Validate()
			keys := make([]string, len(errs))
			for i, e := range errs {
				keys[i] = e.Key
				if e.Msg == "" {
					t.Errorf("%s: empty message", e.Key)
				}
			}
			if !slices.Equal(keys, c.want) {
				t.Errorf("errors %v, want keys %v", errs, c.want)
			}
			if _, err := New("k", o); err == nil {
				t.Error("New accepted invalid options")
			}
		})
	}
}

func TestValidateKeepsPasswordSecret(t *testing.T) {
	o := NewOptions()
	o.SASL = &SASL{Mechanism: "bogus", Username: "u", Password: "hunter2-secret"}
	_, err := New("k", o)
	if err == nil || strings.Contains(err.Error(), "hunter2-secret") {
		t.Errorf("err %v", err)
	}
}

func TestTopicExpand(t *testing.T) {
	tt, err := parseTopic("in.{stream}.{stream_id}-x")
	if err != nil {
		t.Fatal(err)
	}
	got := tt.expand(nil, &sinks.Batch{Stream: "pay", StreamID: "s-1"})
	if string(got) != "in.pay.s-1-x" {
		t.Errorf("expanded %q", got)
	}
}
