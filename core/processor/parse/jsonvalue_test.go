package parse

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCompactJSON(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{in: `{}`, want: `{}`},
		{in: " \t\r\n{ \"a\" :\r\n 1 , \"b\":[ ]\n}\r\n ", want: `{ "a" : 1 , "b":[ ]}`},
		{in: `[1,-0,0.5,-1.25e-3,2E+2,"x\"\\\/\b\f\n\r\t\u00E9",true,false,null,{},[]]`, want: `[1,-0,0.5,-1.25e-3,2E+2,"x\"\\\/\b\f\n\r\t\u00E9",true,false,null,{},[]]`},
		{in: `""`, want: `""`},
		{in: `0`, want: `0`},
		{in: ``, err: "invalid JSON: it ends early"},
		{in: " \n", err: "invalid JSON: it ends early"},
		{in: `[1,]`, err: `unexpected ']' at byte 3`},
		{in: `{"a"}`, err: `unexpected '}' at byte 4`},
		{in: `{"a":1 "b":2}`, err: `unexpected '"' at byte 7`},
		{in: `{1:2}`, err: `unexpected '1' at byte 1`},
		{in: `[1}`, err: `unexpected '}' at byte 2`},
		{in: `{"a":1]`, err: `unexpected ']' at byte 6`},
		{in: `01`, err: `unexpected '1' at byte 1`},
		{in: `1.`, err: `it ends early`},
		{in: `1.e3`, err: `unexpected 'e' at byte 2`},
		{in: `1e`, err: `it ends early`},
		{in: `+1`, err: `unexpected '+' at byte 0`},
		{in: `-`, err: `it ends early`},
		{in: `tru`, err: `unexpected 't' at byte 0`},
		{in: `nulls`, err: `unexpected 's' at byte 4`},
		{in: `"abc`, err: `it ends early`},
		{in: `"a\`, err: `it ends early`},
		{in: `"\x"`, err: `unexpected 'x' at byte 2`},
		{in: `"\u12g4"`, err: `unexpected 'g' at byte 5`},
		{in: `"\u12`, err: `it ends early`},
		{in: "\"a\tb\"", err: `control byte 0x09 in a string at byte 2`},
		{in: `[1] [2]`, err: `unexpected '[' at byte 4`},
	}
	for _, c := range cases {
		b := []byte(c.in)
		n, err := compactJSON(b)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: got %v, want an error containing %q", c.in, err, c.err)
		case c.err == "" && (err != nil || string(b[:n]) != c.want):
			t.Errorf("%q: got %q, %v; want %q", c.in, b[:n], err, c.want)
		}
		if c.err != "" && json.Valid([]byte(c.in)) {
			t.Errorf("%q: encoding/json accepts what compactJSON refuses", c.in)
		}
	}
}

// FuzzCompactJSON checks compactJSON against encoding/json.Valid: the same verdict, except for
// values nested too deep, and the same value after compaction, on one line.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2]`, `{"a":[true,{"b":null}]}`, "\"\x01\"", `"\x"`, `01`, `1.`, `-0.0e-0`,
		"[\n1\r]", `{"a" 1}`, `1 2`, `"\u00e9\ud800"`, strings.Repeat("[", 65) + strings.Repeat("]", 65)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := bytes.Clone(in)
		n, err := compactJSON(b)
		if valid := json.Valid(in); err == nil != valid {
			if !valid || !strings.Contains(err.Error(), "nesting deeper") {
				t.Fatalf("%q: compactJSON says %v, encoding/json says valid=%v", in, err, valid)
			}
			return
		}
		if err != nil {
			return
		}
		out := b[:n]
		if bytes.ContainsAny(out, "\r\n") || !json.Valid(out) {
			t.Fatalf("%q: compacted to %q", in, out)
		}
		var want, got bytes.Buffer
		if json.Compact(&want, in) != nil || json.Compact(&got, out) != nil || want.String() != got.String() {
			t.Fatalf("%q: compacted to %q, a different value", in, out)
		}
	})
}
