package decode

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// pathFields adds the dotted paths to new Fields and returns them with the dotted path of
// each slot, prefixes included.
func pathFields(paths ...string) (*Fields, []string) {
	f := NewFields()
	for _, p := range paths {
		f.Add(strings.Split(p, ".")...)
	}
	names := make([]string, f.Len())
	for _, p := range paths {
		segs := strings.Split(p, ".")
		for k := 1; k <= len(segs); k++ {
			names[f.Add(segs[:k]...)] = strings.Join(segs[:k], ".")
		}
	}
	return f, names
}

// refFields returns the fields a typical stream's processors read, for benchmarks.
func refFields() *Fields {
	f, _ := pathFields("event.status", "event.amount", "event.transactionId", "event.message",
		"metadata.env", "metadata.region", "metadata.pipeline", "sample_rate")
	return f
}

// renderFound describes Found(k) as "path=value" for each slot that holds a span, in slot
// order, with "dup" last when the event has Dup.
func renderFound(body []byte, s *Scanner, names []string, k int) []string {
	var out []string
	for slot, sp := range s.Found(k) {
		if sp != (Span{}) {
			out = append(out, fmt.Sprintf("%s=%s", names[slot], body[sp.Start:sp.End]))
		}
	}
	if s.Events[k].Dup {
		out = append(out, "dup")
	}
	return out
}

func TestFieldsAdd(t *testing.T) {
	f := NewFields()
	f2 := func(want int, segs ...string) {
		t.Helper()
		if got := f.Add(segs...); got != want {
			t.Fatalf("Add(%q) = %d, want %d", segs, got, want)
		}
	}
	if f.Len() != 0 {
		t.Fatalf("NewFields().Len() = %d", f.Len())
	}
	f2(2, "event", "card", "number")
	f2(0, "event")
	f2(1, "event", "card")
	f2(2, "event", "card", "number")
	f2(4, "metadata", "env")
	f2(3, "metadata")
	f2(5, "event", "status")
	f2(6, "source")
	f2(7, "_@$-Az09")
	if f.Len() != 8 {
		t.Fatalf("Len() = %d, want 8", f.Len())
	}
	for _, segs := range [][]string{nil, {""}, {"a", ""}, {"a.b"}, {"é"}, {"a b"}, {`a"`}, {"a\\"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("Add(%q) did not panic", segs)
				}
			}()
			f.Add(segs...)
		}()
	}
	if f.Len() != 8 {
		t.Fatalf("a failed Add changed Len to %d", f.Len())
	}
}

func TestFound(t *testing.T) {
	fields, names := pathFields("source", "sample_rate", "metadata.env", "event.card.number",
		"event.card.exp.m", "event.status", "event.list.a")
	s := Scanner{Fields: fields} // shared, so that state left by one case would show in the next
	f := func(body string, want ...string) {
		t.Helper()
		if err := s.Scan([]byte(body), JSON, Limits{}); err != nil {
			t.Fatalf("Scan(%q): %v", body, err)
		}
		if got := renderFound([]byte(body), &s, names, 0); !slices.Equal(got, want) {
			t.Fatalf("Scan(%q) found\ngot  %q\nwant %q", body, got, want)
		}
	}

	// Levels 1 to 4; members off the paths are skipped.
	f(`{"source":"a","event":{"status":"ok","card":{"number":"4242","cvv":1,"exp":{"y":2,"m":1}}},"metadata":{"team":"p","env":"prod"},"sample_rate":0.5}`,
		`source="a"`, `sample_rate=0.5`, `metadata={"team":"p","env":"prod"}`, `metadata.env="prod"`,
		`event={"status":"ok","card":{"number":"4242","cvv":1,"exp":{"y":2,"m":1}}}`,
		`event.card={"number":"4242","cvv":1,"exp":{"y":2,"m":1}}`, `event.card.number="4242"`,
		`event.card.exp={"y":2,"m":1}`, `event.card.exp.m=1`, `event.status="ok"`)
	// Missing fields.
	f(`{"source":"a","event":{"k":1}}`, `source="a"`, `event={"k":1}`)
	f(`{"event":{"card":{"exp":{}}},"source":"a"}`, `source="a"`, `event={"card":{"exp":{}}}`,
		`event.card={"exp":{}}`, `event.card.exp={}`)
	// A parent that is not an object: its own span only.
	f(`{"source":"a","event":{"card":"4242","list":null,"status":1}}`,
		`source="a"`, `event={"card":"4242","list":null,"status":1}`, `event.card="4242"`, `event.status=1`, `event.list=null`)
	f(`{"source":"a","event":{"card":[{"number":1}]}}`,
		`source="a"`, `event={"card":[{"number":1}]}`, `event.card=[{"number":1}]`)
	f(`{"source":"a","event":{"card":{"number":{"x":1},"exp":7}}}`,
		`source="a"`, `event={"card":{"number":{"x":1},"exp":7}}`, `event.card={"number":{"x":1},"exp":7}`,
		`event.card.number={"x":1}`, `event.card.exp=7`)
	// Empty objects.
	f(`{"source":"a","event":{},"metadata":{}}`, `source="a"`, `metadata={}`, `event={}`)
	// Objects inside arrays are not searched.
	f(`{"source":"a","event":{"list":[{"a":1},{"a":2}],"status":[{"card":{}}]}}`,
		`source="a"`, `event={"list":[{"a":1},{"a":2}],"status":[{"card":{}}]}`,
		`event.status=[{"card":{}}]`, `event.list=[{"a":1},{"a":2}]`)
	// Escaped keys match after unescaping; near misses do not match.
	f(`{"sour\u0063e":"a","event":{"st\u0061tus":"ok","c\u0061rd":{"\u006eumber":7}},"m\u00e9tadata":{"env":1}}`,
		`source="a"`, `event={"st\u0061tus":"ok","c\u0061rd":{"\u006eumber":7}}`,
		`event.card={"\u006eumber":7}`, `event.card.number=7`, `event.status="ok"`)
	// The longest segment, every byte escaped, is the longest key worth unescaping.
	f(`{"source":"a","event":{},"\u0073\u0061\u006d\u0070\u006c\u0065\u005f\u0072\u0061\u0074\u0065":1}`,
		`source="a"`, `sample_rate=1`, `event={}`)
	f(`{"source":"a","event":{"statu":1,"statuss":2,"Status":3,"st\"tus":4,"st\u00e1tus":5,"`+strings.Repeat(`\u0061`, 20)+`":6}}`,
		`source="a"`, `event={"statu":1,"statuss":2,"Status":3,"st\"tus":4,"st\u00e1tus":5,"`+strings.Repeat(`\u0061`, 20)+`":6}`)
	// Whitespace stays out of the spans.
	f("{ \"source\" :\t\"a\" ,\n \"event\" : { \"status\" : [ 1 ] } }",
		`source="a"`, `event={ "status" : [ 1 ] }`, `event.status=[ 1 ]`)
}

// expectFound scans body with s and compares what it found in each event, rendered, with want.
func expectFound(t *testing.T, s *Scanner, names []string, format Format, body string, want []string) {
	t.Helper()
	if err := s.Scan([]byte(body), format, Limits{}); err != nil {
		t.Fatalf("Scan(%q): %v", body, err)
	}
	var got []string
	for k := range s.Events {
		got = append(got, strings.Join(renderFound([]byte(body), s, names, k), " "))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Scan(%q) found\ngot  %q\nwant %q", body, got, want)
	}
}

func TestFoundDup(t *testing.T) {
	fields, names := pathFields("source", "sample_rate", "event.status", "event.card.number")
	s := Scanner{Fields: fields}
	f := func(body string, want ...string) {
		t.Helper()
		expectFound(t, &s, names, NDJSON, body, want)
	}

	// At level 1, for a key that the scanner does not reject as a duplicate itself.
	f(`{"source":"a","sample_rate":1,"event":{},"sample_rate":2}`,
		`source="a" sample_rate=2 event={} dup`)
	// At level 2 and 3.
	f(`{"source":"a","event":{"status":1,"status":2}}`,
		`source="a" event={"status":1,"status":2} event.status=2 dup`)
	f(`{"source":"a","event":{"card":{"number":1,"number":2}}}`,
		`source="a" event={"card":{"number":1,"number":2}} event.card={"number":1,"number":2} event.card.number=2 dup`)
	// A parent twice, first not an object.
	f(`{"source":"a","event":{"card":1,"card":{"number":2}}}`,
		`source="a" event={"card":1,"card":{"number":2}} event.card={"number":2} event.card.number=2 dup`)
	// Duplicates of keys off the paths, or below a leaf, or in arrays, are no Dup; nor does
	// Dup carry over to the next event.
	f(`{"source":"a","x":1,"x":2,"event":{"k":1,"k":2,"card":{"cvv":1,"cvv":2},"status":{"a":1,"a":2},"l":[{"status":1,"status":2}]}}`+"\n"+
		`{"source":"a","sample_rate":1,"sample_rate":1,"event":{}}`+"\n"+`{"source":"b","event":{}}`,
		`source="a" event={"k":1,"k":2,"card":{"cvv":1,"cvv":2},"status":{"a":1,"a":2},"l":[{"status":1,"status":2}]} event.status={"a":1,"a":2} event.card={"cvv":1,"cvv":2}`,
		`source="a" sample_rate=1 event={} dup`,
		`source="b" event={}`)
}

func TestFoundEvents(t *testing.T) {
	fields, names := pathFields("source", "event.k", "metadata.env")
	s := Scanner{Fields: fields}
	f := func(format Format, body string, want ...string) {
		t.Helper()
		expectFound(t, &s, names, format, body, want)
	}
	f(NDJSON, "{\"source\":\"a\",\"event\":{\"k\":1}}\n\n{\"source\":\"b\",\"event\":{},\"metadata\":{\"env\":\"p\"}}\r\n{\"source\":\"c\",\"event\":{\"k\":{\"y\":1}}}\n",
		`source="a" event={"k":1} event.k=1`,
		`source="b" event={} metadata={"env":"p"} metadata.env="p"`,
		`source="c" event={"k":{"y":1}} event.k={"y":1}`)
	f(JSON, `[{"source":"a","event":{"k":1}}, {"source":"b","event":{}},{"source":"c","metadata":{},"event":{"k":[2]}}]`,
		`source="a" event={"k":1} event.k=1`,
		`source="b" event={}`,
		`source="c" event={"k":[2]} event.k=[2] metadata={}`)
	f(JSON, `[]`)

	// The spans live in one array, reused from Scan to Scan.
	body := []byte(`{"source":"a","event":{"k":1}}`)
	if err := s.Scan(body, JSON, Limits{}); err != nil {
		t.Fatal(err)
	}
	backing := &s.Found(0)[0]
	if err := s.Scan(body, JSON, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := s.Found(0); len(got) != fields.Len() || cap(got) != fields.Len() || &got[0] != backing {
		t.Fatalf("a second Scan gave Found(0) len %d cap %d at %p, want %d at %p", len(got), cap(got), &got[0], fields.Len(), backing)
	}

	// Without Fields, or with none, nothing is found.
	for _, fl := range []*Fields{nil, NewFields()} {
		s.Fields = fl
		if err := s.Scan([]byte(`{"source":"a","x":1,"x":2,"event":{"k":1}}`), JSON, Limits{}); err != nil {
			t.Fatal(err)
		}
		if s.Found(0) != nil || s.Events[0].Dup {
			t.Fatalf("Scan with Fields %v: Found(0) = %v, Dup %t", fl, s.Found(0), s.Events[0].Dup)
		}
	}
}

func TestScanSpaces(t *testing.T) {
	f := func(format Format, body string, want ...bool) {
		t.Helper()
		for _, fields := range []*Fields{nil, refFields()} {
			s := Scanner{Fields: fields}
			if err := s.Scan([]byte(body), format, Limits{}); err != nil {
				t.Fatalf("Scan(%q): %v", body, err)
			}
			var got []bool
			for _, e := range s.Events {
				got = append(got, e.Spaces)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("fields %t: Scan(%q): Spaces %v, want %v", fields != nil, body, got, want)
			}
		}
	}
	f(JSON, seedEvent, false)
	f(JSON, `{"source":"a b\tc","event":{"k":" "}}`, false)
	f(JSON, "{\n  \"source\": \"a\",\n  \"event\": {}\n}", true)
	f(JSON, `{ "source":"a","event":{}}`, true)
	f(JSON, `{"source":"a","event":{} }`, true)
	f(JSON, `{"source":"a","event":{"status":[1, 2]}}`, true)
	f(JSON, `{"source":"a","event":{"k":{"j":{"i":{"h" :1}}}}}`, true)
	f(JSON, `{"source":"a","event":{"status":{"j":{"i":{"h" :1}}}},"metadata":{ }}`, true)
	// Whitespace around events lies outside their objects.
	f(JSON, " [ {\"source\":\"a\",\"event\":{}} ,\n{\"source\":\"b\", \"event\":{}} ,{\"source\":\"c\",\"event\":{}} ] ", false, true, false)
	f(NDJSON, "  {\"source\":\"a\",\"event\":{}}\t\r\n{\"source\":\"b\",\"event\":{}\t}\n", false, true)
}

// TestFieldsErrors checks that a Scan with Fields fails exactly as a plain one does, at each
// place where eventFields, objectFields and findValue can fail, and under tight depth limits.
func TestFieldsErrors(t *testing.T) {
	deep := strings.TrimSuffix(strings.Repeat("a.", 70), ".")
	fields, _ := pathFields("source", "event.k.j.i", "k.j", "event."+deep)
	f := func(body string, lim Limits) {
		t.Helper()
		plain, searching := Scanner{}, Scanner{Fields: fields}
		errPlain := plain.Scan([]byte(body), JSON, lim)
		errSearching := searching.Scan([]byte(body), JSON, lim)
		if errPlain == nil || !reflect.DeepEqual(errPlain, errSearching) {
			t.Fatalf("Scan(%q): plain %v, with Fields %v", body, errPlain, errSearching)
		}
		if len(plain.Events) != len(searching.Events) {
			t.Fatalf("Scan(%q): plain %d events, with Fields %d", body, len(plain.Events), len(searching.Events))
		}
	}
	for _, body := range []string{
		// In the event object.
		`{"source":"a","event":{},}`, `{"source":"a","event":{},"k"}`, `{"source":"a","event":{} "k":1}`,
		`{"source":"a","event":{},"k`, `{"source":"a","event":{},"k":}`, `{"source":"a","event":{},"k":tru}`,
		`{"source":"a","event":{},"k":{"j":1}`, `{"source":"a","event":{},"k":`, `{"source":"a","event":{},"k":{"j":}}`,
		`{"source":"a","event":{},"x":{"j":}}`, `{"source":"a","event":{},"s\u12":1}`, `{"source":"a","event":{},"k":{"j\q":1}}`,
		// In searched objects at levels 2 to 4, and in values below them.
		`{"source":"a","event":{"k":1,}}`, `{"source":"a","event":{"k" 1}}`, `{"source":"a","event":{"k":1 "j":2}}`,
		`{"source":"a","event":{"k\x":1}}`, `{"source":"a","event":{"k":-}}`, `{"source":"a","event":{"k":1`,
		`{"source":"a","event":{"k":{"j":[1,]}}}`, `{"source":"a","event":{"k":{"j":{"i":"\u12"}}}}`,
		`{"source":"a","event":{"k":{"j":1,}}}`, `{"source":"a","event":{"k":{"j":1`, `{"source":"a","event":{"k":{"j":{"i":{"h":}}}}}`,
		`{"source":"a","event":{"k":{"j":{"i":1,"h":[}}}}`, `{"source":"a","event":{"k":{"x":{"y":}}}}`,
		// Field problems and missing fields are found after the values are recorded.
		`{"source":1,"event":{"k":1}}`, `{"source":"a"}`, `{"event":{"k":{"j":1}}}`, `{ }`,
		`{"source":"a","source":"b","event":{}}`, `{"source":"a","event":{},"timestamp":"x"}`,
	} {
		f(body, Limits{})
	}
	f(`{"source":"a","event":{}}`, Limits{MaxDepth: 1})
	f(`{"source":"a","event":{"k":{}}}`, Limits{MaxDepth: 2})
	f(`{"source":"a","event":{"k":{"j":{}}}}`, Limits{MaxDepth: 3})
	f(`{"source":"a","event":{"k":{"j":{"i":{}}}}}`, Limits{MaxDepth: 4})
	f(`{"source":"a","event":{"k":{"j":[]}}}`, Limits{MaxDepth: 3})
	f(`{"source":"a","event":{},"k":{"j":{}}}`, Limits{MaxDepth: 2})
	f(`[{"source":"a","event":{}},{"source":"a","event":{}}]`, Limits{MaxEvents: 1})
	f(nested(70), Limits{})
	f(nested(70), Limits{MaxDepth: 30})
	f(strings.Replace(nested(70), `"event":{}`, `"event":`+nested(70), 1), Limits{})
}
