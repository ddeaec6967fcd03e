package decode

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// renderMembers describes s.Members by the text of their spans, one line per entry:
// "index key=value next=N kids=N", with " esc" for an escaped key.
func renderMembers(body []byte, s *Scanner) []string {
	var out []string
	for k, m := range s.Members {
		line := fmt.Sprintf("%d %s=%s next=%d kids=%d", k, body[m.Key.Start:m.Key.End], body[m.Value.Start:m.Value.End], m.Next, m.Kids)
		if m.KeyEscaped {
			line += " esc"
		}
		out = append(out, line)
	}
	return out
}

// scanIndexed scans body with Index set, failing the test on an error.
func scanIndexed(t *testing.T, s *Scanner, body string, f Format) {
	t.Helper()
	s.Index = true
	if err := s.Scan([]byte(body), f, Limits{}); err != nil {
		t.Fatalf("Scan(%q): %v", body, err)
	}
}

func TestIndexSpans(t *testing.T) {
	body := `{"source":"a","event":{"k":{}}}`
	var s Scanner
	scanIndexed(t, &s, body, JSON)
	want := []Member{
		{Key: Span{2, 8}, Value: Span{10, 13}, Next: 1},
		{Key: Span{15, 20}, Value: Span{22, 30}, Kids: 2},
		{Key: Span{24, 25}, Value: Span{27, 29}},
	}
	if !slices.Equal(s.Members, want) {
		t.Fatalf("Members = %+v, want %+v", s.Members, want)
	}
	if s.Events[0].Members != 0 {
		t.Fatalf("Event.Members = %d, want 0", s.Events[0].Members)
	}
}

func TestIndexMembers(t *testing.T) {
	var s Scanner // shared, so that state left by one case would show in the next
	f := func(body string, want ...string) {
		t.Helper()
		scanIndexed(t, &s, body, JSON)
		if got := renderMembers([]byte(body), &s); !slices.Equal(got, want) {
			t.Fatalf("Scan(%q) members\ngot  %q\nwant %q", body, got, want)
		}
	}

	// Levels 1..3 are indexed; the object at level 4 (exp) is a plain value.
	f(`{"source":"a","event":{"card":{"number":"4242","exp":{"m":1,"y":{"z":2}}},"n":1},"metadata":{}}`,
		`0 source="a" next=1 kids=0`,
		`1 event={"card":{"number":"4242","exp":{"m":1,"y":{"z":2}}},"n":1} next=6 kids=2`,
		`2 card={"number":"4242","exp":{"m":1,"y":{"z":2}}} next=5 kids=3`,
		`3 number="4242" next=4 kids=0`,
		`4 exp={"m":1,"y":{"z":2}} next=0 kids=0`,
		`5 n=1 next=0 kids=0`,
		`6 metadata={} next=0 kids=0`)
	// Empty objects at every indexed level have no Kids.
	f(`{"source":"a","event":{"e":{},"f":{"g":{}}}}`,
		`0 source="a" next=1 kids=0`,
		`1 event={"e":{},"f":{"g":{}}} next=0 kids=2`,
		`2 e={} next=3 kids=0`,
		`3 f={"g":{}} next=0 kids=4`,
		`4 g={} next=0 kids=0`)
	// Objects inside arrays are not indexed, even at a shallow level.
	f(`{"source":"a","event":{"list":[{"a":1},{"b":{"c":2}}],"x":{"y":[{"z":1}]}},"tags":[{"t":1}]}`,
		`0 source="a" next=1 kids=0`,
		`1 event={"list":[{"a":1},{"b":{"c":2}}],"x":{"y":[{"z":1}]}} next=5 kids=2`,
		`2 list=[{"a":1},{"b":{"c":2}}] next=3 kids=0`,
		`3 x={"y":[{"z":1}]} next=0 kids=4`,
		`4 y=[{"z":1}] next=0 kids=0`,
		`5 tags=[{"t":1}] next=0 kids=0`)
	// Escaped keys are kept as written and flagged.
	f(`{"sour\u0063e":"a","event":{"a\"b":1,"\\":{"\u00e9":"\n"}}}`,
		`0 sour\u0063e="a" next=1 kids=0 esc`,
		`1 event={"a\"b":1,"\\":{"\u00e9":"\n"}} next=0 kids=2`,
		`2 a\"b=1 next=3 kids=0 esc`,
		`3 \\={"\u00e9":"\n"} next=0 kids=4 esc`,
		`4 \u00e9="\n" next=0 kids=0 esc`)
	// Duplicate keys are all recorded, at every level.
	f(`{"x":1,"x":{"y":2},"source":"a","event":{"k":1,"k":{"k":3,"k":4}}}`,
		`0 x=1 next=1 kids=0`,
		`1 x={"y":2} next=3 kids=2`,
		`2 y=2 next=0 kids=0`,
		`3 source="a" next=4 kids=0`,
		`4 event={"k":1,"k":{"k":3,"k":4}} next=0 kids=5`,
		`5 k=1 next=6 kids=0`,
		`6 k={"k":3,"k":4} next=0 kids=7`,
		`7 k=3 next=8 kids=0`,
		`8 k=4 next=0 kids=0`)
	// Cut members are recorded like the others.
	f(`{"stream_id":"s","source":"a","event":{},"received_at":{"r":1},"event_id":"e"}`,
		`0 stream_id="s" next=1 kids=0`,
		`1 source="a" next=2 kids=0`,
		`2 event={} next=3 kids=0`,
		`3 received_at={"r":1} next=5 kids=4`,
		`4 r=1 next=0 kids=0`,
		`5 event_id="e" next=0 kids=0`)
	// Whitespace stays out of the spans.
	f("{ \"source\" :\t\"a\" ,\n \"event\" : { \"k\" : [ 1 ] } }",
		`0 source="a" next=1 kids=0`,
		`1 event={ "k" : [ 1 ] } next=0 kids=2`,
		`2 k=[ 1 ] next=0 kids=0`)
}

func TestIndexEvents(t *testing.T) {
	var s Scanner
	f := func(format Format, body string, want []int32, members int) {
		t.Helper()
		scanIndexed(t, &s, body, format)
		var got []int32
		for _, e := range s.Events {
			got = append(got, e.Members)
			// The first member's key opens with the first quote of the object.
			if m := s.Members[e.Members]; strings.IndexByte(body[e.Object.Start:], '"') != int(m.Key.Start-1-e.Object.Start) {
				t.Fatalf("Scan(%q): the event at %d starts with member %q", body, e.Object.Start, body[m.Key.Start:m.Key.End])
			}
		}
		if !slices.Equal(got, want) || len(s.Members) != members {
			t.Fatalf("Scan(%q): Event.Members %v and %d members, want %v and %d", body, got, len(s.Members), want, members)
		}
	}
	f(NDJSON, "{\"source\":\"a\",\"event\":{\"k\":1}}\n\n{\"source\":\"b\",\"event\":{}}\r\n{\"source\":\"c\",\"event\":{\"x\":{\"y\":1}}}\n",
		[]int32{0, 3, 5}, 9)
	f(JSON, `[{"source":"a","event":{"k":1}}, {"source":"b","event":{}},{"source":"c","event":{"x":{"y":1}}}]`,
		[]int32{0, 3, 5}, 9)
	f(JSON, `[]`, nil, 0)
	f(NDJSON, string(batchBody(NDJSON, 3)), []int32{0, 17, 34}, 51)
}

func TestIndexOff(t *testing.T) {
	var s Scanner
	body := []byte(`{"source":"a","event":{"k":{"j":1}}}`)
	scanIndexed(t, &s, string(body), JSON)
	backing := &s.Members[0]
	scanIndexed(t, &s, string(body), JSON)
	if len(s.Members) != 4 || &s.Members[0] != backing {
		t.Fatalf("a second Scan holds %d members at %p, want 4 at %p", len(s.Members), &s.Members[0], backing)
	}
	s.Index = false
	if err := s.Scan(body, JSON, Limits{}); err != nil {
		t.Fatal(err)
	}
	if len(s.Members) != 0 || s.Events[0].Members != 0 {
		t.Fatalf("Scan without Index left %d members, Event.Members %d", len(s.Members), s.Events[0].Members)
	}
}

func TestScanSpaces(t *testing.T) {
	f := func(format Format, body string, want ...bool) {
		t.Helper()
		for _, index := range []bool{false, true} {
			s := Scanner{Index: index}
			if err := s.Scan([]byte(body), format, Limits{}); err != nil {
				t.Fatalf("Scan(%q): %v", body, err)
			}
			var got []bool
			for _, e := range s.Events {
				got = append(got, e.Spaces)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("index %t: Scan(%q): Spaces %v, want %v", index, body, got, want)
			}
		}
	}
	f(JSON, seedEvent, false)
	f(JSON, `{"source":"a b\tc","event":{"k":" "}}`, false)
	f(JSON, "{\n  \"source\": \"a\",\n  \"event\": {}\n}", true)
	f(JSON, `{ "source":"a","event":{}}`, true)
	f(JSON, `{"source":"a","event":{} }`, true)
	f(JSON, `{"source":"a","event":{"k":[1, 2]}}`, true)
	f(JSON, `{"source":"a","event":{"k":{"j":{"i":{"h" :1}}}}}`, true)
	// Whitespace around events lies outside their objects.
	f(JSON, " [ {\"source\":\"a\",\"event\":{}} ,\n{\"source\":\"b\", \"event\":{}} ,{\"source\":\"c\",\"event\":{}} ] ", false, true, false)
	f(NDJSON, "  {\"source\":\"a\",\"event\":{}}\t\r\n{\"source\":\"b\",\"event\":{}\t}\n", false, true)
}

// TestIndexErrors checks that an indexing Scan fails exactly as a plain one does, at each
// place where eventIdx, objectIdx and memberValue can fail, and under tight depth limits.
func TestIndexErrors(t *testing.T) {
	f := func(body string, lim Limits) {
		t.Helper()
		plain, indexed := Scanner{}, Scanner{Index: true}
		errPlain := plain.Scan([]byte(body), JSON, lim)
		errIndexed := indexed.Scan([]byte(body), JSON, lim)
		if errPlain == nil || !reflect.DeepEqual(errPlain, errIndexed) {
			t.Fatalf("Scan(%q): plain %v, indexed %v", body, errPlain, errIndexed)
		}
		if len(plain.Events) != len(indexed.Events) {
			t.Fatalf("Scan(%q): plain %d events, indexed %d", body, len(plain.Events), len(indexed.Events))
		}
	}
	for _, body := range []string{
		// In the event object.
		`{"source":"a","event":{},}`, `{"source":"a","event":{},"k"}`, `{"source":"a","event":{} "k":1}`,
		`{"source":"a","event":{},"k`, `{"source":"a","event":{},"k":}`, `{"source":"a","event":{},"k":tru}`,
		`{"source":"a","event":{},"k":{"j":1}`, `{"source":"a","event":{},"k":`,
		// In indexed objects at levels 2 and 3.
		`{"source":"a","event":{"k":1,}}`, `{"source":"a","event":{"k" 1}}`, `{"source":"a","event":{"k":1 "j":2}}`,
		`{"source":"a","event":{"k\x":1}}`, `{"source":"a","event":{"k":-}}`, `{"source":"a","event":{"k":1`,
		`{"source":"a","event":{"k":{"j":[1,]}}}`, `{"source":"a","event":{"k":{"j":{"i":"\u12"}}}}`,
		`{"source":"a","event":{"k":{"j":1,}}}`, `{"source":"a","event":{"k":{"j":1`,
		// Field problems and missing fields are found after the members are recorded.
		`{"source":1,"event":{"k":1}}`, `{"source":"a"}`, `{"event":{"k":{"j":1}}}`, `{ }`,
	} {
		f(body, Limits{})
	}
	f(`{"source":"a","event":{}}`, Limits{MaxDepth: 1})
	f(`{"source":"a","event":{"k":{}}}`, Limits{MaxDepth: 2})
	f(`{"source":"a","event":{"k":{"j":{}}}}`, Limits{MaxDepth: 3})
	f(`{"source":"a","event":{"k":{"j":[]}}}`, Limits{MaxDepth: 3})
	f(`[{"source":"a","event":{}},{"source":"a","event":{}}]`, Limits{MaxEvents: 1})
	f(strings.Replace(nested(70), `"event":{}`, `"event":`+nested(70), 1), Limits{})
}
