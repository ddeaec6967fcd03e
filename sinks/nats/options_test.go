package nats

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func TestValidate(t *testing.T) {
	file := writeTemp(t, "x", []byte("x"))
	missing := filepath.Join(t.TempDir(), "missing")
	f := func(edit func(o *Options), want ...string) {
		t.Helper()
		o := NewOptions()
		o.URL = "nats://a:4222, nats://b:4222"
		edit(o)
		var got []string
		for _, e := range o.Validate() {
			got = append(got, e.Key)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Validate keys = %v, want %v (%v)", got, want, o.Validate())
		}
	}
	f(func(o *Options) {}) // the defaults with a url are valid
	f(func(o *Options) {
		o.URL = "tls://u:p@a:4222"
		o.Subject, o.StreamName, o.MsgIDField = "x.{stream_id}.y", "EVENTS", "event.id"
		o.Credentials = &Credentials{CredsFile: file}
		o.TLS = &TLS{CAFile: file, CertFile: file, KeyFile: file}
	})
	f(func(o *Options) { o.URL = "" }, "url")
	f(func(o *Options) { o.URL = "http://a:4222" }, "url")
	f(func(o *Options) { o.URL = "nats://a:1,nats://" }, "url")
	f(func(o *Options) { o.URL = "nats://a:1,%zz" }, "url")
	f(func(o *Options) { o.Subject = "" }, "subject")
	f(func(o *Options) { o.Subject = "a.{name}" }, "subject")
	f(func(o *Options) { o.Subject = "a.{stream" }, "subject")
	f(func(o *Options) { o.Subject = "a..b" }, "subject")
	f(func(o *Options) { o.Subject = "a.>" }, "subject")
	f(func(o *Options) { o.Subject = "a b" }, "subject")
	f(func(o *Options) { o.StreamName = "a.b" }, "stream_name")
	f(func(o *Options) { o.MsgIDField = "a..b" }, "msg_id_field")
	f(func(o *Options) { o.MaxPending = 0 }, "max_pending")
	f(func(o *Options) { o.AckTimeout = -time.Second }, "ack_timeout")
	f(func(o *Options) { o.Credentials = &Credentials{} }, "credentials")
	f(func(o *Options) { o.Credentials = &Credentials{Token: "t", User: "u"} }, "credentials")
	f(func(o *Options) { o.Credentials = &Credentials{Password: "secret"} }, "credentials.user")
	f(func(o *Options) { o.Credentials = &Credentials{CredsFile: missing} }, "credentials.creds_file")
	f(func(o *Options) { o.Credentials = &Credentials{NkeyFile: missing} }, "credentials.nkey_file")
	f(func(o *Options) { o.TLS = &TLS{CAFile: missing} }, "tls.ca_file")
	f(func(o *Options) { o.TLS = &TLS{KeyFile: file} }, "tls.key_file")
	f(func(o *Options) { o.TLS = &TLS{CertFile: file} }, "tls.cert_file")
	f(func(o *Options) { o.URL, o.MaxPending, o.AckTimeout = "", 0, 0 }, "url", "max_pending", "ack_timeout")
}

// TestValidateHidesSecrets: no message repeats a password, even one in the url.
func TestValidateHidesSecrets(t *testing.T) {
	o := NewOptions()
	o.URL = "http://user:hunter2pw@a:4222"
	o.Credentials = &Credentials{Password: "hunter2pw"}
	for _, e := range o.Validate() {
		if strings.Contains(e.Msg, "hunter2pw") {
			t.Fatalf("%s: %s", e.Key, e.Msg)
		}
	}
}

// TestCredentialsConnect: the sink authenticates with each kind of credentials the server
// requires, and an unreadable nkey file fails Connect.
func TestCredentialsConnect(t *testing.T) {
	srv := startServer(t, t.TempDir(), -1, func(o *server.Options) { o.Username, o.Password = "ingestd", "pw" })
	st := createStream(t, "nats://ingestd:pw@"+srv.Addr().String(), "EVENTS", nil, "ingestd.>")
	wantDelivered(t, newSink(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{User: "ingestd", Password: "pw"} }), st)
	wantRefused(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{User: "ingestd", Password: "wrong"} })

	tokSrv := startServer(t, t.TempDir(), -1, func(o *server.Options) { o.Authorization = "s3cret-token" })
	createStream(t, "nats://s3cret-token@"+tokSrv.Addr().String(), "EVENTS", nil, "ingestd.>")
	tok := newSink(t, tokSrv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{Token: "s3cret-token"} })
	if err := tok.WriteBatch(ctx, batch(lines)); err != nil {
		t.Fatal(err)
	}

	nkey := writeTemp(t, "seed.nk", []byte("not a seed"))
	connectErr(t, unconnected(t, srv.ClientURL(), func(o *Options) { o.Credentials = &Credentials{NkeyFile: nkey} }), "an nkey file without a seed")
}
