package jsonedit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// A test program is a list of tedits, each with its per-event value; model applies the same
// edits to what encoding/json decodes, which is what Apply's output must decode to.

type tedit struct {
	op      op
	path    string
	raw     string   // a set's value; empty leaves the set inactive
	off     bool     // a delete or mapping switched off
	keeps   []string // the paths of a Keep
	numbers bool     // a mapping of numbers too
}

func set(path, raw string) tedit { return tedit{op: opSet, path: path, raw: raw} }
func del(path string) tedit      { return tedit{op: opDelete, path: path} }
func mapped(path string) tedit   { return tedit{op: opMap, path: path} }

// mappedNum maps the strings and the numbers at path.
func mappedNum(path string) tedit { return tedit{op: opMap, path: path, numbers: true} }

// keep is a Keep of paths; op opNone stands for it.
func keep(paths ...string) tedit { return tedit{keeps: paths} }

// inactive returns t switched off for the event.
func inactive(t tedit) tedit {
	t.raw, t.off = "", true
	return t
}

// compile builds the Program of edits and an Edits carrying their values.
func compile(edits []tedit) (*Program, *Edits, error) {
	b := NewBuilder()
	for _, t := range edits {
		switch t.op {
		case opSet:
			b.Set(fieldpath.MustParse(t.path))
		case opDelete:
			b.Delete(fieldpath.MustParse(t.path))
		case opMap:
			if t.numbers {
				b.MapStringsAndNumbers(fieldpath.MustParse(t.path))
			} else {
				b.MapStrings(fieldpath.MustParse(t.path))
			}
		default:
			ps := make([]*fieldpath.Path, len(t.keeps))
			for i, k := range t.keeps {
				ps[i] = fieldpath.MustParse(k)
			}
			b.Keep(ps...)
		}
	}
	p, err := b.Compile()
	if err != nil {
		return nil, nil, err
	}
	e := p.NewEdits()
	load(e, edits)
	return p, e, nil
}

// load gives e the values of edits, whose slots are numbered in order, Keeps left out.
func load(e *Edits, edits []tedit) {
	e.Reset()
	slot := 0
	for _, t := range edits {
		switch t.op {
		case opSet:
			e.SetRaw(slot, []byte(t.raw))
		case opDelete:
			e.Activate(slot, !t.off)
		case opMap:
			e.SetMapper(slot, testMapper{})
			e.Activate(slot, !t.off)
		default:
			continue
		}
		slot++
	}
}

// testMapper changes the strings that start with "s" or "-" (as negative numbers do), into
// `S"` and a newline (so that the result needs escaping) and the rest; it leaves the others
// alone. It allocates nothing.
type testMapper struct{}

func (testMapper) MapString(dst, content []byte) ([]byte, bool) {
	if len(content) == 0 || content[0] != 's' && content[0] != '-' {
		return append(dst, content...), false
	}
	dst = append(dst, "S\"\n"...)
	return append(dst, content[1:]...), true
}

func mapModel(s string) string {
	if strings.HasPrefix(s, "s") || strings.HasPrefix(s, "-") {
		return "S\"\n" + s[1:]
	}
	return s
}

// model applies edits to v, decoded from a JSON object, the slow and obvious way.
func model(t testing.TB, v any, edits []tedit) any {
	t.Helper()
	m := v.(map[string]any)
	var kt *keepTree
	for _, e := range edits {
		if e.op == opNone {
			if kt == nil {
				kt = &keepTree{}
			}
			for _, p := range e.keeps {
				kt.add(strings.Split(p, "."))
			}
		}
	}
	if kt != nil {
		m = kt.filter(m)
	}
	for _, e := range edits {
		segs := strings.Split(e.path, ".")
		switch {
		case e.op == opSet && e.raw != "":
			var val any
			if err := decode([]byte(e.raw), &val); err != nil {
				t.Fatal(err)
			}
			setModel(m, segs, val)
		case e.op == opDelete && !e.off:
			if parent, ok := walk(m, segs[:len(segs)-1]).(map[string]any); ok {
				delete(parent, segs[len(segs)-1])
			}
		case e.op == opMap && !e.off:
			if parent, ok := walk(m, segs[:len(segs)-1]).(map[string]any); ok {
				if val, ok := parent[segs[len(segs)-1]]; ok {
					parent[segs[len(segs)-1]] = mapAll(val, e.numbers)
				}
			}
		}
	}
	return m
}

type keepTree struct {
	all  bool
	kids map[string]*keepTree
}

func (k *keepTree) add(segs []string) {
	for _, s := range segs {
		if k.kids == nil {
			k.kids = map[string]*keepTree{}
		}
		if k.kids[s] == nil {
			k.kids[s] = &keepTree{}
		}
		k = k.kids[s]
	}
	k.all = true
}

func (k *keepTree) filter(m map[string]any) map[string]any {
	out := map[string]any{}
	for key, v := range m {
		switch kid := k.kids[key]; {
		case kid == nil:
		case kid.all:
			out[key] = v
		default:
			sub, _ := v.(map[string]any)
			out[key] = kid.filter(sub)
		}
	}
	return out
}

func setModel(m map[string]any, segs []string, v any) {
	for _, s := range segs[:len(segs)-1] {
		next, ok := m[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[s] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = v
}

// walk returns the value at segs in v, or nil.
func walk(v any, segs []string) any {
	for _, s := range segs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[s]
	}
	return v
}

// mapAll maps the strings in v, and its numbers if numbers: a changed number is a string.
func mapAll(v any, numbers bool) any {
	switch v := v.(type) {
	case string:
		return mapModel(v)
	case json.Number:
		if s := mapModel(string(v)); numbers && s != string(v) {
			return s
		}
	case []any:
		for i := range v {
			v[i] = mapAll(v[i], numbers)
		}
	case map[string]any:
		for k := range v {
			v[k] = mapAll(v[k], numbers)
		}
	}
	return v
}

// decode decodes one JSON value, numbers kept as written, and fails on trailing data.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after %d bytes", d.InputOffset())
	}
	return nil
}

// checkModel fails unless out, the output of Apply on in, is valid JSON that decodes to what
// model makes of in.
func checkModel(t testing.TB, in, out []byte, edits []tedit) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("Apply(%s) = %s: not valid JSON", in, out)
	}
	var v, got any
	if err := decode(in, &v); err != nil {
		t.Fatal(err)
	}
	if err := decode(out, &got); err != nil {
		t.Fatal(err)
	}
	if want := model(t, v, edits); !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply(%s) = %s,\ndecodes to %v,\n      want %v", in, out, got, want)
	}
}
