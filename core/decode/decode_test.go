package decode

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/apierr"
)

// seedEvent is the SPEC example padded with realistic fields to about 500 bytes.
const seedEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36","ip":"203.0.113.42","path":"/api/v2/checkout/confirm","region":"eu-west-1","card_last4":"4242","message":"payment approved for order ord_88412 after 3DS challenge"},"metadata":{"env":"prod","team":"payments"}}`

// seedTime is seedEvent's timestamp in Unix nanoseconds.
const seedTime = 1739370735 * int64(time.Second)

// batchBody returns n seed-like events, with distinct transaction ids, as f.
func batchBody(f Format, n int) []byte {
	var b []byte
	if f == JSON {
		b = append(b, '[')
	}
	for i := range n {
		if i > 0 && f == JSON {
			b = append(b, ',')
		}
		b = append(b, strings.Replace(seedEvent, "txn_30921", fmt.Sprintf("txn_%05d", i), 1)...)
		if f == NDJSON {
			b = append(b, '\n')
		}
	}
	if f == JSON {
		b = append(b, ']')
	}
	return b
}

// render describes an event by the text of its spans, for compact expectations.
func render(body []byte, e Event) string {
	text := func(s Span) string { return string(body[s.Start:s.End]) }
	out := fmt.Sprintf("line=%d source=%s event=%s", e.Line, text(e.Source), text(e.Event))
	if !e.Metadata.Empty() {
		out += " metadata=" + text(e.Metadata)
	}
	if !e.Timestamp.Empty() {
		out += fmt.Sprintf(" timestamp=%s time=%d", text(e.Timestamp), e.Time)
	}
	for _, c := range e.Cut {
		if !c.Empty() {
			out += " cut=" + text(c)
		}
	}
	if e.Newlines {
		out += " newlines"
	}
	return out
}

// checkEvent asserts the invariants every accepted event holds.
func checkEvent(t *testing.T, body []byte, e Event) {
	t.Helper()
	obj := body[e.Object.Start:e.Object.End]
	if obj[0] != '{' || obj[len(obj)-1] != '}' || !json.Valid(obj) {
		t.Fatalf("Object %q is not one JSON object", obj)
	}
	for _, s := range []Span{e.Source, e.Event, e.Metadata, e.Timestamp, e.Cut[0], e.Cut[1]} {
		if !s.Empty() && (s.Start < e.Object.Start || s.End > e.Object.End) {
			t.Fatalf("span %v lies outside Object %v", s, e.Object)
		}
	}
	if got := strings.ContainsAny(string(obj), "\r\n"); got != e.Newlines {
		t.Fatalf("Newlines = %v for %q", e.Newlines, obj)
	}
	if e.Timestamp.Empty() && e.Time != 0 {
		t.Fatalf("Time = %d without a Timestamp", e.Time)
	}
}

func TestScanAccepts(t *testing.T) {
	var s Scanner // shared by every case, so that state left by one case would show in the next
	f := func(format Format, body string, want ...string) {
		t.Helper()
		for round := range 2 {
			if err := s.Scan([]byte(body), format, Limits{}); err != nil {
				t.Fatalf("round %d: Scan(%q): %v", round, body, err)
			}
			var got []string
			for _, e := range s.Events {
				checkEvent(t, []byte(body), e)
				got = append(got, render([]byte(body), e))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: Scan(%q)\ngot  %q\nwant %q", round, body, got, want)
			}
		}
	}

	// JSON: one object.
	f(JSON, seedEvent, fmt.Sprintf(`line=1 source="payments-app" event=%s metadata={"env":"prod","team":"payments"} timestamp="2025-02-12T14:32:15Z" time=%d`,
		seedEvent[strings.Index(seedEvent, `{"transactionId"`):strings.Index(seedEvent, `,"metadata"`)], seedTime))
	f(JSON, `{"source":"a","event":{}}`, `line=1 source="a" event={}`)
	f(JSON, " \t\r\n{ \"source\" : \"a\" , \"event\" : { } } \r\n", `line=2 source="a" event={ }`)
	f(JSON, `{"event":{"n":[1,-2.5e+3,0,true,false,null,"x",{}],"s":"\"\\\/\b\f\n\r\t\u00e9"},"source":"é🙂","other":[[]]}`,
		`line=1 source="é🙂" event={"n":[1,-2.5e+3,0,true,false,null,"x",{}],"s":"\"\\\/\b\f\n\r\t\u00e9"}`)
	f(JSON, `{"sour\u0063e":"a","\u0065vent":{},"metadata":{"m":1}}`, `line=1 source="a" event={} metadata={"m":1}`)
	f(JSON, `{"Source":1,"EVENT":2,"source":"a","event":{},"sources":3}`, `line=1 source="a" event={}`)
	f(JSON, `{"source":"a","event":{},"`+strings.Repeat(`\u0061`, 12)+`":1}`, `line=1 source="a" event={}`)
	f(JSON, `{"source":"a","event":{},"timestamp":"2025-02-12T14:32:15\u005a"}`,
		fmt.Sprintf(`line=1 source="a" event={} timestamp="2025-02-12T14:32:15\u005a" time=%d`, seedTime))
	f(JSON, "{\n  \"source\": \"a\",\n  \"event\": {\n    \"k\": 1\n  }\n}", "line=1 source=\"a\" event={\n    \"k\": 1\n  } newlines")
	f(JSON, "{\"source\":\"a\",\r\"event\":{}}", `line=1 source="a" event={} newlines`)

	// JSON: an array of objects.
	f(JSON, `[]`)
	f(JSON, " [ \n ] ")
	f(JSON, `[{"source":"a","event":{}},{"source":"b","event":{"x":1}}]`, `line=1 source="a" event={}`, `line=1 source="b" event={"x":1}`)
	f(JSON, "[\n{\"source\":\"a\",\"event\":{}},\n\n{\"source\":\"b\",\n\"event\":{}} , {\"source\":\"c\",\"event\":{}}\n]",
		`line=2 source="a" event={}`, `line=4 source="b" event={} newlines`, `line=5 source="c" event={}`)

	// NDJSON.
	f(NDJSON, "")
	f(NDJSON, "\n\r\n  \t\n")
	f(NDJSON, `{"source":"a","event":{}}`, `line=1 source="a" event={}`)
	f(NDJSON, "{\"source\":\"a\",\"event\":{}}\n{\"source\":\"b\",\"event\":{}}\n", `line=1 source="a" event={}`, `line=2 source="b" event={}`)
	f(NDJSON, "\r\n  {\"source\":\"a\",\"event\":{}} \t\r\n\n{\"source\":\"b\",\"event\":{}}\r\n",
		`line=2 source="a" event={}`, `line=4 source="b" event={}`)
	f(NDJSON, "{\"source\":\"a\",\r\"event\":{}}\n", `line=1 source="a" event={} newlines`)
	f(NDJSON, seedEvent+"\n"+seedEvent, fmt.Sprintf(`line=1 source="payments-app" event=%s metadata={"env":"prod","team":"payments"} timestamp="2025-02-12T14:32:15Z" time=%d`,
		seedEvent[strings.Index(seedEvent, `{"transactionId"`):strings.Index(seedEvent, `,"metadata"`)], seedTime),
		fmt.Sprintf(`line=2 source="payments-app" event=%s metadata={"env":"prod","team":"payments"} timestamp="2025-02-12T14:32:15Z" time=%d`,
			seedEvent[strings.Index(seedEvent, `{"transactionId"`):strings.Index(seedEvent, `,"metadata"`)], seedTime))
}

func TestScanRejects(t *testing.T) {
	var s Scanner
	good := `{"source":"a","event":{}}`
	f := func(format Format, lim Limits, body string, code apierr.Code, detail string) {
		t.Helper()
		err := s.Scan([]byte(body), format, lim)
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			t.Fatalf("Scan(%q) = %v, want an *apierr.Error", body, err)
		}
		if ae.Code != code || !strings.Contains(ae.Detail, detail) {
			t.Fatalf("Scan(%q)\ngot  %s: %s\nwant %s: ...%s...", body, ae.Code, ae.Detail, code, detail)
		}
		// The scanner must still work after an error.
		if err := s.Scan([]byte(good), JSON, Limits{}); err != nil || len(s.Events) != 1 {
			t.Fatalf("Scan after an error: %v, %d events", err, len(s.Events))
		}
	}
	none := Limits{}

	// Body framing (JSON).
	f(JSON, none, "", apierr.InvalidJSON, "the request body is empty")
	f(JSON, none, " \r\n\t ", apierr.InvalidJSON, "the request body is empty")
	f(JSON, none, `"text"`, apierr.InvalidJSON, `invalid JSON at byte 0: the body must be a JSON object or an array of objects; found '"'`)
	f(JSON, none, `42`, apierr.InvalidJSON, "the body must be a JSON object or an array of objects; found '4'")
	f(JSON, none, good+` x`, apierr.InvalidJSON, "invalid JSON at byte 26: unexpected data after the top-level JSON value; found 'x'")
	f(JSON, none, good+good, apierr.InvalidJSON, "unexpected data after the top-level JSON value; found '{'")
	f(JSON, none, `[`+good+`] ]`, apierr.InvalidJSON, "invalid JSON at byte 28: unexpected data after the top-level JSON value; found ']'")
	f(JSON, none, `[1]`, apierr.InvalidJSON, "event at index 0: invalid JSON at byte 1: an event must be a JSON object; found '1'")
	f(JSON, none, `[`+good+`,"x"]`, apierr.InvalidJSON, "event at index 1: invalid JSON at byte 27: an event must be a JSON object; found '\"'")
	f(JSON, none, `[`+good+`,[]]`, apierr.InvalidJSON, "event at index 1: invalid JSON at byte 27: an event must be a JSON object")
	f(JSON, none, `[`+good+`,]`, apierr.InvalidJSON, "event at index 1: invalid JSON at byte 27: an event must be a JSON object; found ']'")
	f(JSON, none, `[`, apierr.InvalidJSON, "event at index 0: invalid JSON at byte 1: an event must be a JSON object; found the end of the body")
	f(JSON, none, `[`+good, apierr.InvalidJSON, "invalid JSON at byte 26: expected ',' or ']' after the event at index 0; found the end of the body")
	f(JSON, none, `[`+good+` `+good+`]`, apierr.InvalidJSON, "invalid JSON at byte 27: expected ',' or ']' after the event at index 0; found '{'")
	f(JSON, none, "[\n"+good+",\n"+good+"\n"+good+"]", apierr.InvalidJSON, "invalid JSON at byte 55 (line 4): expected ',' or ']' after the event at index 1")

	// Syntax inside an event.
	f(JSON, none, `{`, apierr.InvalidJSON, "event at index 0: invalid JSON at byte 1: expected a member name in double quotes; found the end of the body")
	f(JSON, none, `{source:"a"}`, apierr.InvalidJSON, "expected a member name in double quotes; found 's'")
	f(JSON, none, `{"source":"a",}`, apierr.InvalidJSON, "invalid JSON at byte 14: expected a member name in double quotes; found '}'")
	f(JSON, none, `{"source" "a"}`, apierr.InvalidJSON, "invalid JSON at byte 10: expected ':' after a member name; found '\"'")
	f(JSON, none, `{"source":"a" "event":{}}`, apierr.InvalidJSON, "invalid JSON at byte 14: expected ',' or '}' after an object member; found '\"'")
	f(JSON, none, `{"source":}`, apierr.InvalidJSON, "invalid JSON at byte 10: expected a JSON value; found '}'")
	f(JSON, none, `{"source":`, apierr.InvalidJSON, "expected a JSON value; found the end of the body")
	f(JSON, none, `{"a":'x'}`, apierr.InvalidJSON, "expected a JSON value; found '\\''")
	f(JSON, none, `{"a":{"b":1 "c":2}}`, apierr.InvalidJSON, "invalid JSON at byte 12: expected ',' or '}' after an object member")
	f(JSON, none, `{"a":{"b":1`, apierr.InvalidJSON, "expected ',' or '}' after an object member; found the end of the body")
	f(JSON, none, `{"a":{1:2}}`, apierr.InvalidJSON, "expected a member name in double quotes; found '1'")
	f(JSON, none, `{"a":{"b"}}`, apierr.InvalidJSON, "expected ':' after a member name; found '}'")
	f(JSON, none, `{"a":{"b":}}`, apierr.InvalidJSON, "expected a JSON value; found '}'")
	f(JSON, none, `{"a":[1 2]}`, apierr.InvalidJSON, "invalid JSON at byte 8: expected ',' or ']' after an array element; found '2'")
	f(JSON, none, `{"a":[1,]}`, apierr.InvalidJSON, "expected a JSON value; found ']'")
	f(JSON, none, `{"a":[1`, apierr.InvalidJSON, "expected ',' or ']' after an array element; found the end of the body")
	f(JSON, none, `{"a":tru}`, apierr.InvalidJSON, "invalid JSON at byte 5: invalid literal, expected true, false or null; found 't'")
	f(JSON, none, `{"a":nul`, apierr.InvalidJSON, "invalid literal, expected true, false or null")
	f(JSON, none, `{"a":falsy}`, apierr.InvalidJSON, "invalid literal, expected true, false or null")
	f(JSON, none, `{"a":True}`, apierr.InvalidJSON, "expected a JSON value; found 'T'")
	f(JSON, none, `{"a":truex}`, apierr.InvalidJSON, "expected ',' or '}' after an object member; found 'x'")
	f(JSON, none, `{"a":01}`, apierr.InvalidJSON, "invalid JSON at byte 5: invalid number; found '0'")
	f(JSON, none, `{"a":-01}`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":-}`, apierr.InvalidJSON, "invalid number; found '-'")
	f(JSON, none, `{"a":-x}`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":1.}`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":1.e5}`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":1e}`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":1e+}`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":1E-`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, `{"a":.5}`, apierr.InvalidJSON, "expected a JSON value; found '.'")
	f(JSON, none, `{"a":+1}`, apierr.InvalidJSON, "expected a JSON value; found '+'")
	f(JSON, none, `{"a":1.5.5}`, apierr.InvalidJSON, "expected ',' or '}' after an object member; found '.'")
	f(JSON, none, `{"a":0x10}`, apierr.InvalidJSON, "expected ',' or '}' after an object member; found 'x'")
	f(JSON, none, `{"a":-`, apierr.InvalidJSON, "invalid number")
	f(JSON, none, "{\"a\":\"x\ty\"}", apierr.InvalidJSON, "invalid JSON at byte 7: control character in a string, which must be escaped (\\n, \\t, \\u00XX); found the control byte 0x09")
	f(JSON, none, "{\"a\":\"\x00\"}", apierr.InvalidJSON, "control character in a string")
	f(JSON, none, "{\"a\":\"0123456789\n\"}", apierr.InvalidJSON, "invalid JSON at byte 16 (line 1): control character in a string")
	f(JSON, none, "{\"a\":\"0123456789\x1f\"}", apierr.InvalidJSON, "control character in a string")
	f(JSON, none, `{"a":"\x"}`, apierr.InvalidJSON, `invalid JSON at byte 6: invalid escape sequence, expected one of \" \\ \/ \b \f \n \r \t \uXXXX; found '\\'`)
	f(JSON, none, `{"a":"\u12G4"}`, apierr.InvalidJSON, "invalid escape sequence")
	f(JSON, none, `{"a":"\u12"}`, apierr.InvalidJSON, "invalid escape sequence")
	f(JSON, none, `{"a":"\U1234"}`, apierr.InvalidJSON, "invalid escape sequence")
	f(JSON, none, `{"a":"\`, apierr.InvalidJSON, "invalid JSON at byte 7: unterminated string; found the end of the body")
	f(JSON, none, `{"a":"abc`, apierr.InvalidJSON, "unterminated string")
	f(JSON, none, `{"a":"0123456789abcdef`, apierr.InvalidJSON, "unterminated string")
	f(JSON, none, `{"a`, apierr.InvalidJSON, "unterminated string")
	f(JSON, none, good+"\x00", apierr.InvalidJSON, "unexpected data after the top-level JSON value; found the control byte 0x00")
	f(JSON, none, `{"a":é}`, apierr.InvalidJSON, "expected a JSON value; found 'é'")

	// Bad UTF-8.
	f(JSON, none, "{\"source\":\"a\xff\",\"event\":{}}", apierr.InvalidJSON, "invalid JSON at byte 12: the body is not valid UTF-8")
	f(JSON, none, "{\"source\":\"\xc3\",\"event\":{}}", apierr.InvalidJSON, "the body is not valid UTF-8")
	f(JSON, none, "{\"source\":\"\xed\xa0\x80\",\"event\":{}}", apierr.InvalidJSON, "the body is not valid UTF-8")
	f(JSON, none, "\n{\"a\":\"\xfe\"}", apierr.InvalidJSON, "invalid JSON at byte 7 (line 2): the body is not valid UTF-8")
	f(NDJSON, none, good+"\n"+good+"\n{\"a\":\"\xfe\"}", apierr.InvalidJSON, "line 3: invalid JSON at byte 6 of the line: the body is not valid UTF-8")

	// Field rules.
	f(JSON, none, `{"event":{}}`, apierr.MissingField, "event at index 0: missing required field 'source' (a non-empty string)")
	f(JSON, none, `{"source":"a"}`, apierr.MissingField, "event at index 0: missing required field 'event' (a JSON object)")
	f(JSON, none, `{}`, apierr.MissingField, "missing required field 'source'")
	f(JSON, none, `[`+good+`,{"source":"a","Event":{}}]`, apierr.MissingField, "event at index 1: missing required field 'event'")
	f(JSON, none, `{"source":"","event":{}}`, apierr.InvalidFormat, `event at index 0: the 'source' field must be a non-empty string; got ""`)
	f(JSON, none, `{"source":42,"event":{}}`, apierr.InvalidFormat, "the 'source' field must be a non-empty string; got 42")
	f(JSON, none, `{"source":null,"event":{}}`, apierr.InvalidFormat, "the 'source' field must be a non-empty string; got null")
	f(JSON, none, `{"source":{"a":1},"event":{}}`, apierr.InvalidFormat, `the 'source' field must be a non-empty string; got {"a":1}`)
	f(JSON, none, `{"source":"a","event":"x"}`, apierr.InvalidFormat, `the 'event' field must be a JSON object; got "x"`)
	f(JSON, none, `{"source":"a","event":[{}]}`, apierr.InvalidFormat, "the 'event' field must be a JSON object; got [{}]")
	f(JSON, none, `{"source":"a","event":null}`, apierr.InvalidFormat, "the 'event' field must be a JSON object; got null")
	f(JSON, none, `{"source":"a","event":{},"metadata":"m"}`, apierr.InvalidFormat, `the 'metadata' field must be a JSON object; got "m"`)
	f(JSON, none, `{"source":"a","event":{},"metadata":true}`, apierr.InvalidFormat, "the 'metadata' field must be a JSON object; got true")
	f(JSON, none, `{"source":"a","event":{},"timestamp":1739370735}`, apierr.InvalidFormat,
		`event at index 0: The 'timestamp' field must be a valid ISO 8601 string. Expected an RFC 3339 date-time with a zone, like "2025-02-12T14:32:15Z"; got 1739370735`)
	f(JSON, none, `{"source":"a","event":{},"timestamp":"2025-02-30T00:00:00Z"}`, apierr.InvalidFormat,
		`got "2025-02-30T00:00:00Z" (day out of range for the month)`)
	f(JSON, none, `{"source":"a","event":{},"timestamp":"`+strings.Repeat("é", 40)+`"}`, apierr.InvalidFormat,
		`; got "`+strings.Repeat("é", 31)+"...")
	f(JSON, none, `{"source":"a","event":{},"timestamp":"2025-02-12T14:32:15\u005A0"}`, apierr.InvalidFormat,
		`got "2025-02-12T14:32:15\u005A0"`)
	f(JSON, none, `{"source":"a","source":"b","event":{}}`, apierr.InvalidFormat, "event at index 0: duplicate 'source' field")
	f(JSON, none, `{"source":1,"source":"b","event":{}}`, apierr.InvalidFormat, "the 'source' field must be a non-empty string; got 1")
	f(JSON, none, `{"source":"a","event":{},"event":{}}`, apierr.InvalidFormat, "duplicate 'event' field")
	f(JSON, none, `{"source":"a","event":{},"metadata":{},"metadata":1}`, apierr.InvalidFormat, "duplicate 'metadata' field")
	f(JSON, none, `{"source":"a","event":{},"timestamp":"x","timestamp":"y"}`, apierr.InvalidFormat, "The 'timestamp' field must be a valid ISO 8601 string.")
	f(JSON, none, `{"source":"a","event":{},"timestamp":"2025-02-12T14:32:15Z","timestamp":"2025-02-12T14:32:15Z"}`, apierr.InvalidFormat, "duplicate 'timestamp' field")
	f(JSON, none, `{"source":"a","event":{},"stream_id":1,"stream_id":2}`, apierr.InvalidFormat, "duplicate 'stream_id' field")
	f(JSON, none, `{"source":"a","event":{},"received_at":1,"received_\u0061t":2}`, apierr.InvalidFormat, "duplicate 'received_at' field")
	f(JSON, none, `{"source":"a","sourc\u0065":"b","event":{}}`, apierr.InvalidFormat, "duplicate 'source' field")
	f(JSON, none, `[`+good+`,{"source":"a","event":{},"metadata":[]}]`, apierr.InvalidFormat, "event at index 1: the 'metadata' field must be a JSON object")
	// A field problem is reported before a missing field, and malformed JSON before both.
	f(JSON, none, `{"source":1}`, apierr.InvalidFormat, "the 'source' field must be a non-empty string")
	f(JSON, none, `{"source":1,"event":{} x}`, apierr.InvalidJSON, "expected ',' or '}' after an object member; found 'x'")
	f(JSON, none, `{"source":1,"event":{"a":[}}`, apierr.InvalidJSON, "expected a JSON value; found '}'")

	// Nesting: the event object is level 1; the array of a JSON body does not count.
	f(JSON, Limits{MaxDepth: 2}, `{"source":"a","event":{"a":{}}}`, apierr.InvalidFormat, "event at index 0: nesting deeper than 2 levels at byte 27")
	f(JSON, Limits{MaxDepth: 2}, `[{"source":"a","event":{"a":[]}}]`, apierr.InvalidFormat, "event at index 0: nesting deeper than 2 levels at byte 28")
	f(JSON, Limits{MaxDepth: 1}, `{"source":"a","event":{}}`, apierr.InvalidFormat, "nesting deeper than 1 levels at byte 22")
	f(JSON, Limits{MaxDepth: 2}, `{"source":"a","event":{},"x":[[1]]}`, apierr.InvalidFormat, "nesting deeper than 2 levels at byte 30")
	f(JSON, none, nested(65), apierr.InvalidFormat, "nesting deeper than 64 levels")
	f(NDJSON, Limits{MaxDepth: 3}, good+"\n"+nested(4), apierr.InvalidFormat, "event at index 1 (line 2): nesting deeper than 3 levels at byte 32 of the line")

	// Event count.
	f(JSON, Limits{MaxEvents: 2}, `[`+good+`,`+good+`,`+good+`]`, apierr.PayloadTooLarge, "the request holds more than 2 events (max_events_per_request)")
	f(JSON, Limits{MaxEvents: 2}, `[`+good+`,`+good+`,{"broken"`, apierr.PayloadTooLarge, "more than 2 events")
	f(NDJSON, Limits{MaxEvents: 1}, good+"\n\n"+good, apierr.PayloadTooLarge, "the request holds more than 1 events")
	f(JSON, none, string(batchBody(JSON, 10001)), apierr.PayloadTooLarge, "more than 10000 events")

	// NDJSON lines.
	f(NDJSON, none, "[1]", apierr.InvalidJSON, "event at index 0 (line 1): invalid JSON at byte 0 of the line: an event must be a JSON object; found '['")
	f(NDJSON, none, good+"\n\n  \"x\"\n", apierr.InvalidJSON, "event at index 1 (line 3): invalid JSON at byte 2 of the line: an event must be a JSON object; found '\"'")
	f(NDJSON, none, good+" "+good, apierr.InvalidJSON, "event at index 0 (line 1): invalid JSON at byte 26 of the line: unexpected data after the event object; NDJSON holds exactly one object per line; found '{'")
	f(NDJSON, none, good+",\n", apierr.InvalidJSON, "unexpected data after the event object")
	f(NDJSON, none, "{\n\"source\":\"a\",\"event\":{}}", apierr.InvalidJSON, "event at index 0 (line 1): invalid JSON at byte 1 of the line: expected a member name in double quotes; found the end of the line")
	f(NDJSON, none, good+"\n"+good+"\n"+good+"\n\n"+`{"source":"abcd" "event":{}}`, apierr.InvalidJSON,
		"event at index 3 (line 5): invalid JSON at byte 17 of the line: expected ',' or '}' after an object member; found '\"'")
	f(NDJSON, none, good+"\n"+`{"source":"a","event":{},"timestamp":"12/02/2025"}`, apierr.InvalidFormat,
		`event at index 1 (line 2): The 'timestamp' field must be a valid ISO 8601 string. Expected an RFC 3339 date-time with a zone, like "2025-02-12T14:32:15Z"; got "12/02/2025"`)
	f(NDJSON, none, `{"event":{}}`, apierr.MissingField, "event at index 0 (line 1): missing required field 'source'")

	// Formats that do not exist.
	f(Format(0), none, good, apierr.UnsupportedMediaType, "the body format must be")
	f(Format(3), none, good, apierr.UnsupportedMediaType, "the body format must be")
}

// nested returns an event whose deepest value sits at nesting level depth (the event is 1).
func nested(depth int) string {
	return `{"source":"a","event":` + strings.Repeat(`{"a":`, depth-2) + `{}` + strings.Repeat(`}`, depth-2) + `}`
}

func TestScanDepthAtLimit(t *testing.T) {
	var s Scanner
	f := func(lim Limits, body string) {
		t.Helper()
		for range 2 {
			if err := s.Scan([]byte(body), JSON, lim); err != nil {
				t.Fatalf("Scan at the depth limit: %v", err)
			}
		}
	}
	f(Limits{}, nested(64))
	f(Limits{MaxDepth: 64}, "["+nested(64)+"]")
	f(Limits{MaxDepth: 3}, `{"source":"a","event":{"a":[1]}}`)
	f(Limits{MaxDepth: 2}, `{"source":"a","event":{},"x":[1,2]}`)
	f(Limits{MaxDepth: 1000}, nested(1000))
}

func TestScanMaxEventsAtLimit(t *testing.T) {
	var s Scanner
	f := func(format Format, lim Limits, body []byte, want int) {
		t.Helper()
		if err := s.Scan(body, format, lim); err != nil || len(s.Events) != want {
			t.Fatalf("Scan: %v, %d events, want %d", err, len(s.Events), want)
		}
	}
	f(JSON, Limits{}, batchBody(JSON, 10000), 10000)
	f(NDJSON, Limits{MaxEvents: 3}, batchBody(NDJSON, 3), 3)
	f(JSON, Limits{MaxEvents: 1}, []byte(seedEvent), 1)
}

// removeCuts deletes e.Cut from the event's object.
func removeCuts(t *testing.T, body []byte, e Event) []byte {
	t.Helper()
	cuts := []Span{}
	for _, c := range e.Cut {
		if !c.Empty() {
			cuts = append(cuts, c)
		}
	}
	slices.SortFunc(cuts, func(a, b Span) int { return int(a.Start - b.Start) })
	out := []byte{}
	at := e.Object.Start
	for _, c := range cuts {
		if c.Start < at {
			t.Fatalf("Cut spans overlap: %v", e.Cut)
		}
		out = append(out, body[at:c.Start]...)
		at = c.End
	}
	return append(out, body[at:e.Object.End]...)
}

func TestScanCut(t *testing.T) {
	var s Scanner
	f := func(body, wantAfter string, wantCuts ...string) {
		t.Helper()
		for range 2 {
			if err := s.Scan([]byte(body), JSON, Limits{}); err != nil {
				t.Fatalf("Scan(%q): %v", body, err)
			}
			e := s.Events[0]
			var cuts []string
			for _, c := range e.Cut {
				if !c.Empty() {
					cuts = append(cuts, body[c.Start:c.End])
				}
			}
			if !slices.Equal(cuts, wantCuts) {
				t.Fatalf("Scan(%q) cuts %q, want %q", body, cuts, wantCuts)
			}
			after := removeCuts(t, []byte(body), e)
			if !json.Valid(after) || string(after) != wantAfter {
				t.Fatalf("Scan(%q): after the cuts %q, want %q", body, after, wantAfter)
			}
		}
	}

	f(`{"source":"a","event":{}}`, `{"source":"a","event":{}}`)
	// stream_id first, in the middle, last.
	f(`{"stream_id":"x","source":"a","event":{}}`, `{"source":"a","event":{}}`, `"stream_id":"x",`)
	f(`{"source":"a","stream_id":"x","event":{}}`, `{"source":"a","event":{}}`, `,"stream_id":"x"`)
	f(`{"source":"a","event":{},"stream_id":"x"}`, `{"source":"a","event":{}}`, `,"stream_id":"x"`)
	// Both, in every arrangement.
	f(`{"stream_id":1,"received_at":2,"source":"a","event":{}}`, `{"source":"a","event":{}}`, `"stream_id":1,`, `"received_at":2,`)
	f(`{"source":"a","event":{},"stream_id":1,"received_at":2}`, `{"source":"a","event":{}}`, `,"stream_id":1`, `,"received_at":2`)
	f(`{"received_at":2,"source":"a","event":{},"stream_id":1}`, `{"source":"a","event":{}}`, `"received_at":2,`, `,"stream_id":1`)
	f(`{"source":"a","stream_id":1,"event":{},"received_at":2}`, `{"source":"a","event":{}}`, `,"stream_id":1`, `,"received_at":2`)
	f(`{"source":"a","received_at":{"x":[1]},"stream_id":"s","event":{}}`, `{"source":"a","event":{}}`, `,"received_at":{"x":[1]}`, `,"stream_id":"s"`)
	// All three, together and apart.
	f(`{"event_id":"e","stream_id":1,"received_at":2,"source":"a","event":{}}`, `{"source":"a","event":{}}`, `"event_id":"e",`, `"stream_id":1,`, `"received_at":2,`)
	f(`{"source":"a","event_id":"e","event":{},"stream_id":1,"received_at":2}`, `{"source":"a","event":{}}`, `,"event_id":"e"`, `,"stream_id":1`, `,"received_at":2`)
	f(`{"stream_id":1,"source":"a","received_at":2,"event":{},"event_id":[]}`, `{"source":"a","event":{}}`, `"stream_id":1,`, `,"received_at":2`, `,"event_id":[]`)
	f(`{"source":"a","event":{},"event\u005fid":"e"}`, `{"source":"a","event":{}}`, `,"event\u005fid":"e"`)
	// Whitespace stays where it was; escaped names count.
	f(`{ "stream_id" : 1 , "source":"a" , "event":{} }`, `{  "source":"a" , "event":{} }`, `"stream_id" : 1 ,`)
	f(`{"source":"a","event":{} , "stream\u005fid" : 1 }`, `{"source":"a","event":{}  }`, `, "stream\u005fid" : 1`)
	// Members with similar names are kept.
	f(`{"source":"a","event":{},"stream_ids":1,"stream":2}`, `{"source":"a","event":{},"stream_ids":1,"stream":2}`)
	// Nested members are not the event's.
	f(`{"source":"a","event":{"stream_id":1}}`, `{"source":"a","event":{"stream_id":1}}`)
}

func TestParseTime(t *testing.T) {
	f := func(in string, want time.Time, wantErr tsErr) {
		t.Helper()
		got, err := parseTime([]byte(in))
		if err != wantErr {
			t.Fatalf("parseTime(%q) error %d, want %d", in, err, wantErr)
		}
		if err == tsOK && got != want.UnixNano() {
			t.Fatalf("parseTime(%q) = %v, want %v", in, time.Unix(0, got).UTC(), want)
		}
	}
	date := func(y int, mo time.Month, d, h, mi, s, ns int, zone int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.FixedZone("", zone))
	}
	var zero time.Time

	// Layouts.
	f("2025-02-12T14:32:15Z", date(2025, 2, 12, 14, 32, 15, 0, 0), tsOK)
	f("2025-02-12t14:32:15z", date(2025, 2, 12, 14, 32, 15, 0, 0), tsOK)
	f("1970-01-01T00:00:00Z", date(1970, 1, 1, 0, 0, 0, 0, 0), tsOK)
	f("1969-12-31T23:59:59.999999999Z", date(1969, 12, 31, 23, 59, 59, 999999999, 0), tsOK)
	f("2025-02-12T14:32:15.5Z", date(2025, 2, 12, 14, 32, 15, 500000000, 0), tsOK)
	f("2025-02-12T14:32:15.000000001Z", date(2025, 2, 12, 14, 32, 15, 1, 0), tsOK)
	f("2025-02-12T14:32:15.123456789Z", date(2025, 2, 12, 14, 32, 15, 123456789, 0), tsOK)
	f("2025-02-12T14:32:15.1234567891234567Z", date(2025, 2, 12, 14, 32, 15, 123456789, 0), tsOK)
	f("2025-02-12T14:32:15+01:00", date(2025, 2, 12, 14, 32, 15, 0, 3600), tsOK)
	f("2025-02-12T14:32:15.25-05:30", date(2025, 2, 12, 14, 32, 15, 250000000, -5*3600-30*60), tsOK)
	f("2025-02-12T00:00:00+23:59", date(2025, 2, 12, 0, 0, 0, 0, 23*3600+59*60), tsOK)
	f("2025-02-12T14:32:15-00:00", date(2025, 2, 12, 14, 32, 15, 0, 0), tsOK)
	f("2025-02-12T14:32:15", zero, tsLayout)
	f("2025-02-12 14:32:15Z", zero, tsLayout)
	f("2025-02-12", zero, tsLayout)
	f("12/02/2025", zero, tsLayout)
	f("", zero, tsLayout)
	f("2025-02-12T14:32:15.Z", zero, tsLayout)
	f("2025-02-12T14:32:15.123", zero, tsLayout)
	f("2025-02-12T14:32:15+0100", zero, tsLayout)
	f("2025-02-12T14:32:15+01", zero, tsLayout)
	f("2025-02-12T14:32:15+01:0x", zero, tsLayout)
	f("2025-02-12T14:32:15+01:00Z", zero, tsLayout)
	f("2025-02-12T14:32:15ZZ", zero, tsLayout)
	f("2025-02-12T14:32:15UTC", zero, tsLayout)
	f("2025-2-12T14:32:15Z.", zero, tsLayout)
	f("25-02-12T14:32:15Z00", zero, tsLayout)
	f("2025-02-12T14:32:1aZ", zero, tsLayout)
	f("２025-02-12T14:32:15Z", zero, tsLayout)
	f("+2025-02-12T14:32:15Z", zero, tsLayout)

	// Ranges.
	f("2024-02-29T00:00:00Z", date(2024, 2, 29, 0, 0, 0, 0, 0), tsOK)
	f("2000-02-29T00:00:00Z", date(2000, 2, 29, 0, 0, 0, 0, 0), tsOK)
	f("2023-02-29T00:00:00Z", zero, tsDay)
	f("1900-02-29T00:00:00Z", zero, tsDay)
	f("2025-04-31T00:00:00Z", zero, tsDay)
	f("2025-12-31T23:59:59Z", date(2025, 12, 31, 23, 59, 59, 0, 0), tsOK)
	f("2025-01-32T00:00:00Z", zero, tsDay)
	f("2025-01-00T00:00:00Z", zero, tsDay)
	f("2025-00-01T00:00:00Z", zero, tsMonth)
	f("2025-13-01T00:00:00Z", zero, tsMonth)
	f("2025-01-01T24:00:00Z", zero, tsHour)
	f("2025-01-01T23:60:00Z", zero, tsMinute)
	f("2025-01-01T23:59:61Z", zero, tsSecond)
	f("2025-01-01T00:00:00+24:00", zero, tsZone)
	f("2025-01-01T00:00:00-01:60", zero, tsZone)
	// A leap second is clamped to the end of its minute.
	f("2016-12-31T23:59:60Z", date(2016, 12, 31, 23, 59, 59, 999999999, 0), tsOK)
	f("2016-12-31T23:59:60.5+01:00", date(2016, 12, 31, 23, 59, 59, 999999999, 3600), tsOK)
	// The int64 nanosecond range.
	f("1677-09-21T00:12:43.145224192Z", time.Unix(0, -1<<63), tsOK)
	f("1677-09-21T00:12:43.145224191Z", zero, tsRange)
	f("2262-04-11T23:47:16.854775807Z", time.Unix(0, 1<<63-1), tsOK)
	f("2262-04-11T23:47:16.854775808Z", zero, tsRange)
	f("2262-04-12T00:47:16.854775807+01:00", time.Unix(0, 1<<63-1), tsOK)
	f("0000-01-01T00:00:00Z", zero, tsRange)
	f("0000-03-01T00:00:00Z", zero, tsRange)
	f("9999-12-31T23:59:59Z", zero, tsRange)
}

func TestUnescapeASCII(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		if got := string(unescapeASCII(nil, []byte(raw))); got != want {
			t.Fatalf("unescapeASCII(%q) = %q, want %q", raw, got, want)
		}
	}
	f(`plain`, "plain")
	f(`\"\\\/\b\f\n\r\t`, "\"\\/\b\f\n\r\t")
	f(`\u0041\u00e9\u20AC\uD83D\uDE00z`, "A\xff\xff\xff\xffz")
	f(`\u007F\u007f\u0000`, "\x7f\x7f\x00")
}

// TestScanStringBytes puts each kind of byte at every offset of strings of several lengths, so
// that both the eight-byte search and its byte-wise tail meet it, and compares with
// encoding/json.
func TestScanStringBytes(t *testing.T) {
	var s Scanner
	f := func(body string) {
		t.Helper()
		err := s.Scan([]byte(body), JSON, Limits{})
		if want := json.Valid([]byte(body)); (err == nil) != want {
			t.Fatalf("Scan(%q) = %v, encoding/json says valid=%v", body, err, want)
		}
		if err == nil && string([]byte(body)[s.Events[0].Source.Start:s.Events[0].Source.End]) != body[10:len(body)-12] {
			t.Fatalf("Scan(%q): Source %v", body, s.Events[0].Source)
		}
	}
	for _, mid := range []string{`"`, `\`, `\"`, `\\`, `\u0041`, `\n`, "\x00", "\x01", "\x1f", "\x20", "\x21", "\x23", "\x5b", "\x5d", "\x7f", "é", "🙂"} {
		for n := range 20 {
			for _, pad := range []string{"a", "~"} {
				f(`{"source":"` + strings.Repeat(pad, n) + mid + strings.Repeat(pad, 19-n) + `","event":{}}`)
			}
		}
	}
}
