package mask

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

const testKey = "0123456789abcdef-test-key"

// event holds a bit of everything: a free-text message, a card number as a string and as a
// JSON number, values that are never masked, and a subtree with an array.
const event = `{"source":"app","event":{"message":"mail bob@example.com now","card":"4111 1111 1111 1111","n":4111111111111111,"ok":true,"none":null,"amount":12.5},"user":{"email":"bob@example.com","tags":["a","bob@example.com"],"phone":"+1 (555) 123-4567"}}`

// hm is the pseudonym mode hash writes for s.
func hm(s string) string {
	mac := hmac.New(sha256.New, []byte(testKey))
	mac.Write([]byte(s))
	return "hmac:" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// newState compiles o, which must be valid, and returns a state of the step.
func newState(t testing.TB, o *Options) processor.State {
	t.Helper()
	p, errs := o.Compile(&processor.Env{})
	if errs != nil {
		t.Fatalf("Compile: %v", errs)
	}
	return p.NewState()
}

// opts returns the defaults with fields, changed by fn.
func opts(fn func(*Options), fields ...string) *Options {
	o := NewOptions()
	o.Fields = fields
	if fn != nil {
		fn(o)
	}
	return o
}

// process runs st on in twice (the second time on warm buffers) and returns what it made of
// it; it checks the contract of Process and that the output is one valid line of JSON.
func process(t testing.TB, st processor.State, in string) (string, processor.Outcome) {
	t.Helper()
	var got string
	var first processor.Outcome
	for i := range 2 {
		ev := []byte(in)
		dst := []byte("prefix:")
		out, o := st.Process(dst, ev, nil)
		if i == 1 && o != first {
			t.Fatalf("outcome %v, then %v", first, o)
		}
		first = o
		switch o {
		case processor.Unchanged:
			if &out[0] != &ev[0] || len(out) != len(ev) {
				t.Fatalf("Unchanged, but out is not the event")
			}
			got = string(out)
		case processor.Changed:
			if !strings.HasPrefix(string(out), "prefix:") {
				t.Fatalf("Changed, but out does not extend dst: %s", out)
			}
			got = string(out[len("prefix:"):])
		default:
			t.Fatalf("outcome %v", o)
		}
		if string(ev) != in {
			t.Fatalf("Process changed its input to %s", ev)
		}
	}
	if !json.Valid([]byte(got)) || strings.ContainsAny(got, "\r\n") {
		t.Fatalf("Process(%s) = %s: not one line of valid JSON", in, got)
	}
	return got, first
}

func TestModes(t *testing.T) {
	// f masks event with o and wants exactly want; want "" means Unchanged.
	f := func(o *Options, want string) {
		t.Helper()
		got, outcome := process(t, newState(t, o), event)
		if want == "" {
			want = event
			if outcome != processor.Unchanged {
				t.Fatalf("outcome %v, want Unchanged", outcome)
			}
		} else if outcome != processor.Changed {
			t.Fatalf("outcome %v, want Changed", outcome)
		}
		if got != want {
			t.Fatalf("Process:\n got %s\nwant %s", got, want)
		}
	}
	tmpl := func(message, card, n, email, tag string) string {
		return `{"source":"app","event":{"message":"` + message + `","card":"` + card + `","n":` + n +
			`,"ok":true,"none":null,"amount":12.5},"user":{"email":"` + email + `","tags":["a","` + tag +
			`"],"phone":"+1 (555) 123-4567"}}`
	}
	const card = "4111 1111 1111 1111"

	// Without detectors: every string and number of each field, whole.
	f(opts(nil, "event.message", "user"),
		`{"source":"app","event":{"message":"[REDACTED]","card":"4111 1111 1111 1111","n":4111111111111111,"ok":true,"none":null,"amount":12.5},`+
			`"user":{"email":"[REDACTED]","tags":["[REDACTED]","[REDACTED]"],"phone":"[REDACTED]"}}`)
	f(opts(func(o *Options) { o.Replacement = "<hidden>" }, "event.card", "event.n", "event.ok"),
		strings.NewReplacer(`"`+card+`"`, `"<hidden>"`, `4111111111111111`, `"<hidden>"`).Replace(event))
	f(opts(func(o *Options) { o.Mode = "partial" }, "event.message", "event.n", "user.email"),
		strings.NewReplacer(`"mail bob@example.com now"`, `"`+strings.Repeat("*", 20)+` now"`,
			`4111111111111111`, `"************1111"`, `"email":"bob@example.com"`, `"email":"***********.com"`).Replace(event))
	f(opts(func(o *Options) { o.Mode = "partial"; o.KeepLast = 2 }, "event.card"),
		strings.Replace(event, card, strings.Repeat("*", 17)+"11", 1))
	f(opts(func(o *Options) { o.Mode = "hash"; o.Key = testKey }, "event.message", "event.n", "user.tags"),
		strings.NewReplacer(`"mail bob@example.com now"`, `"`+hm("mail bob@example.com now")+`"`,
			`4111111111111111`, `"`+hm("4111111111111111")+`"`,
			`["a","bob@example.com"]`, `["`+hm("a")+`","`+hm("bob@example.com")+`"]`).Replace(event))
	f(opts(func(o *Options) { o.Mode = "remove" }, "event.message", "event.n", "user"),
		`{"source":"app","event":{"card":"`+card+`","ok":true,"none":null,"amount":12.5}}`)

	// With detectors: only what they match, in strings and numbers, at any depth.
	det := func(mode string) func(*Options) {
		return func(o *Options) {
			o.Detectors = []string{"email", "credit_card"}
			o.Mode = mode
			if mode == "hash" {
				o.Key = testKey
			}
		}
	}
	f(opts(det("redact"), "event", "user"),
		tmpl("mail [REDACTED] now", "[REDACTED]", `"[REDACTED]"`, "[REDACTED]", "[REDACTED]"))
	f(opts(det("partial"), "event", "user"),
		tmpl("mail ***********.com now", strings.Repeat("*", 15)+"1111", `"************1111"`, "***********.com", "***********.com"))
	f(opts(det("hash"), "event", "user"),
		tmpl("mail "+hm("bob@example.com")+" now", hm(card), `"`+hm("4111111111111111")+`"`, hm("bob@example.com"), hm("bob@example.com")))
	f(opts(det("remove"), "event", "user"), tmpl("mail  now", "", `""`, "", ""))
	f(opts(det("redact"), "user.tags"), tmpl("mail bob@example.com now", card, "4111111111111111", "bob@example.com", "[REDACTED]"))
	f(opts(func(o *Options) { o.Patterns = []string{`\bbob\b`} }, "event.message"),
		strings.Replace(event, "mail bob@", "mail [REDACTED]@", 1))

	// Nothing to mask: the event as it came, not a copy.
	f(opts(det("hash"), "source", "event.amount", "event.ok", "event.none", "missing", "user.email.x"), "")
	f(opts(nil, "missing.x"), "")
	f(opts(func(o *Options) { o.Mode = "remove" }, "missing", "event.message.x"), "")
	f(opts(func(o *Options) { o.Detectors = []string{"ssn"} }, "event", "user"), "")
}

func TestSubtrees(t *testing.T) {
	f := func(o *Options, in, want string) {
		t.Helper()
		if got, _ := process(t, newState(t, o), in); got != want {
			t.Fatalf("Process(%s):\n got %s\nwant %s", in, got, want)
		}
	}
	// Nested objects and arrays, at any depth; keys, bools and null stay.
	f(opts(nil, "a"),
		`{"a":{"b":[{"c":"x","d":[["y",1,-2.5e3]]},true,null],"bob@example.com":{}},"z":"keep"}`,
		`{"a":{"b":[{"c":"[REDACTED]","d":[["[REDACTED]","[REDACTED]","[REDACTED]"]]},true,null],"bob@example.com":{}},"z":"keep"}`)
	f(opts(func(o *Options) { o.Detectors = []string{"email"} }, "a", "c.d"),
		`{"a":["x bob@example.com",{"b":["ann@example.org"]}],"b":"bob@example.com","c":{"d":{"e":"bob@example.com"}}}`,
		`{"a":["x [REDACTED]",{"b":["[REDACTED]"]}],"b":"bob@example.com","c":{"d":{"e":"[REDACTED]"}}}`)
	// Numbers by their text: a card number is found, an amount is not.
	f(opts(func(o *Options) { o.Detectors = []string{"credit_card"}; o.Mode = "partial" }, "p"),
		`{"p":{"card":4111111111111111,"cards":[5555555555554444,12],"amount":-4111.5}}`,
		`{"p":{"card":"************1111","cards":["************4444",12],"amount":-4111.5}}`)
	// Escaped strings are masked by what they say and written back escaped as needed.
	f(opts(func(o *Options) { o.Detectors = []string{"email"} }, "m"),
		`{"m":"to: bob\u0040example.com\n\"ok\" \u00e9"}`,
		`{"m":"to: [REDACTED]\n\"ok\" é"}`)
	f(opts(func(o *Options) { o.Replacement = "a\"b\nc\\" }, "m"),
		`{"m":"x"}`, `{"m":"a\"b\nc\\"}`)
	// Duplicate keys: every occurrence is masked, whichever one a reader keeps.
	f(opts(nil, "a.b"), `{"a":{"b":"x"},"a":{"b":"y"}}`, `{"a":{"b":"[REDACTED]"},"a":{"b":"[REDACTED]"}}`)
	f(opts(func(o *Options) { o.Mode = "remove" }, "a.b"), `{"a":{"b":1,"c":2},"a":5}`, `{"a":{"c":2},"a":5}`)
	// An empty string masked whole is still masked.
	f(opts(nil, "a"), `{"a":""}`, `{"a":"[REDACTED]"}`)
}

func TestCompileErrors(t *testing.T) {
	f := func(o *Options, want ...processor.FieldError) {
		t.Helper()
		p, errs := o.Compile(&processor.Env{})
		if p != nil || !reflect.DeepEqual(errs, want) {
			t.Fatalf("Compile: %v,\n want %v", errs, want)
		}
		for _, e := range errs {
			if o.Key != "" && strings.Contains(e.Msg, o.Key) {
				t.Fatalf("%s: %s gives the key away", e.Key, e.Msg)
			}
		}
	}
	names := "aws_access_key, bearer_token, credit_card, email, ip, ipv4, ipv6, jwt, pem_private_key, phone, ssn"

	f(opts(nil), processor.FieldError{Key: "fields", Msg: "required: the paths of the fields to mask"})
	f(opts(nil, "event..x", "event", "event.card", "a", "a", "b.c", "b"),
		processor.FieldError{Key: "fields[0]", Msg: `field path "event..x": segment 2 is empty`},
		processor.FieldError{Key: "fields[2]", Msg: "lies inside fields[1] (event), which masks all of it already"},
		processor.FieldError{Key: "fields[4]", Msg: "repeats fields[3]"},
		processor.FieldError{Key: "fields[5]", Msg: "lies inside fields[6] (b), which masks all of it already"})
	f(opts(func(o *Options) { o.Detectors = []string{"email", "Email", ""} }, "a"),
		processor.FieldError{Key: "detectors[1]", Msg: `unknown detector "Email"; the built-in detectors are ` + names},
		processor.FieldError{Key: "detectors[2]", Msg: `unknown detector ""; the built-in detectors are ` + names})
	f(opts(func(o *Options) { o.Patterns = []string{`ord_\d+`, `(`, `x*`} }, "a"),
		processor.FieldError{Key: "patterns[1]", Msg: "pattern \"(\": error parsing regexp: missing closing ): `(`"},
		processor.FieldError{Key: "patterns[2]", Msg: `pattern "x*" matches the empty string`})
	f(opts(func(o *Options) { o.Mode = "scramble"; o.Key = "whatever-it-is-it-is-long" }, "a"),
		processor.FieldError{Key: "mode", Msg: `unknown mode "scramble"; the modes are redact, partial, hash, remove`})
	f(opts(func(o *Options) { o.Mode = "" }, "a"),
		processor.FieldError{Key: "mode", Msg: `unknown mode ""; the modes are redact, partial, hash, remove`})

	// Each mode's own settings.
	f(opts(func(o *Options) { o.Mode = "hash" }, "a"),
		processor.FieldError{Key: "key", Msg: "required by mode hash: an HMAC key of at least 16 bytes, best from the environment (key: ${MASK_KEY})"})
	f(opts(func(o *Options) { o.Mode = "hash"; o.Key = "s3cr3t-s3cr3t" }, "a"),
		processor.FieldError{Key: "key", Msg: "too short: 13 bytes; mode hash needs at least 16"})
	f(opts(func(o *Options) { o.Key = "s3cr3t-s3cr3t-s3cr3t" }, "a"),
		processor.FieldError{Key: "key", Msg: "only used by mode hash, not redact"})
	f(opts(func(o *Options) { o.Mode = "partial"; o.Replacement = "x" }, "a"),
		processor.FieldError{Key: "replacement", Msg: "only used by mode redact, not partial"})
	f(opts(func(o *Options) { o.Replacement = "\xff" }, "a"),
		processor.FieldError{Key: "replacement", Msg: "not valid UTF-8"})
	f(opts(func(o *Options) { o.Mode = "hash"; o.Key = testKey; o.KeepLast = 2 }, "a"),
		processor.FieldError{Key: "keep_last", Msg: "only used by mode partial, not hash"})
	f(opts(func(o *Options) { o.Mode = "partial"; o.KeepLast = 0 }, "a"),
		processor.FieldError{Key: "keep_last", Msg: "must be at least 1, not 0 (to reveal nothing, use mode redact)"})
	f(opts(func(o *Options) { o.Mode = "partial"; o.KeepLast = -3 }, "a"),
		processor.FieldError{Key: "keep_last", Msg: "must be at least 1, not -3 (to reveal nothing, use mode redact)"})

	// Every mistake at once.
	f(opts(func(o *Options) {
		o.Detectors = []string{"nope"}
		o.Mode = "remove"
		o.Replacement = "x"
		o.KeepLast = 1
		o.Key = "0123456789abcdef0123"
	}, "a", "a"),
		processor.FieldError{Key: "fields[1]", Msg: "repeats fields[0]"},
		processor.FieldError{Key: "detectors[0]", Msg: `unknown detector "nope"; the built-in detectors are ` + names},
		processor.FieldError{Key: "key", Msg: "only used by mode hash, not remove"},
		processor.FieldError{Key: "replacement", Msg: "only used by mode redact, not remove"},
		processor.FieldError{Key: "keep_last", Msg: "only used by mode partial, not remove"})
}

func TestConcurrent(t *testing.T) {
	// One step, a state per goroutine: go test -race finds any shared write.
	p, errs := opts(func(o *Options) { o.Detectors = []string{"email", "credit_card"}; o.Mode = "hash"; o.Key = testKey },
		"event", "user").Compile(nil)
	if errs != nil {
		t.Fatal(errs)
	}
	want, _ := process(t, p.NewState(), event)
	var wg sync.WaitGroup
	for range 4 {
		st := p.NewState()
		wg.Go(func() {
			var buf []byte
			for range 50 {
				out, _ := st.Process(buf[:0], []byte(event), nil)
				if string(out) != want {
					t.Errorf("got %s, want %s", out, want)
					return
				}
				buf = out
			}
		})
	}
	wg.Wait()
}

func TestUnchangedLeavesDst(t *testing.T) {
	// A step that masks nothing must not write dst, not even past its length: the pipeline
	// may hold data there.
	st := newState(t, opts(func(o *Options) { o.Detectors = []string{"credit_card"} }, "event"))
	backing := bytes.Repeat([]byte{'#'}, 1024)
	in := []byte(`{"event":{"message":"nothing here"}}`)
	if out, o := st.Process(backing[:0], in, nil); o != processor.Unchanged || &out[0] != &in[0] {
		t.Fatalf("outcome %v", o)
	}
	if !bytes.Equal(backing, bytes.Repeat([]byte{'#'}, 1024)) {
		t.Fatal("dst was written")
	}
}
