package kv

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// go test ./core/kv -run '^$' -fuzz FuzzAppendJSON -fuzztime 30s
// The corpus lives in testdata/fuzz/FuzzAppendJSON beside the seeds added here.

// fuzzOptions are the separator sets that arbitrary input is parsed with, chosen by a byte.
var fuzzOptions = []Options{
	DefaultOptions(),
	{PairSeparator: " ", ValueSeparator: "=", Quotes: false},
	{PairSeparator: ",", ValueSeparator: ":", Quotes: true},
	{PairSeparator: ", ", ValueSeparator: " ", Quotes: true},
	{PairSeparator: "==", ValueSeparator: "=", Quotes: true},
	{PairSeparator: "&", ValueSeparator: "=>", Quotes: false},
}

func FuzzAppendJSON(f *testing.F) {
	seeds := []string{
		benchLine,
		`a=1 b="x \"y\" \\" c='z' a=2`,
		`"k y"=1 'v'="" e=`,
		"a=\xff\x01 \xfe=\"\t\" \ufffd=1",
		`a:1, "b" : 'c,d' ,, e:`,
		`a 1, b  2`,
		`a=1==b=2`,
		`a=>1&b=>"2"`,
		`a="x`, `=1`, `a=1 foo`, `a="x"y`,
		strings.Repeat("k=v ", MaxPairs+1),
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	parsers := make([]*Parser, len(fuzzOptions))
	for i, o := range fuzzOptions {
		parsers[i] = mustNew(f, o)
	}
	logfmt := parsers[0]
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		checkAny(t, parsers[int(mode)%len(parsers)], data)
		line, want := pairsFrom(data)
		got := checkAny(t, logfmt, line)
		if got == nil {
			t.Fatalf("generated line %q refused", line)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("line %q:\ngot  %q\nwant %q", line, got, want)
		}
	})
}

// checkAny parses arbitrary input and checks what holds for any: an error leaves dst alone, and
// an object is valid JSON with string values and no repeated member. It returns the object, or
// nil after an error.
func checkAny(t *testing.T, p *Parser, in []byte) map[string]string {
	t.Helper()
	const prefix = "[1,"
	out, err := p.AppendJSON([]byte(prefix), in)
	if !bytes.HasPrefix(out, []byte(prefix)) {
		t.Fatalf("%q: dst prefix overwritten: %q", in, out)
	}
	if err != nil {
		if string(out) != prefix || !strings.HasPrefix(err.Error(), "kv: ") {
			t.Fatalf("%q: error %v, dst %q", in, err, out)
		}
		return nil
	}
	obj := out[len(prefix):]
	if !json.Valid(obj) {
		t.Fatalf("%q: invalid JSON %q", in, obj)
	}
	var m map[string]string
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatalf("%q: %s does not decode to strings: %v", in, obj, err)
	}
	if n := members(obj); n != len(m) {
		t.Fatalf("%q: %s has %d members for %d keys", in, obj, n, len(m))
	}
	return m
}

// members counts the member names of the flat JSON object obj.
func members(obj []byte) int {
	d := json.NewDecoder(bytes.NewReader(obj))
	strs := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return strs / 2
		}
		if _, ok := tok.(string); ok {
			strs++
		}
	}
}

// pairsFrom builds a logfmt line from the fuzzer's bytes, and the object it must parse to:
// the last value of each key, with invalid UTF-8 as U+FFFD byte by byte, as the output has it.
func pairsFrom(data []byte) ([]byte, map[string]string) {
	var line []byte
	want := map[string]string{}
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		c := data[0]
		data = data[1:]
		return c
	}
	word := func() []byte {
		n := min(int(next()%16), len(data))
		w := data[:n]
		data = data[n:]
		return w
	}
	// At most MaxPairs pairs, repeated keys included: a longer line is refused by design.
	for pairs := 0; len(data) > 0 && pairs < MaxPairs; pairs++ {
		ctl := next()
		key := word()
		switch {
		case ctl%4 == 0:
			key = []byte("dup")
		case len(key) == 0:
			key = []byte("k")
		}
		val := word()
		line = appendWord(line, key, ctl&16 != 0, true)
		line = append(line, '=')
		line = appendWord(line, val, ctl&32 != 0, false)
		line = append(line, " \t\n\r"[ctl>>6:]...)
		want[string([]rune(string(key)))] = string([]rune(string(val)))
	}
	return line, want
}

// appendWord writes w bare when it can, else quoted: in single quotes when single is set and w
// holds no ', else in double quotes with \" and \\ escapes.
func appendWord(dst, w []byte, single, key bool) []byte {
	bare := len(w) == 0 || !isQuote(w[0])
	for _, c := range w {
		bare = bare && !isBlank(c) && !(key && c == '=')
	}
	switch {
	case bare && (len(w) > 0 || !key):
		return append(dst, w...)
	case single && bytes.IndexByte(w, '\'') < 0:
		dst = append(dst, '\'')
		dst = append(dst, w...)
		return append(dst, '\'')
	}
	dst = append(dst, '"')
	for _, c := range w {
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}
