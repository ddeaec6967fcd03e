package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/ingestd/ingestd/core/apierr"
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
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.ndjson)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		format := JSON
		if ndjson {
			format = NDJSON
		}
		var s Scanner
		err := s.Scan(body, format, Limits{MaxEvents: 1000, MaxDepth: 64})
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
		}
	})
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
