package parse

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// step compiles a parse step from options tweaked by set.
func step(t testing.TB, set func(o *Options)) processor.State {
	t.Helper()
	o := NewOptions()
	set(o)
	p, errs := o.Compile(&processor.Env{})
	if errs != nil {
		t.Fatalf("compile %+v: %v", o, errs)
	}
	return p.NewState()
}

type processCase struct {
	event   string
	want    string
	outcome processor.Outcome
}

// check runs each case twice on one state (the second run uses warm buffers) and compares the
// exact output, which must also be one line of valid JSON.
func check(t *testing.T, st processor.State, cases []processCase) {
	t.Helper()
	for _, c := range cases {
		for range 2 {
			dst := []byte("prefix:")
			out, o := st.Process(dst, []byte(c.event), &processor.Facts{})
			got := string(out)
			if o == processor.Unchanged {
				got = "prefix:" + got
			}
			if o != c.outcome || got != "prefix:"+c.want {
				t.Fatalf("%s:\n got %v %s\nwant %v prefix:%s", c.event, o, got, c.outcome, c.want)
			}
			body := out
			if o != processor.Unchanged {
				body = out[len("prefix:"):]
			}
			if !json.Valid(body) || strings.ContainsAny(string(body), "\r\n") {
				t.Fatalf("%s: output is not one line of valid JSON: %q", c.event, body)
			}
		}
	}
}

func TestJSON(t *testing.T) {
	st := step(t, func(o *Options) { o.Field, o.Format = "event.message", "json" })
	check(t, st, []processCase{
		{`{"event":{"message":"{\"a\":1,\"b\":[true,null]}","x":1}}`,
			`{"event":{"message":{"a":1,"b":[true,null]},"x":1}}`, processor.Changed},
		// Line breaks between tokens go, other blanks stay, escaped ones in strings stay.
		{`{"event":{"message":" \r\n{\"a\":\r\n\t[1,\n 2],\n\"b\":\"x\\ny\"}\n "}}`,
			`{"event":{"message":{"a":` + "\t" + `[1, 2],"b":"x\ny"}}}`, processor.Changed},
		// Any kind of value.
		{`{"event":{"message":"-12.5e+3"}}`, `{"event":{"message":-12.5e+3}}`, processor.Changed},
		{`{"event":{"message":"\"text\""}}`, `{"event":{"message":"text"}}`, processor.Changed},
		{`{"event":{"message":"[]"}}`, `{"event":{"message":[]}}`, processor.Changed},
		{`{"event":{"message":"{\"\\u00e9\":\"\\\"\"}"}}`, `{"event":{"message":{"\u00e9":"\""}}}`, processor.Changed},
		// Failures keep the event and tag it.
		{`{"event":{"message":"{\"a\":1,}"}}`,
			`{"event":{"message":"{\"a\":1,}"},"parse_error":"parse json event.message: invalid JSON: unexpected '}' at byte 7"}`, processor.Failed},
		{`{"event":{"message":"{\"a\":"}}`,
			`{"event":{"message":"{\"a\":"},"parse_error":"parse json event.message: invalid JSON: it ends early"}`, processor.Failed},
		{`{"event":{"message":""}}`,
			`{"event":{"message":""},"parse_error":"parse json event.message: invalid JSON: it ends early"}`, processor.Failed},
		{`{"event":{"message":"1 2"}}`,
			`{"event":{"message":"1 2"},"parse_error":"parse json event.message: invalid JSON: unexpected '2' at byte 2"}`, processor.Failed},
		{`{"event":{"message":"\"a\nb\""}}`,
			`{"event":{"message":"\"a\nb\""},"parse_error":"parse json event.message: invalid JSON: control byte 0x0a in a string at byte 2"}`, processor.Failed},
		{`{"event":{"message":{"a":1}}}`,
			`{"event":{"message":{"a":1}},"parse_error":"parse json event.message: an object, not a string"}`, processor.Failed},
		{`{"event":{"other":"{}"}}`, `{"event":{"other":"{}"}}`, processor.Unchanged},
		{`{"event":"{}"}`, `{"event":"{}"}`, processor.Unchanged},
	})
}

func TestJSONDepth(t *testing.T) {
	st := step(t, func(o *Options) { o.Field, o.Format, o.Target = "m", "json", "v" })
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	check(t, st, []processCase{
		{`{"m":"` + deep + `"}`, `{"m":"` + deep + `","v":` + deep + `}`, processor.Changed},
		{`{"m":"[` + deep + `]"}`, `{"m":"[` + deep + `]","parse_error":"parse json m: invalid JSON: nesting deeper than 64 levels at byte 64"}`, processor.Failed},
	})
}

func TestKV(t *testing.T) {
	st := step(t, func(o *Options) { o.Field, o.Format, o.Target = "event.message", "kv", "event.fields" })
	check(t, st, []processCase{
		{`{"event":{"message":"level=info msg=\"user logged in\" user=bob latency=12ms"}}`,
			`{"event":{"message":"level=info msg=\"user logged in\" user=bob latency=12ms","fields":{"level":"info","msg":"user logged in","user":"bob","latency":"12ms"}}}`, processor.Changed},
		{`{"event":{"message":"a=1 b=2 foo"}}`,
			`{"event":{"message":"a=1 b=2 foo"},"parse_error":"parse kv event.message: kv: token 3 'foo' has no '='"}`, processor.Failed},
		{`{"event":{"message":7}}`,
			`{"event":{"message":7},"parse_error":"parse kv event.message: a number, not a string"}`, processor.Failed},
	})

	quotes := false
	st = step(t, func(o *Options) {
		o.Field, o.Format = "m", "kv"
		o.PairSeparator, o.ValueSeparator, o.Quotes = ",", ":", &quotes
	})
	check(t, st, []processCase{
		{`{"m":"a: \"1\", b:2"}`, `{"m":{"a":"\"1\"","b":"2"}}`, processor.Changed},
	})
}

func TestRegex(t *testing.T) {
	st := step(t, func(o *Options) {
		o.Field, o.Format, o.Target = "msg", "regex", "http"
		o.Pattern = `^(?P<method>[A-Z]+) (?P<path>\S+)(?: (?P<code>\d{3}))?( (ms))?(?P<tail>!)?`
	})
	check(t, st, []processCase{
		{`{"msg":"GET /a\"b 200"}`, `{"msg":"GET /a\"b 200","http":{"method":"GET","path":"/a\"b","code":"200"}}`, processor.Changed},
		// Groups that did not take part are left out.
		{`{"msg":"PUT /x"}`, `{"msg":"PUT /x","http":{"method":"PUT","path":"/x"}}`, processor.Changed},
		{`{"msg":"get /x"}`, `{"msg":"get /x","parse_error":"parse regex msg: no match"}`, processor.Failed},
		{`{"msg":null}`, `{"msg":null,"parse_error":"parse regex msg: a null, not a string"}`, processor.Failed},
	})
}

func TestTimestamp(t *testing.T) {
	cases := []struct {
		layout, zone, in, want string
	}{
		{"", "", `"2025-02-12T14:32:15Z"`, `"2025-02-12T14:32:15Z"`},
		{"", "", `"2025-02-12T16:32:15.120000+02:00"`, `"2025-02-12T14:32:15.12Z"`},
		{"rfc3339nano", "", `"2025-02-12T14:32:15.123456789-05:30"`, `"2025-02-12T20:02:15.123456789Z"`},
		{"common_log", "", `"12/Feb/2025:14:32:15 +0100"`, `"2025-02-12T13:32:15Z"`},
		{"2006-01-02 15:04:05", "", `"2025-02-12 14:32:15"`, `"2025-02-12T14:32:15Z"`},
		{"2006-01-02 15:04:05", "Europe/Paris", `"2025-07-12 14:32:15.5"`, `"2025-07-12T12:32:15.5Z"`},
		{"unix", "", `1739370735`, `"2025-02-12T14:32:15Z"`},
		{"unix", "", `"1739370735.25"`, `"2025-02-12T14:32:15.25Z"`},
		{"unix", "", `1739370735.1234567891`, `"2025-02-12T14:32:15.123456789Z"`},
		{"unix", "", `-1.5`, `"1969-12-31T23:59:58.5Z"`},
		{"unix_ms", "", `1739370735123`, `"2025-02-12T14:32:15.123Z"`},
		{"unix_ms", "", `"1739370735123.456"`, `"2025-02-12T14:32:15.123456Z"`},
		{"unix_us", "", `1739370735123456.7`, `"2025-02-12T14:32:15.1234567Z"`},
		{"unix_ns", "", `1739370735123456789`, `"2025-02-12T14:32:15.123456789Z"`},
		{"unix_ns", "", `"-1"`, `"1969-12-31T23:59:59.999999999Z"`},
	}
	for _, c := range cases {
		st := step(t, func(o *Options) {
			o.Field, o.Format = "t", "timestamp"
			if c.layout != "" {
				o.Layout = c.layout
			}
			if c.zone != "" {
				o.Timezone = c.zone
			}
		})
		check(t, st, []processCase{{`{"t":` + c.in + `}`, `{"t":` + c.in + `,"timestamp":` + c.want + `}`, processor.Changed}})
	}
}

func TestTimestampOffsetsChange(t *testing.T) {
	// The state remembers the last offset's Location; other offsets must still count.
	st := step(t, func(o *Options) { o.Field, o.Format, o.Target = "t", "timestamp", "u" })
	for _, c := range []struct{ in, want string }{
		{"2025-02-12T14:32:15+05:30", "2025-02-12T09:02:15Z"},
		{"2025-02-12T14:32:15+05:45", "2025-02-12T08:47:15Z"},
		{"2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z"},
		{"2025-02-12T14:32:15-03:30", "2025-02-12T18:02:15Z"},
		{"2025-02-12T14:32:15+00:00", "2025-02-12T14:32:15Z"},
		{"2025-02-12T14:32:15+05:30", "2025-02-12T09:02:15Z"},
	} {
		check(t, st, []processCase{{`{"t":"` + c.in + `"}`, `{"t":"` + c.in + `","u":"` + c.want + `"}`, processor.Changed}})
	}
}

func TestTimestampFailures(t *testing.T) {
	cases := []struct {
		layout, in, msg string
	}{
		{"rfc3339", `"2025-02-12"`, `parsing time \"2025-02-12\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"T\"`},
		{"rfc3339", `1739370735`, `a number, not a string`},
		{"unix", `true`, `a bool, not a string or a number`},
		{"unix", `[1]`, `an array, not a string or a number`},
		{"unix", `1.7e9`, `\"1.7e9\" is not a count of seconds since 1970: want digits with an optional fraction`},
		{"unix", `"12."`, `\"12.\" is not a count of seconds since 1970: want digits with an optional fraction`},
		{"unix", `"-"`, `\"-\" is not a count of seconds since 1970: want digits with an optional fraction`},
		{"unix", `" 12"`, `\" 12\" is not a count of seconds since 1970: want digits with an optional fraction`},
		{"unix_ms", `99999999999999999999`, `99999999999999999999 milliseconds is out of range`},
		{"unix", `253402300800`, `year 10000 is out of RFC 3339's range`},
	}
	for _, c := range cases {
		st := step(t, func(o *Options) { o.Field, o.Format, o.Layout = "t", "timestamp", c.layout })
		ev := `{"t":` + c.in + `}`
		check(t, st, []processCase{{ev, `{"t":` + c.in + `,"parse_error":"parse timestamp t: ` + c.msg + `"}`, processor.Failed}})
	}
}

func TestTargets(t *testing.T) {
	// A nested target is created; an explicit target leaves the field alone; a custom error
	// field receives the failure.
	st := step(t, func(o *Options) {
		o.Field, o.Format, o.Target, o.ErrorField = "event.message", "kv", "event.parsed.kv", "meta.err"
	})
	check(t, st, []processCase{
		{`{"event":{"message":"a=1"},"meta":"x"}`, `{"event":{"message":"a=1","parsed":{"kv":{"a":"1"}}},"meta":"x"}`, processor.Changed},
		{`{"event":{"message":"a"},"meta":"x"}`, `{"event":{"message":"a"},"meta":{"err":"parse kv event.message: kv: token 1 'a' has no '='"}}`, processor.Failed},
	})
	// A timestamp goes to "timestamp" by default, replacing the one there.
	st = step(t, func(o *Options) { o.Field, o.Format, o.Layout = "ts", "timestamp", "unix" })
	check(t, st, []processCase{
		{`{"timestamp":"old","ts":0,"x":1}`, `{"timestamp":"1970-01-01T00:00:00Z","ts":0,"x":1}`, processor.Changed},
	})
	// A timestamp parsed in place.
	st = step(t, func(o *Options) { o.Field, o.Format, o.Target, o.Layout = "ts", "timestamp", "ts", "unix_ms" })
	check(t, st, []processCase{
		{`{"ts":1500}`, `{"ts":"1970-01-01T00:00:01.5Z"}`, processor.Changed},
	})
}

func TestCompileErrors(t *testing.T) {
	yes := true
	cases := []struct {
		name string
		set  func(o *Options)
		want []processor.FieldError // Msg holds a part of the message
	}{
		{"nothing", func(o *Options) {}, []processor.FieldError{
			{Key: "field", Msg: "required"}, {Key: "format", Msg: "required: one of json, kv, regex, timestamp"}}},
		{"unknown format", func(o *Options) { o.Field, o.Format = "m", "xml" }, []processor.FieldError{
			{Key: "format", Msg: `unknown format "xml": want one of json, kv, regex, timestamp`}}},
		{"bad paths", func(o *Options) { o.Field, o.Format, o.Target, o.ErrorField = "a..b", "json", "t!", "" }, []processor.FieldError{
			{Key: "field", Msg: `field path "a..b": segment 2 is empty`}, {Key: "target", Msg: `field path "t!"`}, {Key: "error_field", Msg: "required"}}},
		{"bad error field", func(o *Options) { o.Field, o.Format, o.ErrorField = "m", "json", ".e" }, []processor.FieldError{
			{Key: "error_field", Msg: `field path ".e"`}}},
		{"same target and error field", func(o *Options) { o.Field, o.Format, o.Target, o.ErrorField = "m", "json", "e", "e" }, []processor.FieldError{
			{Key: "error_field", Msg: `"e" overlaps the target "e"`}}},
		{"error field inside the target", func(o *Options) { o.Field, o.Format, o.ErrorField = "m", "json", "m.err" }, []processor.FieldError{
			{Key: "error_field", Msg: `"m.err" overlaps the target "m": neither may be the other or lie inside it`}}},
		{"target inside the error field", func(o *Options) { o.Field, o.Format, o.Target, o.ErrorField = "m", "kv", "e.kv", "e" }, []processor.FieldError{
			{Key: "error_field", Msg: `"e" overlaps the target "e.kv"`}}},
		{"default timestamp target", func(o *Options) { o.Field, o.Format, o.ErrorField = "m", "timestamp", "timestamp" }, []processor.FieldError{
			{Key: "error_field", Msg: `"timestamp" overlaps the target "timestamp"`}}},
		{"options of other formats", func(o *Options) {
			o.Field, o.Format = "m", "json"
			o.Pattern, o.PairSeparator, o.ValueSeparator, o.Quotes, o.Layout, o.Timezone = "(?P<a>.)", ",", ":", &yes, "unix", "Europe/Paris"
		}, []processor.FieldError{
			{Key: "pair_separator", Msg: "only for format: kv"}, {Key: "value_separator", Msg: "only for format: kv"},
			{Key: "quotes", Msg: "only for format: kv"}, {Key: "pattern", Msg: "only for format: regex"},
			{Key: "layout", Msg: "only for format: timestamp"}, {Key: "timezone", Msg: "only for format: timestamp"}}},
		{"kv empty pair separator", func(o *Options) { o.Field, o.Format, o.PairSeparator = "m", "kv", "" }, []processor.FieldError{
			{Key: "pair_separator", Msg: "kv: the pair separator is empty"}}},
		{"kv empty value separator", func(o *Options) { o.Field, o.Format, o.ValueSeparator = "m", "kv", "" }, []processor.FieldError{
			{Key: "value_separator", Msg: "kv: the value separator is empty"}}},
		{"kv same separators", func(o *Options) { o.Field, o.Format, o.PairSeparator, o.ValueSeparator = "m", "kv", ",", "," }, []processor.FieldError{
			{Key: "value_separator", Msg: `kv: the pair and value separators are both ","`}}},
		{"kv blank value separator", func(o *Options) { o.Field, o.Format, o.ValueSeparator = "m", "kv", " = " }, []processor.FieldError{
			{Key: "value_separator", Msg: "holds a blank"}}},
		{"regex without a pattern", func(o *Options) { o.Field, o.Format = "m", "regex" }, []processor.FieldError{
			{Key: "pattern", Msg: "required"}}},
		{"regex that does not compile", func(o *Options) { o.Field, o.Format, o.Pattern = "m", "regex", `(?P<a>x` }, []processor.FieldError{
			{Key: "pattern", Msg: "missing closing )"}}},
		{"regex without a named group", func(o *Options) { o.Field, o.Format, o.Pattern = "m", "regex", `(x)(y)` }, []processor.FieldError{
			{Key: "pattern", Msg: "no named group"}}},
		{"regex with a name twice", func(o *Options) { o.Field, o.Format, o.Pattern = "m", "regex", `(?P<a>x)(?P<b>y)(?P<a>z)` }, []processor.FieldError{
			{Key: "pattern", Msg: `the group name "a" is used twice`}}},
		{"unknown layout", func(o *Options) { o.Field, o.Format, o.Layout = "m", "timestamp", "iso8601" }, []processor.FieldError{
			{Key: "layout", Msg: `"iso8601" is neither a known layout (rfc3339, rfc3339nano, unix, unix_ms, unix_us, unix_ns, common_log) nor a Go layout`}}},
		{"layout with an element twice", func(o *Options) { o.Field, o.Format, o.Layout = "m", "timestamp", "2006-01-02 15 3" }, []processor.FieldError{
			{Key: "layout", Msg: `written as "2025-02-12 14 2" reads as 2025-02-12T02:00:00Z`}}},
		{"layout without a year", func(o *Options) { o.Field, o.Format, o.Layout = "m", "timestamp", "Jan _2 15:04:05" }, []processor.FieldError{
			{Key: "layout", Msg: `reads as 0000-02-12T14:32:15Z`}}},
		{"layout that does not parse", func(o *Options) { o.Field, o.Format, o.Layout = "m", "timestamp", "2006-01-02 15:04:05.000000000000" }, []processor.FieldError{
			{Key: "layout", Msg: `cannot parse ".123456789" as ".000000000000"`}}},
		{"unknown zone", func(o *Options) {
			o.Field, o.Format, o.Layout, o.Timezone = "m", "timestamp", "2006-01-02", "Mars/Olympus"
		}, []processor.FieldError{
			{Key: "timezone", Msg: `unknown time zone "Mars/Olympus"`}}},
		{"zone with a layout that has offsets", func(o *Options) { o.Field, o.Format, o.Timezone = "m", "timestamp", "Europe/Paris" }, []processor.FieldError{
			{Key: "timezone", Msg: "not used with layout rfc3339, whose times carry their offset"}}},
		{"zone with a unix layout", func(o *Options) { o.Field, o.Format, o.Layout, o.Timezone = "m", "timestamp", "unix", "Asia/Tokyo" }, []processor.FieldError{
			{Key: "timezone", Msg: "not used with layout unix"}}},
	}
	for _, c := range cases {
		o := NewOptions()
		c.set(o)
		p, errs := o.Compile(&processor.Env{})
		if p != nil || len(errs) != len(c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.name, p, errs, c.want)
			continue
		}
		for i, w := range c.want {
			if errs[i].Key != w.Key || !strings.Contains(errs[i].Msg, w.Msg) {
				t.Errorf("%s: error %d is %q: %q, want %q containing %q", c.name, i, errs[i].Key, errs[i].Msg, w.Key, w.Msg)
			}
		}
	}
}

func TestCompileAcceptsDefaultsOfOtherFormats(t *testing.T) {
	for _, f := range []string{"json", "kv", "timestamp"} {
		o := NewOptions()
		o.Field, o.Format = "m", f
		if _, errs := o.Compile(&processor.Env{}); errs != nil {
			t.Errorf("%s: %v", f, errs)
		}
	}
}
