package condition

import (
	"bytes"
	"encoding/json"
	"testing"
)

// go test ./core/condition -run '^$' -fuzz FuzzCompile -fuzztime 60s
// No condition text may panic Compile, nor a compiled condition panic Eval; the corpus found
// so far lives in testdata/fuzz/FuzzCompile.

func FuzzCompile(f *testing.F) {
	seeds := []string{
		routing,
		`event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]`,
		`!(event.status != nil) || not exists(event.card.last4)`,
		`event.message contains "\"insufficient" and event.path startsWith '/api' or event.path endsWith "x"`,
		`event.escaped matches "^caf\u00e9\\s" && event.status not in ["a", 1, true, nil, -2.5e3]`,
		`1000 < event.amount <= 2000 && event.status >= event.currency`,
		`event["user-agent"] == event.status_copy`,
		"event.a ==\n 1",
		`a?.b[0] | lower() + 1 ?? let x = 1; {"a": [1:2]}`,
		`a matches "(" || len(a) > 1 || a.b() || if a { 1 } else { 2 }`,
		`((((a == 1))))`,
		``,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	obj := []byte(event)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, obj, "", "  "); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Compile(src)
		if err != nil {
			if c != nil {
				t.Fatalf("Compile(%q) returned a condition and %v", src, err)
			}
			return
		}
		if c.String() != src {
			t.Fatalf("String() = %q, want %q", c.String(), src)
		}
		// Whitespace between tokens changes nothing, and Eval keeps no state.
		got := c.Eval(obj)
		if c.Eval(pretty.Bytes()) != got || c.Eval(obj) != got {
			t.Fatalf("%s: Eval is %v on the compact event but not on the indented one or again", src, got)
		}
	})
}
