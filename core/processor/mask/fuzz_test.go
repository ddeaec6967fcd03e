package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// go test ./core/processor/mask -run '^$' -fuzz FuzzProcess -fuzztime 30s
// On any single-line JSON object, Process must give one line of valid JSON. Where values are
// masked whole, the output must decode to the input decoded and masked the obvious way; with
// detectors, everything outside the fields must decode as it was. Found inputs live in
// testdata/fuzz.

// fuzzSteps are fixed steps over the short keys the fuzzer tends to write. whole says how the
// model masks a field's values without detectors: "" deletes the field.
var fuzzSteps = []struct {
	o     *Options
	whole string
}{
	{opts(nil, "a", "b.c"), "[REDACTED]"},
	{opts(func(o *Options) { o.Replacement = "\"\n\\" }, "e"), "\"\n\\"},
	{opts(func(o *Options) { o.Mode = "remove" }, "a", "b.c"), ""},
	{opts(func(o *Options) {
		o.Detectors = []string{"email", "credit_card", "phone"}
		o.Mode = "hash"
		o.Key = testKey
	}, "a", "b.c"), "-"},
	{opts(func(o *Options) { o.Detectors = []string{"credit_card", "ssn"}; o.Mode = "partial" }, "a", "e"), "-"},
	{opts(func(o *Options) { o.Patterns = []string{`s+`, `\d`}; o.Mode = "remove" }, "a", "b.c"), "-"},
}

func FuzzProcess(f *testing.F) {
	seeds := []string{
		event,
		`{"a":"bob@example.com","b":{"c":[4111111111111111,"x",true,null,{"d":-1.5e3}]},"e":"s"}`,
		`{"a":{"b":"\u0040"},"b":{"c":"\ud83d\ude00 4111-1111-1111-1111"},"a":1}`,
		`{ "a" : [ "s" , 1 ] , "b" : { "c" : { } } }`,
		`{"b":"x","\u0061":"078-05-1120","e":"+1 555 123 4567"}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	states := make([]processor.State, len(fuzzSteps))
	for i, s := range fuzzSteps {
		states[i] = newState(f, s.o)
	}
	f.Fuzz(func(t *testing.T, obj []byte, which uint8) {
		k := int(which) % len(fuzzSteps)
		step := fuzzSteps[k]
		// The engine hands steps valid objects on one line.
		var in map[string]any
		if bytes.ContainsAny(obj, "\r\n") || !json.Valid(obj) || decode(obj, &in) != nil || in == nil {
			return
		}
		obj = obj[:len(obj):len(obj)]
		out, o := states[k].Process(nil, obj, nil)
		if o == processor.Unchanged {
			out = obj
		}
		var got map[string]any
		if bytes.ContainsAny(out, "\r\n") || !json.Valid(out) || decode(out, &got) != nil {
			t.Fatalf("Process(%s) = %s: not one line of valid JSON", obj, out)
		}
		want := in
		if step.whole == "-" {
			// Detectors: only the fields may differ.
			for _, f := range step.o.Fields {
				drop(got, f)
				drop(want, f)
			}
		} else {
			for _, f := range step.o.Fields {
				maskModel(want, strings.Split(f, "."), step.whole)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Process(%s) = %s,\ndecodes to %v,\n      want %v", obj, out, got, want)
		}
	})
}

// decode decodes one JSON value, numbers kept as written.
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

// maskModel replaces every string and number at segs in m with r, or deletes the member when r
// is empty.
func maskModel(m map[string]any, segs []string, r string) {
	for _, s := range segs[:len(segs)-1] {
		next, ok := m[s].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	last := segs[len(segs)-1]
	v, ok := m[last]
	switch {
	case !ok:
	case r == "":
		delete(m, last)
	default:
		m[last] = wholeModel(v, r)
	}
}

func wholeModel(v any, r string) any {
	switch v := v.(type) {
	case string, json.Number:
		return r
	case []any:
		for i := range v {
			v[i] = wholeModel(v[i], r)
		}
	case map[string]any:
		for k := range v {
			v[k] = wholeModel(v[k], r)
		}
	}
	return v
}

// drop deletes the member at path from m, if it is there.
func drop(m map[string]any, path string) { maskModel(m, strings.Split(path, "."), "") }
