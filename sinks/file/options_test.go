package file

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ingestd/ingestd/sinks"
)

func TestNewOptionsDefaults(t *testing.T) {
	o := NewOptions()
	if o.Path != "" || o.MaxFileBytes != 128<<20 || o.Fsync != "batch" || o.FileMode != "0644" {
		t.Fatalf("defaults: %+v", *o)
	}
}

func TestOptionsFromYAML(t *testing.T) {
	f := func(doc string, want Options) {
		t.Helper()
		o := NewOptions()
		dec := yaml.NewDecoder(strings.NewReader(doc))
		dec.KnownFields(true)
		if err := dec.Decode(o); err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		if *o != want {
			t.Fatalf("decode %q: got %+v, want %+v", doc, *o, want)
		}
		if errs := o.Validate(); errs != nil {
			t.Fatalf("decode %q: unexpected errors %v", doc, errs)
		}
	}
	// only the required key: the rest keep their defaults
	f(`path: "./data/{stream}/events-{date}.ndjson"`,
		Options{Path: "./data/{stream}/events-{date}.ndjson", MaxFileBytes: DefaultMaxFileBytes, Fsync: "batch", FileMode: "0644"})
	// every key
	f("path: /var/lib/ingestd/{date}.ndjson\nmax_file_bytes: 0\nfsync: none\nfile_mode: \"0600\"\n",
		Options{Path: "/var/lib/ingestd/{date}.ndjson", MaxFileBytes: 0, Fsync: "none", FileMode: "0600"})
}

func TestValidate(t *testing.T) {
	f := func(edit func(o *Options), want ...sinks.FieldError) {
		t.Helper()
		o := NewOptions()
		o.Path = "data/{stream}/events-{date}.ndjson"
		edit(o)
		got := o.Validate()
		if len(got) != len(want) {
			t.Fatalf("%+v: got errors %v, want %v", *o, got, want)
		}
		for i := range want {
			if got[i].Key != want[i].Key || !strings.Contains(got[i].Msg, want[i].Msg) {
				t.Fatalf("%+v: error %d is %+v, want key %q and a message containing %q", *o, i, got[i], want[i].Key, want[i].Msg)
			}
		}
	}
	fe := func(key, msg string) sinks.FieldError { return sinks.FieldError{Key: key, Msg: msg} }

	// valid
	f(func(*Options) {})
	f(func(o *Options) { o.Path = "events.ndjson" })
	f(func(o *Options) { o.Path = "/abs/{stream}-{stream}/{date}/{date}" })
	f(func(o *Options) { o.Path = "odd}name" })
	f(func(o *Options) { o.MaxFileBytes = 0 })
	f(func(o *Options) { o.Fsync = "none" })
	f(func(o *Options) { o.FileMode = "600" })
	f(func(o *Options) { o.FileMode = "0" })
	f(func(o *Options) { o.FileMode = "0777" })

	// path
	f(func(o *Options) { o.Path = "" }, fe("path", "is required"))
	f(func(o *Options) { o.Path = "data/{host}.ndjson" }, fe("path", `unknown placeholder "{host}"; allowed placeholders are {stream} and {date}`))
	f(func(o *Options) { o.Path = "data/{Stream}.ndjson" }, fe("path", `unknown placeholder "{Stream}"`))
	f(func(o *Options) { o.Path = "data/{}.ndjson" }, fe("path", `unknown placeholder "{}"`))
	f(func(o *Options) { o.Path = "data/{stream" }, fe("path", `unclosed "{"`))
	f(func(o *Options) { o.Path = "data/{stream}/" }, fe("path", "must name a file, not a directory"))

	// max_file_bytes
	f(func(o *Options) { o.MaxFileBytes = -1 }, fe("max_file_bytes", "must be 0 (no size rotation) or a positive number of bytes"))

	// fsync
	f(func(o *Options) { o.Fsync = "always" }, fe("fsync", `must be "batch" or "none", not "always"`))
	f(func(o *Options) { o.Fsync = "" }, fe("fsync", `not ""`))

	// file_mode
	f(func(o *Options) { o.FileMode = "0999" }, fe("file_mode", `must be an octal permission from 0 to 0777 such as "0644", not "0999"`))
	f(func(o *Options) { o.FileMode = "01777" }, fe("file_mode", `not "01777"`))
	f(func(o *Options) { o.FileMode = "rw-r--r--" }, fe("file_mode", `not "rw-r--r--"`))
	f(func(o *Options) { o.FileMode = "" }, fe("file_mode", `not ""`))

	// every problem at once, in key order
	f(func(o *Options) { *o = Options{MaxFileBytes: -5, Fsync: "sometimes", FileMode: "x"} },
		fe("path", "is required"), fe("max_file_bytes", "positive"), fe("fsync", "sometimes"), fe("file_mode", `"x"`))
}

func TestTemplateDir(t *testing.T) {
	f := func(path, want string) {
		t.Helper()
		tm, err := parseTemplate(path)
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		if tm.dir != want {
			t.Fatalf("%q: dir %q, want %q", path, tm.dir, want)
		}
	}
	f("./data/{stream}/events-{date}.ndjson", "data")
	f("data/events-{date}.ndjson", "data")
	f("data/sub/events.ndjson", "data/sub")
	f("{stream}.ndjson", ".")
	f("events.ndjson", ".")
	f("/srv/{stream}.ndjson", "/srv")
	f("/{stream}.ndjson", "/")
}

func TestTemplateExpand(t *testing.T) {
	f := func(path, stream, at, want string) {
		t.Helper()
		tm, err := parseTemplate(path)
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		ts, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			t.Fatal(err)
		}
		buf := []byte("stale")
		for range 2 { // the second pass proves the buffer is reused from empty
			buf = tm.appendPath(buf[:0], stream, dayOf(ts.UnixNano()))
			if string(buf) != want {
				t.Fatalf("%q with stream %q at %s: got %q, want %q", path, stream, at, buf, want)
			}
		}
	}
	const tmpl = "d/{stream}/e-{date}.ndjson"

	// plain
	f(tmpl, "payments", "2026-11-26T10:00:00Z", "d/payments/e-2026-11-26.ndjson")
	f(tmpl, "Pay_ments-2.v1", "2026-11-26T10:00:00Z", "d/Pay_ments-2.v1/e-2026-11-26.ndjson")
	f("{stream}-{stream}.log", "a", "2026-11-26T10:00:00Z", "a-a.log")
	f("fixed.ndjson", "a", "2026-11-26T10:00:00Z", "fixed.ndjson")

	// stream keys that try to leave the directory become one harmless element
	f(tmpl, "../../etc", "2026-11-26T10:00:00Z", "d/.._.._etc/e-2026-11-26.ndjson")
	f(tmpl, "..", "2026-11-26T10:00:00Z", "d/_/e-2026-11-26.ndjson")
	f(tmpl, ".", "2026-11-26T10:00:00Z", "d/_/e-2026-11-26.ndjson")
	f(tmpl, "", "2026-11-26T10:00:00Z", "d/_/e-2026-11-26.ndjson")
	f(tmpl, "/etc/passwd", "2026-11-26T10:00:00Z", "d/_etc_passwd/e-2026-11-26.ndjson")
	f(tmpl, `a\b c:d`, "2026-11-26T10:00:00Z", "d/a_b_c_d/e-2026-11-26.ndjson")
	f(tmpl, "nul\x00byte", "2026-11-26T10:00:00Z", "d/nul_byte/e-2026-11-26.ndjson")
	f(tmpl, "été", "2026-11-26T10:00:00Z", "d/__t__/e-2026-11-26.ndjson")
	f(tmpl, "...", "2026-11-26T10:00:00Z", "d/.../e-2026-11-26.ndjson")

	// {date} is the UTC day of the receive time
	f(tmpl, "s", "2026-11-26T00:00:00Z", "d/s/e-2026-11-26.ndjson")
	f(tmpl, "s", "2026-11-26T23:59:59.999999999Z", "d/s/e-2026-11-26.ndjson")
	f(tmpl, "s", "2026-11-27T01:30:00+02:00", "d/s/e-2026-11-26.ndjson")
	f(tmpl, "s", "2026-11-26T22:30:00-02:00", "d/s/e-2026-11-27.ndjson")
	f(tmpl, "s", "1970-01-01T00:00:00Z", "d/s/e-1970-01-01.ndjson")
	f(tmpl, "s", "1969-12-31T23:59:59.5Z", "d/s/e-1969-12-31.ndjson")
	f(tmpl, "s", "2028-02-29T12:00:00Z", "d/s/e-2028-02-29.ndjson")
}
