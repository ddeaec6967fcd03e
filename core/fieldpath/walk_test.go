package fieldpath

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// leafPaths appends the dotted path of every value in the decoded object v, inner objects
// included.
func leafPaths(prefix string, v any, out []string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	for k, sub := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = leafPaths(p, sub, append(out, p))
	}
	return out
}

// TestSetFindsEveryField looks up every field of the pipeline's event in one Set, in the
// event as stored (compact, the fast path) and indented (the whitespace path), with keys of
// every length around the segments' and values of every kind, and wants what encoding/json
// decodes.
func TestSetFindsEveryField(t *testing.T) {
	var doc any
	if err := decodeJSON([]byte(routeEvent), &doc); err != nil {
		t.Fatal(err)
	}
	names := leafPaths("", doc, nil)
	slices.Sort(names)
	paths := make([]*Path, len(names))
	for i, n := range names {
		paths[i] = MustParse(n)
	}
	s := NewSet(paths...)
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(routeEvent), "", "\t"); err != nil {
		t.Fatal(err)
	}
	for _, obj := range [][]byte{[]byte(routeEvent), indented.Bytes()} {
		vals := make([]Value, s.Len())
		s.Lookup(obj, vals)
		for i, n := range names {
			want, _ := walk(doc, strings.Split(n, "."))
			var got any
			if err := decodeJSON(vals[i].Raw, &got); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s = %q (%v), want %v", n, vals[i].Raw, err, want)
			}
			if one, ok := Lookup(obj, paths[i]); !ok || !bytes.Equal(one.Raw, vals[i].Raw) {
				t.Fatalf("%s: Lookup found %q, Set %q", n, one.Raw, vals[i].Raw)
			}
		}
	}
}

// TestLookupKeyLengths covers the filter on key lengths: a key as long as a wanted one but
// different, keys past 63 bytes, which share one bit, and escaped keys, which are longer than
// the segment they name.
func TestLookupKeyLengths(t *testing.T) {
	long := strings.Repeat("k", 70)
	f := func(obj, path, raw string) {
		t.Helper()
		v, ok := Lookup([]byte(obj), MustParse(path))
		if got := string(v.Raw); ok != (raw != "") || got != raw {
			t.Fatalf("Lookup(%s, %s) = %q, want %q", obj, path, got, raw)
		}
	}
	f(`{"abcd":1,"abce":2}`, "abce", `2`)
	f(`{"abcd":1}`, "abce", "")
	f(`{"`+long[:64]+`":1,"`+long+`":2}`, long, `2`)
	f(`{"`+long+`x":1}`, long, "")
	f(`{"`+long[:64]+`":1}`, long[:64], `1`)
	f(`{"a\u0062cd":1}`, "abcd", `1`)
	f(`{"\u006b`+long[1:]+`":3}`, long, `3`)
	f(`{"ab\"":1,"ab":2}`, "ab", `2`)
}
