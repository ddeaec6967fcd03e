package enrich

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ingestd/ingestd/core/processor"
)

// go test ./core/processor/enrich -run '^$' -fuzz FuzzProcess -fuzztime 30s
// On a valid single-line object, Process must give valid single-line JSON that decodes to what
// model makes of the decoded object; on any other input it must not panic. Found inputs live
// in testdata/fuzz.

const fuzzCSV = "k,v,w\ns,\"x,y\",1\n1,one,\n\"q\"\"\",\"line\nbreak\",\"\\\"\n"

// fuzzSteps are fixed steps over the short keys the fuzzer tends to write.
func fuzzSteps() []*Options {
	return []*Options{
		{
			Set:    []processor.Assignment{set("c.d", `{"n":[1,"s"]}`)},
			Rename: []processor.Pair{pair("a.b", "e")},
			Copy:   []processor.Pair{pair("a", "f.g")},
			Remove: []string{"d"},
			Facts:  []processor.Pair{pair("h", "host")},
			Lookup: &Lookup{File: "t.csv", Key: "k", Into: "l"},
		},
		{
			Keep:   []string{"a.b", "k", "e.g"},
			Set:    []processor.Assignment{set("x.y", "true")},
			Rename: []processor.Pair{pair("e.f", "e")},
			Lookup: &Lookup{File: "t.csv", Key: "a.b", Column: "v", Into: "m"},
		},
		{
			Rename: []processor.Pair{pair("a", "b"), pair("c", "d.e")},
			Copy:   []processor.Pair{pair("k", "z"), pair("a", "y")},
		},
		{
			Remove: []string{"a", "b.c"},
			Copy:   []processor.Pair{pair("b", "d")},
			Facts:  []processor.Pair{pair("s", "stream_id"), pair("t.u", "token")},
		},
		{Keep: []string{"a", "a.b.c", "b.c"}},
	}
}

func FuzzProcess(f *testing.F) {
	dir := writeCSV(f, "t.csv", fuzzCSV)
	opts := fuzzSteps()
	states := make([]processor.State, len(opts))
	for i, o := range opts {
		states[i] = compile(f, o, dir)
	}
	seeds := []string{
		`{"a":{"b":"s","c":1},"c":3,"d":{"x":1},"k":"s","h":0}`,
		`{"a":{"b":"1"},"e":{"f":{"g":1},"g":2},"k":1,"x":"y"}`,
		`{"a":[1,2],"c":{"z":null},"d":"s","k":"q\""}`,
		`{"b":{"c":1,"d":2},"a":1,"s":"old","t":"x"}`,
		`{"a":"s","a":{"b":{"c":2,"d":3}},"b":{"c":[]}}`,
		`{"k":"\u0073","a":{"b":"\u0031"}}`,
		` { "a" : { "b" : "s" } , "k" : 1 } `,
		`{}`,
		`{"e":{"f":"s"},"e":3}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	f.Add([]byte(`{"a":{"b`), uint8(0))
	f.Fuzz(func(t *testing.T, event []byte, step uint8) {
		i := int(step) % len(states)
		event = event[:len(event):len(event)]
		out, o := states[i].Process(nil, event, testFacts)
		var in map[string]any
		if bytes.ContainsAny(event, "\r\n") || !utf8.Valid(event) || !json.Valid(event) || decode(event, &in) != nil || in == nil {
			return
		}
		switch o {
		case processor.Unchanged:
			if string(out) != string(event) {
				t.Fatalf("Unchanged, but out %q differs from %q", out, event)
			}
		case processor.Changed:
		default:
			t.Fatalf("outcome %v", o)
		}
		if !json.Valid(out) || bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("out %q is not single-line JSON", out)
		}
		var got, base map[string]any
		if err := decode(out, &got); err != nil {
			t.Fatalf("out %q: %v", out, err)
		}
		decode(event, &base)
		want := model(t, in, base, opts[i])
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d on %s:\n got %s\nwant %v", i, event, out, want)
		}
	})
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// model applies o to the decoded event in; base is a second decoding of it, which model edits.
func model(t *testing.T, in, base map[string]any, o *Options) map[string]any {
	out := base
	if len(o.Keep) > 0 {
		out = map[string]any{}
		for _, k := range o.Keep {
			keepPath(out, base, strings.Split(k, "."))
		}
	}
	for _, a := range o.Set {
		var v any
		if err := decode(a.Value, &v); err != nil {
			t.Fatal(err)
		}
		setPath(out, a.Path, v)
	}
	for _, r := range o.Rename {
		if v, ok := get(in, r.Key); ok {
			delPath(out, r.Key)
			setPath(out, r.Value, v)
		}
	}
	for _, c := range o.Copy {
		if v, ok := get(in, c.Key); ok {
			setPath(out, c.Value, v)
		}
	}
	for _, r := range o.Remove {
		delPath(out, r)
	}
	for _, f := range o.Facts {
		var v any
		json.Unmarshal(factNames[f.Value].of(testFacts), &v)
		setPath(out, f.Key, v)
	}
	if l := o.Lookup; l != nil {
		key, ok := get(in, l.Key)
		var s string
		switch k := key.(type) {
		case string:
			s = k
		case json.Number:
			s = string(k)
		default:
			ok = false
		}
		if ok {
			lookupModel(out, s, l)
		}
	}
	return out
}

// lookupModel finds the row of fuzzCSV keyed s in l.Column and sets its other cells.
func lookupModel(out map[string]any, s string, l *Lookup) {
	rows := map[string][]string{
		"s": {"s", "x,y", "1"}, "1": {"1", "one", ""}, `q"`: {`q"`, "line\nbreak", `\`},
	}
	header := []string{"k", "v", "w"}
	col := 0
	if l.Column == "v" {
		col = 1
	}
	for _, row := range rows {
		if row[col] != s {
			continue
		}
		for i, cell := range row {
			if i != col {
				setPath(out, l.Into+"."+header[i], cell)
			}
		}
	}
}

func get(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, seg := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[seg]; !ok {
			return nil, false
		}
	}
	return v, true
}

// setPath creates the objects leading to path, replacing what is not an object.
func setPath(m map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	for _, seg := range segs[:len(segs)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = v
}

func delPath(m map[string]any, path string) {
	segs := strings.Split(path, ".")
	for _, seg := range segs[:len(segs)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, segs[len(segs)-1])
}

// keepPath copies the value at segs from src into dst with its ancestors: an ancestor that is
// present survives as an object, emptied unless kept, and one that is not an object as {}.
func keepPath(dst, src map[string]any, segs []string) {
	for i, seg := range segs {
		v, ok := src[seg]
		if !ok {
			return
		}
		if i == len(segs)-1 {
			dst[seg] = v
			return
		}
		next, isObj := dst[seg].(map[string]any)
		if _, has := dst[seg]; has && !isObj {
			return // a shorter kept path took the whole value
		}
		if !isObj {
			next = map[string]any{}
			dst[seg] = next
		}
		sub, ok := v.(map[string]any)
		if !ok {
			return
		}
		dst, src = next, sub
	}
}
