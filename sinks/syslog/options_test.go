package syslog

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/internal/testpki"
)

func TestDefaults(t *testing.T) {
	o := NewOptions()
	want := &Options{Transport: "tcp", Format: "rfc5424", Framing: "octet_counting", Facility: "user",
		Severity: "info", AppName: "ingestd", Timeout: 10 * time.Second}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("NewOptions() = %+v", o)
	}
	o.Address = "logs.example.com:6514"
	if errs := o.Validate(); len(errs) != 0 {
		t.Errorf("defaults with an address: %v", errs)
	}
}

// fe is an expected FieldError; a msg of "x" stands for a message from another package.
type fe struct{ key, msg string }

func TestValidate(t *testing.T) {
	ca := testpki.New(t)
	client := ca.Client(t)
	certFile, keyFile := client.CertFile, client.KeyFile
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("nothing"), 0o600)
	cases := []struct {
		name string
		edit func(*Options)
		want []fe
	}{
		{"no address", func(o *Options) { o.Address = "" }, []fe{{"address", "is required, as host:port"}}},
		{"no port", func(o *Options) { o.Address = "host" }, []fe{{"address", "must be host:port: address host: missing port in address"}}},
		{"bad port", func(o *Options) { o.Address = "host:99999" }, []fe{{"address", `needs a host and a port from 1 to 65535, not "host:99999"`}}},
		{"no host", func(o *Options) { o.Address = ":514" }, []fe{{"address", `needs a host and a port from 1 to 65535, not ":514"`}}},
		{"transport", func(o *Options) { o.Transport = "relp" }, []fe{{"transport", `must be "tcp", "tls" or "udp", not "relp"`}}},
		{"format", func(o *Options) { o.Format = "cef" }, []fe{{"format", `must be "rfc5424" or "rfc3164", not "cef"`}}},
		{"framing", func(o *Options) { o.Framing = "lf" }, []fe{{"framing", `must be "octet_counting" or "non_transparent", not "lf"`}}},
		{"facility", func(o *Options) { o.Facility = "local8" }, []fe{{"facility", "must be one of " + strings.Join(facilities, ", ") + `, not "local8"`}}},
		{"severity", func(o *Options) { o.Severity = "8" }, []fe{{"severity", "must be one of " + strings.Join(severities, ", ") + `, not "8"`}}},
		{"names and numbers", func(o *Options) { o.Facility, o.Severity = "23", "warn" }, nil},
		{"field paths", func(o *Options) {
			o.FacilityField, o.SeverityField, o.AppNameField, o.MsgIDField, o.MessageField = "a..b", "ok", "a b", "", "."
		}, []fe{{"facility_field", "x"}, {"app_name_field", "x"}, {"message_field", "x"}}},
		{"app name", func(o *Options) { o.AppName = "my app" }, []fe{{"app_name", "must be printable ASCII without spaces"}}},
		{"empty app name", func(o *Options) { o.AppName = "" }, []fe{{"app_name", "must not be empty"}}},
		{"long app name", func(o *Options) { o.AppName = strings.Repeat("a", 49) }, []fe{{"app_name", "is longer than 48 bytes"}}},
		{"hostname", func(o *Options) { o.Hostname = "h\u00e9" }, []fe{{"hostname", "must be printable ASCII without spaces"}}},
		{"3164 without msgid and sd", func(o *Options) {
			o.Format, o.MsgIDField = FormatRFC3164, "id"
			o.StructuredData = map[string]map[string]string{"a@1": {"b": "c"}}
		}, []fe{{"msgid_field", "applies only to format rfc5424"}, {"structured_data", "applies only to format rfc5424"}}},
		{"structured data", func(o *Options) {
			o.StructuredData = map[string]map[string]string{
				"bad id": {"p": "x"}, "ok@1": {"a=b": "x", "good": "..", "fine": "y"}, "none@1": {},
			}
		}, []fe{
			{"structured_data.bad id", "SD-ID must be printable ASCII without spaces"},
			{"structured_data.none@1", "needs at least one param: field path"},
			{"structured_data.ok@1.a=b", `param name must not contain '=', ']' or '"'`},
			{"structured_data.ok@1.good", "x"},
		}},
		{"tls on tcp", func(o *Options) { o.TLS = &TLS{} }, []fe{{"tls", "applies only to transport tls"}}},
		{"tls files", func(o *Options) {
			o.Transport, o.TLS = TransportTLS, &TLS{CAFile: notPEM, KeyFile: keyFile}
		}, []fe{{"tls", "cert_file and key_file go together"}, {"tls.ca_file", notPEM + " holds no PEM certificate"}}},
		{"tls cert without key", func(o *Options) { o.Transport, o.TLS = TransportTLS, &TLS{CertFile: certFile} },
			[]fe{{"tls", "cert_file and key_file go together"}}},
		{"tls missing key", func(o *Options) {
			o.Transport, o.TLS = TransportTLS, &TLS{CertFile: certFile, KeyFile: notPEM + ".gone"}
		}, []fe{{"tls.key_file", "open " + notPEM + ".gone: no such file or directory"}}},
		{"tls mismatched", func(o *Options) { o.Transport, o.TLS = TransportTLS, &TLS{CertFile: certFile, KeyFile: certFile} },
			[]fe{{"tls.cert_file", "x"}}},
		{"tls good", func(o *Options) {
			o.Transport, o.TLS = TransportTLS, &TLS{CAFile: ca.CertFile, CertFile: certFile, KeyFile: keyFile}
		}, nil},
		{"timeout", func(o *Options) { o.Timeout = 0 }, []fe{{"timeout", "must be positive, such as 10s; got 0s"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := NewOptions()
			o.Address = "127.0.0.1:514"
			c.edit(o)
			got := o.Validate()
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i].Key != c.want[i].key || c.want[i].msg != "x" && got[i].Msg != c.want[i].msg {
					t.Errorf("error %d: got %v, want %v", i, got[i], c.want[i])
				}
			}
			if _, err := New("x", o); (err == nil) != (len(c.want) == 0) {
				t.Errorf("New: %v", err)
			}
		})
	}
}
