package jsonedit

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// go test ./core/jsonedit -run '^$' -fuzz FuzzApply -fuzztime 30s
// On a valid object, Apply's output must be valid JSON that decodes to what model makes of the
// decoded object; on any other input it must not panic. Found inputs live in testdata/fuzz.

// fuzzPrograms are fixed edit lists over the short keys the fuzzer tends to write.
var fuzzPrograms = [][]tedit{
	{set("a.b", `{"n":[1,"s"]}`), set("c", `"sv"`), del("a.d"), mapped("e")},
	{keep("a.b", "e", "x.y.z"), set("a.c.d", `true`), del("a.b.x"), mapped("e.f")},
	{set("a", `null`), del("b.c.d.e"), mapped("b.c.f"), set("b.c.g.h", `-0.5e3`), mapped("s")},
	{keep("b"), set("a.b", `1`), mapped("b"), del("c")},
	{del("a"), del("b"), del("c"), mapped("d"), set("e.a", `"x"`)},
	{keep(), set("a.b.c", `[]`), mapped("a.d")},
	{mappedNum("e"), set("a.b", `-1`), del("c"), mapped("s")},
	{keep("a", "e.f"), mappedNum("a.b"), mappedNum("e")},
}

func FuzzApply(f *testing.F) {
	seeds := []string{
		`{"a":{"b":1,"d":2},"c":3,"e":{"s":"sx","l":["s1",{"k":"s2"}]}}`,
		`{"a":{"b":{"x":1,"y":"s"},"c":5},"e":{"f":"s","g":"s"},"x":{"y":{"z":0,"w":1}}}`,
		`{"a":1,"b":{"c":{"d":{"e":1,"f":2},"f":"s\u00e9","g":null}},"s":"s\n"}`,
		`{"b":{"a":"s"},"a":{"b":{}},"c":[]}`,
		`{"a":1,"a":{"b":2},"b":2,"b":"s","e":[{"a":1}]}`,
		` { "a" : { "b" : 1 , "c" : [ 1 , 2 ] } , "e" : "s\"\\" } `,
		`{"a\u0062":1,"\u0061":{"\u0062":"s"},"e":"\ud83d\ude00s"}`,
		`{}`,
		`{"a":{"a":{"a":{"a":{"a":"s"}}}}}`,
		`{"a":"\ud800s","e":{"f":"\u0073\u0000"}}`,
		`{"e":[-1,2.5,-0.1e-9,{"x":-3}],"a":{"b":-4,"c":5},"s":-6}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i), uint8(0xff))
	}
	f.Add([]byte(`{"a":{"b`), uint8(0), uint8(0xff))
	f.Add([]byte(`{"e":["s\`), uint8(0), uint8(0xff))
	f.Fuzz(func(t *testing.T, obj []byte, prog, on uint8) {
		edits := append([]tedit(nil), fuzzPrograms[int(prog)%len(fuzzPrograms)]...)
		for i := range edits {
			if edits[i].op != opNone && on&(1<<i) == 0 {
				edits[i] = inactive(edits[i])
			}
		}
		p, e, err := compile(edits)
		if err != nil {
			t.Fatal(err)
		}
		obj = obj[:len(obj):len(obj)]
		out := p.Apply(nil, obj, e)
		again := p.Apply(nil, obj, e)
		if string(out) != string(again) {
			t.Fatalf("Apply(%q) gave %q, then %q", obj, out, again)
		}
		var v any
		if !utf8.Valid(obj) || !json.Valid(obj) || decode(obj, &v) != nil {
			return
		}
		if _, ok := v.(map[string]any); !ok {
			if string(out) != string(obj) {
				t.Fatalf("Apply(%q) = %q, want it copied", obj, out)
			}
			return
		}
		checkModel(t, obj, out, edits)
	})
}
