package snowflake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

func validOptions(t *testing.T) *Options {
	file, _ := testKeyFile(t)
	o := NewOptions()
	o.Account, o.User, o.PrivateKeyFile = "myorg-acct1", "ingester", file
	o.Database, o.Schema, o.Table = "DB", "PUBLIC", "EVENTS"
	return o
}

func keysOf(errs []sinks.FieldError) string {
	var ks []string
	for _, e := range errs {
		ks = append(ks, e.Key)
	}
	return strings.Join(ks, ",")
}

func TestValidOptionsAndDefaults(t *testing.T) {
	o := validOptions(t)
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if o.pipe() != "EVENTS-STREAMING" || o.baseURL().String() != "https://myorg-acct1.snowflakecomputing.com" {
		t.Fatalf("pipe %q url %q", o.pipe(), o.baseURL())
	}
	host, _ := os.Hostname()
	if o.ChannelPrefix != "ingestd-"+host || o.Compression != CompressionGzip || o.Timeout != DefaultTimeout {
		t.Fatalf("defaults %+v", o)
	}
	o.Account, o.Table, o.Pipe = "my_org-acct_1", "", "MY_PIPE"
	if o.pipe() != "MY_PIPE" || o.baseURL().Host != "my-org-acct-1.snowflakecomputing.com" {
		t.Fatalf("pipe %q host %q", o.pipe(), o.baseURL().Host)
	}
}

func TestInvalidOptions(t *testing.T) {
	empty := &Options{}
	if got := keysOf(empty.Validate()); got != "account,user,private_key_file,database,schema,pipe,channel_prefix,compression,timeout" {
		t.Fatalf("keys %s", got)
	}
	cases := []struct {
		key    string
		change func(*Options)
		msg    string
	}{
		{"account", func(o *Options) { o.Account = "my org" }, "letters"},
		{"user", func(o *Options) { o.User = `a"b` }, "JWT"},
		{"private_key_file", func(o *Options) { o.PrivateKeyFile = "/nonexistent" }, "no such file"},
		{"url", func(o *Options) { o.URL = "ftp://x" }, "https://"},
		{"url", func(o *Options) { o.URL = "https://u:p@x/path" }, "scheme://host"},
		{"pipe", func(o *Options) { o.Pipe = "P" }, "exclude"},
		{"channel_prefix", func(o *Options) { o.ChannelPrefix = "a/b" }, "must not contain"},
		{"compression", func(o *Options) { o.Compression = "zstd" }, `"zstd"`},
		{"timeout", func(o *Options) { o.Timeout = -time.Second }, "positive"},
		{"tls", func(o *Options) { o.URL = "http://localhost:1"; o.TLS = &TLS{} }, "https"},
		{"tls", func(o *Options) { o.TLS = &TLS{CertFile: "c.pem"} }, "go together"},
		{"tls.ca_file", func(o *Options) { o.TLS = &TLS{CAFile: "/nonexistent"} }, "no such file"},
	}
	for _, c := range cases {
		o := validOptions(t)
		c.change(o)
		errs := o.Validate()
		if len(errs) == 0 || errs[0].Key != c.key || !strings.Contains(errs[0].Msg, c.msg) {
			t.Errorf("%s: got %v, want %s containing %q", c.key, errs, c.key, c.msg)
		}
		if _, err := New("sf", o); err == nil {
			t.Errorf("%s: New accepted invalid options", c.key)
		}
	}
	for _, e := range (&Options{URL: "https://x/?secret"}).Validate() {
		if strings.Contains(e.Msg, "secret") {
			t.Fatalf("message quotes the url: %s", e.Msg)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b *pem.Block) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, key := testKeyFile(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakDER, _ := x509.MarshalPKCS8PrivateKey(weak)
	files := map[string]struct {
		path string
		msg  string // "" = accepted
	}{
		"pkcs1":     {write("pkcs1.pem", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), ""},
		"encrypted": {write("enc.p8", &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "is encrypted"},
		"legacy encrypted": {write("enc1.pem", &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}}),
			"is encrypted"},
		"ec":       {write("ec.p8", &pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "needs RSA"},
		"public":   {write("pub.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), "not a PKCS#8"},
		"garbage":  {write("bad.p8", &pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), "bad.p8"},
		"not pem":  {filepath.Join(dir, "nopem"), "no PEM block"},
		"no such":  {filepath.Join(dir, "missing"), "no such file"},
		"too weak": {write("weak.p8", &pem.Block{Type: "PRIVATE KEY", Bytes: weakDER}), "shorter than 2048"},
	}
	os.WriteFile(filepath.Join(dir, "nopem"), []byte("hello"), 0o600)
	for name, c := range files {
		_, err := loadKey(c.path)
		switch {
		case c.msg == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.msg != "" && (err == nil || !strings.Contains(err.Error(), c.msg)):
			t.Errorf("%s: err %v, want %q", name, err, c.msg)
		}
	}
}

func TestJWTAccount(t *testing.T) {
	for in, want := range map[string]string{"myorg-acct1": "MYORG-ACCT1", "xy12345.us-east-2.aws": "XY12345", "xy12345": "XY12345"} {
		if got := jwtAccount(in); got != want {
			t.Errorf("jwtAccount(%q) = %q, want %q", in, got, want)
		}
	}
}
