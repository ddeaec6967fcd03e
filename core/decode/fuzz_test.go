package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/ingestd/ingestd/core/apierr"
	"github.com/ingestd/ingestd/core/fieldpath"
)

// go test ./core/decode -run '^$' -fuzz FuzzScan -fuzztime 60s
// The seed corpus lives in testdata/fuzz/FuzzScan beside the seeds added here.

func FuzzScan(f *testing.F) {
	seeds := []struct {
		body   string
		ndjson bool
	}{
		{seedEvent, false},
		{seedEvent, true},
		{string(batchBody(JSON, 3)), false},
		{string(batchBody(NDJSON, 3)), true},
		{"\r\n" + seedEvent + "\r\n\n  \t\n" + seedEvent, true},
		{"[\n  {\n    \"source\": \"a\",\n    \"event\": {\"k\": [1, 2.5e-3, true, null]}\n  }\n]", false},
		{`{"stream_id":1,"source":"a","received_at":"x","event":{}}`, false},
		{`{"source":"a","event":{},"stream_id":1,"received_at":2}`, true},
		{`{"event_id":"e","source":"a","event":{},"stream_id":1,"received_at":2}`, false},
		{`{"source":"a","event_id":[1],"event":{}}`, true},
		{`{"sour\u0063e":"\ud83d\ude00","event":{"\"":"\\"},"metadata":{}}`, false},
		{`{"source":"a","event":{},"timestamp":"2016-12-31T23:59:60.123456789123-01:30"}`, false},
		{`{"source":"a","event":{},"timestamp":"2025-02-30T00:00:00Z"}`, false},
		{`{"source":"a","source":"b","event":{}}`, false},
		{nested(70), false},
		{`[{"source":"a","event":{}},]`, false},
		{`{"source":"a","event":{"n":01}}`, false},
		{"{\"source\":\"a\xff\",\"event\":{}}", false},
		{`{"source":"a","event":{}} {"source":"b","event":{}}`, true},
		{"", false},
		{"", true},
		{`{"source":"a","event":{"k":{"j":[{"j":1}]},"a":{"b":{"c":null}}},"metadata":{"x":"y"},"x":1}`, false},
		{`{"source":"a","event":{"k":1,"k":{"j":2}},"x":{},"x":[]}`, true},
		{`{"source":"a","event":{"\u006b":"v","a":{"b":"c","a":{"a":{}}}},"metadata":{"x":{"x":1},"x\u0000":2}}`, false},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.ndjson)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		format := JSON
		if ndjson {
			format = NDJSON
		}
		// Tight depth limits make the searching scan fail in its own objects too.
		for _, depth := range []int{2, 3} {
			scanBoth(t, body, format, Limits{MaxEvents: 1000, MaxDepth: depth})
		}
		s, err := scanBoth(t, body, format, Limits{MaxEvents: 1000, MaxDepth: 64})
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code == apierr.OK || ae.Detail == "" {
				t.Fatalf("Scan returned %#v", err)
			}
			return
		}
		if format == JSON {
			checkJSONBody(t, body, len(s.Events))
		} else {
			checkNDJSONBody(t, body, len(s.Events))
		}
		for _, e := range s.Events {
			checkEvent(t, body, e)
			checkFuzzEvent(t, body, e)
			if want := hasSpaces(body[e.Object.Start:e.Object.End]); e.Spaces != want {
				t.Fatalf("Spaces = %t for %q", e.Spaces, body[e.Object.Start:e.Object.End])
			}
		}
		checkFound(t, body, s)
	})
}

// fuzzPaths are the paths FuzzScan finds; the seeds hold most of them.
var fuzzPaths = []string{"source", "event", "event.k", "event.k.j", "event.a.b.c", "event.a.a.a", "metadata.x", "x"}

// fuzzFields is fuzzPaths as Fields, and fuzzSlots names the path of each of its slots.
var fuzzFields, fuzzSlots = pathFields(fuzzPaths...)

// scanBoth scans body without and with Fields, asserts that the two agree on everything but
// Dup, and returns the searching Scanner and its error.
func scanBoth(t *testing.T, body []byte, format Format, lim Limits) (*Scanner, error) {
	t.Helper()
	plain, searching := &Scanner{}, &Scanner{Fields: fuzzFields}
	errPlain := plain.Scan(body, format, lim)
	errSearching := searching.Scan(body, format, lim)
	if !reflect.DeepEqual(errPlain, errSearching) {
		t.Fatalf("Scan(%q, %+v): plain %v, with Fields %v", body, lim, errPlain, errSearching)
	}
	events := slices.Clone(searching.Events)
	for k := range events {
		events[k].Dup = false
	}
	if !reflect.DeepEqual(plain.Events, events) {
		t.Fatalf("Scan(%q, %+v) events\nplain       %+v\nwith Fields %+v", body, lim, plain.Events, events)
	}
	return searching, errSearching
}

// hasSpaces reports whether the valid JSON obj holds whitespace outside its strings.
func hasSpaces(obj []byte) bool {
	in := false
	for i := 0; i < len(obj); i++ {
		switch c := obj[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return true
		}
	}
	return false
}

// member is one member of an object decoded token by token, and object such an object: unlike
// a map, it keeps the order of the members and every duplicate.
type (
	member struct {
		key   string
		value any
	}
	object []member
)

// decodeTokens decodes one JSON value, keeping objects as object and numbers as written.
func decodeTokens(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := nextValue(d)
	if err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	if _, err := d.Token(); err != io.EOF {
		t.Fatalf("decoding %q: more after the value (%v)", b, err)
	}
	return v
}

func nextValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := object{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := nextValue(d)
			if err != nil {
				return nil, err
			}
			o = append(o, member{k.(string), v})
		}
		_, err = d.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for d.More() {
			v, err := nextValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = d.Token()
		return a, err
	}
	return tok, nil
}

// checkFound asserts that each event's Dup tells whether encoding/json sees a duplicate on the
// way to one of fuzzPaths, and that without one every slot holds what fieldpath.Lookup finds,
// at the same offset.
func checkFound(t *testing.T, body []byte, s *Scanner) {
	t.Helper()
	tree := pathTree{}
	for _, p := range fuzzPaths {
		tree.add(strings.Split(p, ".")...)
	}
	for k, e := range s.Events {
		obj := body[e.Object.Start:e.Object.End]
		found := s.Found(k)
		if len(found) != len(fuzzSlots) {
			t.Fatalf("Found(%d) holds %d slots, want %d", k, len(found), len(fuzzSlots))
		}
		if want := tree.dup(decodeTokens(t, obj).(object)); e.Dup != want {
			t.Fatalf("Dup = %t for %q, want %t", e.Dup, obj, want)
		}
		if e.Dup {
			continue
		}
		for slot, path := range fuzzSlots {
			got := found[slot]
			v, ok := fieldpath.Lookup(obj, fieldpath.MustParse(path))
			if !ok {
				if got != (Span{}) {
					t.Fatalf("%s in %q: found %q, fieldpath finds nothing", path, obj, body[got.Start:got.End])
				}
				continue
			}
			// v.Raw is a view into obj, so its capacity tells where it starts.
			at := e.Object.Start + int32(cap(obj)-cap(v.Raw))
			if want := (Span{at, at + int32(len(v.Raw))}); got != want {
				t.Fatalf("%s in %q: found %v, fieldpath finds %q at %v", path, obj, got, v.Raw, want)
			}
		}
	}
}

// pathTree is a set of paths as nested maps, a model of Fields for the tests.
type pathTree map[string]pathTree

func (p pathTree) add(segs ...string) {
	for _, seg := range segs {
		if p[seg] == nil {
			p[seg] = pathTree{}
		}
		p = p[seg]
	}
}

// dup reports whether o, or an object that one of p's paths leads into, names one of p's
// segments twice.
func (p pathTree) dup(o object) bool {
	seen := map[string]bool{}
	for _, m := range o {
		sub, ok := p[m.key]
		if !ok {
			continue
		}
		if seen[m.key] {
			return true
		}
		seen[m.key] = true
		if kids, isObj := m.value.(object); isObj && sub.dup(kids) {
			return true
		}
	}
	return false
}

// checkJSONBody asserts that encoding/json accepts an accepted JSON body and sees n events.
func checkJSONBody(t *testing.T, body []byte, n int) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("Scan accepted %q, which encoding/json rejects", body)
	}
	var v any
	if err := decodeJSON(body, &v); err != nil {
		t.Fatal(err)
	}
	want := 1
	if a, ok := v.([]any); ok {
		want = len(a)
	}
	if n != want {
		t.Fatalf("Scan found %d events in %q, encoding/json %d", n, body, want)
	}
}

// checkNDJSONBody asserts that encoding/json accepts every non-blank line of an accepted body.
func checkNDJSONBody(t *testing.T, body []byte, n int) {
	t.Helper()
	want := 0
	for line := range bytes.SplitSeq(body, []byte{'\n'}) {
		if line = bytes.Trim(line, " \t\r"); len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			t.Fatalf("Scan accepted the line %q, which encoding/json rejects", line)
		}
		want++
	}
	if n != want {
		t.Fatalf("Scan found %d events in %q, want %d", n, body, want)
	}
}

// checkFuzzEvent compares the event's spans with what encoding/json makes of its object.
func checkFuzzEvent(t *testing.T, body []byte, e Event) {
	t.Helper()
	obj := body[e.Object.Start:e.Object.End]
	if !sonic.Valid(obj) {
		t.Fatalf("sonic rejects the accepted object %q", obj)
	}
	var m map[string]any
	if err := decodeJSON(obj, &m); err != nil {
		t.Fatalf("encoding/json rejects the accepted object %q: %v", obj, err)
	}
	if want := 1 + bytes.Count(body[:e.Object.Start], []byte{'\n'}); int(e.Line) != want {
		t.Fatalf("Line = %d, want %d", e.Line, want)
	}
	span := func(s Span) any {
		var v any
		if err := decodeJSON(body[s.Start:s.End], &v); err != nil {
			t.Fatalf("span %q: %v", body[s.Start:s.End], err)
		}
		return v
	}
	if src, ok := m["source"].(string); !ok || src == "" || span(e.Source) != src {
		t.Fatalf("source %q, span %q", m["source"], body[e.Source.Start:e.Source.End])
	}
	if ev, ok := m["event"].(map[string]any); !ok || !reflect.DeepEqual(span(e.Event), ev) {
		t.Fatalf("event %v, span %q", m["event"], body[e.Event.Start:e.Event.End])
	}
	if md, ok := m["metadata"]; ok != !e.Metadata.Empty() || (ok && !reflect.DeepEqual(span(e.Metadata), md)) {
		t.Fatalf("metadata %v, span %v", md, e.Metadata)
	}
	ts, ok := m["timestamp"]
	if ok != !e.Timestamp.Empty() || (ok && span(e.Timestamp) != ts) {
		t.Fatalf("timestamp %v, span %v", ts, e.Timestamp)
	}
	if ok {
		// time.Parse does not take a lower-case 't' or 'z', nor a leap second; where it
		// parses, it must agree.
		if want, err := time.Parse(time.RFC3339Nano, ts.(string)); err == nil && want.UnixNano() != e.Time {
			t.Fatalf("Time = %d for %q, want %d", e.Time, ts, want.UnixNano())
		}
	}
	rest := removeCuts(t, body, e)
	var after map[string]any
	if err := decodeJSON(rest, &after); err != nil {
		t.Fatalf("%q without its cuts is %q: %v", obj, rest, err)
	}
	delete(m, "stream_id")
	delete(m, "received_at")
	delete(m, "event_id")
	if !reflect.DeepEqual(after, m) {
		t.Fatalf("%q without its cuts is %q", obj, rest)
	}
}

// decodeJSON decodes one JSON value, keeping numbers as written so that none overflows.
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v)
}
