package fieldpath

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// go test ./core/fieldpath -run '^$' -fuzz FuzzLookup -fuzztime 60s
// Lookup must agree with encoding/json decoding the object into map[string]any and walking
// the path; on any other input it must not panic. Found inputs live in testdata/fuzz.

func FuzzLookup(f *testing.F) {
	seeds := []struct{ obj, path string }{
		{seedEvent, "event.status"},
		{seedEvent, "metadata"},
		{seedEvent, "source"},
		{seedEvent, "event.amount"},
		{`{"a":{"b":1},"a":{"c":[true,null,"x"]}}`, "a.c"},
		{`{"a\u0062":"\ud83d\ude00\n","ab":{"c":-1.5e300}}`, "ab.c"},
		{`{"a\u0062":"\ud83d\ude00\n\"\\"}`, "ab"},
		{` { "x" : [ { "y" : "}" } ] , "y" : { } } `, "y"},
		{`{"n":1e400,"m":-0.0e-5,"s":"\u00e9\ud800"}`, "n"},
		{`{"a":false}`, "a.b"},
		{`[{"a":1}]`, "a"},
		{`{"a":"\`, "a"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.obj), s.path)
	}
	f.Fuzz(func(t *testing.T, obj []byte, path string) {
		p, err := Parse(path)
		if err != nil {
			return
		}
		obj = obj[:len(obj):len(obj)]
		v, found := Lookup(obj, p)
		var parent *Path
		if i := strings.LastIndexByte(path, '.'); i > 0 {
			parent = MustParse(path[:i])
		} else {
			parent = p
		}
		vals := make([]Value, 2)
		NewSet(p, parent).Lookup(obj, vals)
		if !utf8.Valid(obj) || !json.Valid(obj) {
			if found {
				checkValue(t, v, nil, false)
			}
			return
		}
		// On valid input, a Set finds what Lookup does, and a path beside its parent changes
		// nothing.
		if vals[0].Kind != v.Kind || !bytes.Equal(vals[0].Raw, v.Raw) {
			t.Fatalf("Set found %q, Lookup %q", vals[0].Raw, v.Raw)
		}
		if pv, ok := Lookup(obj, parent); ok != (vals[1].Kind != 0) || !bytes.Equal(pv.Raw, vals[1].Raw) {
			t.Fatalf("Set found %q for %s, Lookup %q", vals[1].Raw, parent, pv.Raw)
		}
		var cur any
		if err := decodeJSON(obj, &cur); err != nil {
			t.Fatal(err)
		}
		want, ok := walk(cur, p.Segments())
		if found != ok {
			t.Fatalf("Lookup(%s, %s) found %q, encoding/json %v", obj, path, v.Raw, want)
		}
		if found {
			checkValue(t, v, want, true)
		}
	})
}

// walk follows segs through what encoding/json decoded.
func walk(v any, segs []string) (any, bool) {
	for _, seg := range segs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkValue compares v with want, what encoding/json decoded, when known; otherwise it only
// reads v every way.
func checkValue(t *testing.T, v Value, want any, known bool) {
	t.Helper()
	s := v.Str(nil)
	x, isNum := v.Float()
	b, isBool := v.Bool()
	if !known {
		_ = v.EqualString(string(s))
		_ = v.CompareString(string(s))
		return
	}
	var got any
	if err := decodeJSON(v.Raw, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Raw %q decodes to %v (%v), want %v", v.Raw, got, err, want)
	}
	kind := map[reflect.Type]Kind{
		reflect.TypeFor[string](): String, reflect.TypeFor[json.Number](): Number,
		reflect.TypeFor[bool](): Bool, reflect.TypeFor[map[string]any](): Object,
		reflect.TypeFor[[]any](): Array,
	}[reflect.TypeOf(want)]
	if want == nil {
		kind = Null
	}
	if v.Kind != kind {
		t.Fatalf("Kind of %q = %v, want %v", v.Raw, v.Kind, kind)
	}
	switch w := want.(type) {
	case string:
		if string(s) != w || !v.EqualString(w) || v.CompareString(w) != 0 || v.CompareString(w+"\x00") != -1 {
			t.Fatalf("%q: Str = %q, want %q", v.Raw, s, w)
		}
		if w != "" && (v.EqualString(w[:len(w)-1]) || v.CompareString(w[:len(w)-1]) != 1) {
			t.Fatalf("%q equals or sorts before %q", v.Raw, w[:len(w)-1])
		}
	case json.Number:
		f, _ := strconv.ParseFloat(string(w), 64)
		if !isNum || x != f {
			t.Fatalf("Float(%s) = %v %v, want %v", v.Raw, x, isNum, f)
		}
	case bool:
		if !isBool || b != w {
			t.Fatalf("Bool(%s) = %v %v", v.Raw, b, isBool)
		}
	}
	if v.Kind != String && len(s) != 0 || v.Kind != Number && isNum || v.Kind != Bool && isBool {
		t.Fatalf("%q of kind %v reads as %q %v %v", v.Raw, v.Kind, s, isNum, isBool)
	}
}

// decodeJSON decodes one JSON value, keeping numbers as written so that none overflows.
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
