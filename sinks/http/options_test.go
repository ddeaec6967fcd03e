package http

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

func TestNewOptionsDefaults(t *testing.T) {
	want := &Options{Method: "POST", Format: "ndjson", Compression: "none", Timeout: 30 * time.Second}
	if o := NewOptions(); !reflect.DeepEqual(o, want) {
		t.Fatalf("defaults %+v, want %+v", *o, *want)
	}
}

// TestDocsExample loads the example of docs/sinks/http.md through the config loader, with its
// TLS files made real, so the page cannot drift from the options.
func TestDocsExample(t *testing.T) {
	page, err := os.ReadFile("../../docs/sinks/http.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(page)
	if m == nil {
		t.Fatal("docs/sinks/http.md has no yaml example")
	}
	ca := testpki.New(t)
	client := ca.Client(t)
	example := strings.NewReplacer(
		"/etc/ingestd/webhook-ca.pem", ca.CertFile,
		"/etc/ingestd/client.pem", client.CertFile,
		"/etc/ingestd/client-key.pem", client.KeyFile,
	).Replace(string(m[1]))
	t.Setenv("WEBHOOK_TOKEN", "tok-from-env")
	t.Setenv("WEBHOOK_API_KEY", "key-from-env")
	doc := "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\n" +
		"streams: [{id: s1, sinks: [webhook]}]\n" + example
	cfg, err := config.Parse([]byte(doc), "http.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	got := cfg.Sinks[0].Options.(*Options)
	want := &Options{
		URL:         "https://hooks.example.com/v1/events",
		Method:      "POST",
		Format:      "ndjson",
		Compression: "gzip",
		Headers:     map[string]string{"X-Team": "payments", "X-Api-Key": "key-from-env"},
		Auth:        &Auth{Bearer: "tok-from-env"},
		TLS:         &TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile, ServerName: "hooks.example.com"},
		Timeout:     30 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", *got, *want)
	}
	s, err := New("webhook", got)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(ctx)
}

func TestValidate(t *testing.T) {
	ca := testpki.New(t)
	client, other := ca.Client(t), ca.Client(t)
	caFile, certFile, keyFile, otherCert, otherKey := ca.CertFile, client.CertFile, client.KeyFile, other.CertFile, other.KeyFile
	missing := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := writeFile(t, "not.pem", []byte("hello"))

	f := func(edit func(o *Options), want ...sinks.FieldError) {
		t.Helper()
		o := NewOptions()
		o.URL = "https://hooks.example.com/x"
		edit(o)
		got := o.Validate()
		if len(got) != len(want) {
			t.Fatalf("%+v: got errors %v, want %v", *o, got, want)
		}
		for i := range want {
			if got[i].Key != want[i].Key || !strings.Contains(got[i].Msg, want[i].Msg) {
				t.Fatalf("%+v: error %d is %+v, want key %q and a message containing %q", *o, i, got[i], want[i].Key, want[i].Msg)
			}
			for _, secret := range []string{"s3cret-value", "hunter2"} {
				if strings.Contains(got[i].Msg, secret) {
					t.Fatalf("message %q shows a secret", got[i].Msg)
				}
			}
		}
		if len(want) > 0 {
			if _, err := New("hook", o); err == nil {
				t.Fatal("New took invalid options")
			}
		}
	}
	fe := func(key, msg string) sinks.FieldError { return sinks.FieldError{Key: key, Msg: msg} }

	// valid
	f(func(*Options) {})
	f(func(o *Options) { o.URL = "http://127.0.0.1:8080" })
	f(func(o *Options) { o.Method, o.Format, o.Compression = "put", "json_array", "zstd" })
	f(func(o *Options) { o.Compression = "gzip" })
	f(func(o *Options) {
		o.Headers = map[string]string{"X-A": "1", "Content-Type": "text/plain", "Host": "h", "Authorization": "Token s3cret-value", "x-b": "tab\tok"}
	})
	f(func(o *Options) { o.Auth = &Auth{Bearer: "s3cret-value"} })
	f(func(o *Options) { o.Auth = &Auth{Basic: &BasicAuth{User: "u"}} })
	f(func(o *Options) {
		o.TLS = &TLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "x", InsecureSkipVerify: true}
	})

	// url
	f(func(o *Options) { o.URL = "" }, fe("url", "is required"))
	f(func(o *Options) { o.URL = "hooks.example.com/x" }, fe("url", `must start with http:// or https://, not ":"`))
	f(func(o *Options) { o.URL = "ftp://hooks.example.com/x" }, fe("url", `not "ftp:"`))
	f(func(o *Options) { o.URL = "https:///x" }, fe("url", "has no host"))
	f(func(o *Options) { o.URL = "https://u:hunter2@host:port/x" }, fe("url", `is not a valid URL: invalid port ":port" after host`))
	f(func(o *Options) { o.URL = "https://h/\x7f" }, fe("url", "is not a valid URL: net/url: invalid control character in URL"))

	// method, format, compression
	f(func(o *Options) { o.Method = "GET" }, fe("method", `must be "POST" or "PUT", not "GET"`))
	f(func(o *Options) { o.Format = "csv" }, fe("format", `must be "ndjson" or "json_array", not "csv"`))
	f(func(o *Options) { o.Compression = "br" }, fe("compression", `must be "none", "gzip" or "zstd", not "br"`))

	// headers, each reported under its own key, in name order
	f(func(o *Options) {
		o.Headers = map[string]string{
			"Bad Name": "x", "content-length": "1", "Content-Encoding": "br", "Transfer-Encoding": "x",
			"Connection": "close", "X-Key": "s3cret-value\r\nX-Evil: 1", "X-Team": "a", "x-team": "b",
		}
	},
		fe("headers.Bad Name", "is not a valid header name"),
		fe("headers.Connection", "is set by the sink"),
		fe("headers.Content-Encoding", "is set by the sink"),
		fe("headers.Transfer-Encoding", "is set by the sink"),
		fe("headers.X-Key", "has a control character"),
		fe("headers.content-length", "is set by the sink"),
		fe("headers.x-team", `repeats header "X-Team" in another letter case`),
	)
	f(func(o *Options) { o.Headers = map[string]string{"": "x"} }, fe("headers.", "is not a valid header name"))
	f(func(o *Options) {
		o.Headers = map[string]string{"authorization": "Token s3cret-value"}
		o.Auth = &Auth{Bearer: "s3cret-value"}
	}, fe("headers.authorization", "conflicts with auth"))

	// auth
	f(func(o *Options) { o.Auth = &Auth{} }, fe("auth", "needs bearer: TOKEN or basic: {user, password}"))
	f(func(o *Options) {
		o.Auth = &Auth{Bearer: "s3cret-value", Basic: &BasicAuth{User: "u", Password: "hunter2"}}
	},
		fe("auth", "set either bearer or basic, not both"))
	f(func(o *Options) { o.Auth = &Auth{Basic: &BasicAuth{Password: "hunter2"}} }, fe("auth.basic.user", "is required"))
	f(func(o *Options) { o.Auth = &Auth{Basic: &BasicAuth{User: "a:b", Password: "hunter2"}} }, fe("auth.basic.user", "must not contain ':'"))

	// tls
	f(func(o *Options) { o.URL = "http://h/x"; o.TLS = &TLS{} }, fe("tls", "applies only to an https url"))
	f(func(o *Options) { o.TLS = &TLS{CAFile: missing} }, fe("tls.ca_file", "no such file"))
	f(func(o *Options) { o.TLS = &TLS{CAFile: notPEM} }, fe("tls.ca_file", "holds no PEM certificate"))
	f(func(o *Options) { o.TLS = &TLS{KeyFile: keyFile} }, fe("tls", "cert_file and key_file go together"))
	f(func(o *Options) { o.TLS = &TLS{CertFile: certFile} }, fe("tls", "cert_file and key_file go together"))
	f(func(o *Options) { o.TLS = &TLS{CertFile: missing, KeyFile: keyFile} }, fe("tls.cert_file", "no such file"))
	f(func(o *Options) { o.TLS = &TLS{CertFile: certFile, KeyFile: missing} }, fe("tls.key_file", "no such file"))
	f(func(o *Options) { o.TLS = &TLS{CertFile: certFile, KeyFile: otherKey} }, fe("tls.cert_file", "private key does not match public key"))
	f(func(o *Options) { o.TLS = &TLS{CertFile: otherKey, KeyFile: otherCert} }, fe("tls.cert_file", "failed to find"))

	// timeout
	f(func(o *Options) { o.Timeout = 0 }, fe("timeout", "must be positive, such as 30s; got 0s"))
	f(func(o *Options) { o.Timeout = -time.Second }, fe("timeout", "got -1s"))

	// every problem at once
	f(func(o *Options) {
		*o = Options{URL: "ftp://x", Method: "DELETE", Format: "xml", Compression: "lz4", Auth: &Auth{}, TLS: &TLS{KeyFile: keyFile}}
	},
		fe("url", "must start with http"), fe("method", "DELETE"), fe("format", "xml"), fe("compression", "lz4"),
		fe("auth", "needs"), fe("tls", "cert_file and key_file go together"), fe("timeout", "positive"))
}

// TestValidateThroughConfig: the loader reports the sink's problems at their lines.
func TestValidateThroughConfig(t *testing.T) {
	doc := "tokens: [{name: t, token: 0123456789abcdef, streams: ['*']}]\n" +
		"streams: [{id: s1, sinks: [hook]}]\n" +
		"sinks:\n" +
		"  - name: hook\n" +
		"    type: http\n" +
		"    url: ftp://x\n" +
		"    auth: {bearer: s3cret-value, basic: {user: u, password: hunter2}}\n" +
		"    timeout: 0s\n" +
		"    retries: 3\n"
	_, err := config.Parse([]byte(doc), "c.yaml")
	if err == nil {
		t.Fatal("no errors")
	}
	for _, want := range []string{
		`c.yaml:6: sinks[0].url: must start with http:// or https://, not "ftp:"`,
		"c.yaml:7: sinks[0].auth: set either bearer or basic, not both",
		"c.yaml:8: sinks[0].timeout: must be positive",
		"c.yaml:9: sinks[0].retries:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors\n%v\nlack %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "s3cret-value") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("errors show a secret:\n%v", err)
	}
}
