package config

import (
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// kinds has a field of every type the decoder supports, and a few it must refuse or skip.
type kinds struct {
	S        string         `yaml:"s"`
	I8       int8           `yaml:"i8"`
	I64      int64          `yaml:"i64"`
	F32      float32        `yaml:"f32"`
	B        bool           `yaml:"b"`
	D        time.Duration  `yaml:"d"`
	T        time.Time      `yaml:"t"`
	M        map[string]int `yaml:"m,omitempty"`
	P        *int           `yaml:"p"`
	L        [][]string     `yaml:"l"`
	Untagged int
	Skipped  int            `yaml:"-"`
	U        uint           `yaml:"u"`
	IntKeys  map[int]string `yaml:"int_keys"`
	internal int
}

// chain is a recursive type, the only way an alias cycle can reach the decoder.
type chain struct {
	Next *chain `yaml:"next"`
}

func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"HOST": "example.org", "EMPTY": "", "A_1": "one", "_X9": "nine"}[name]
	return v, ok
}

// decodeInto decodes src into v and returns the errors as strings.
func decodeInto(t *testing.T, src string, v any) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("yaml.Unmarshal(%q): %v", src, err)
	}
	l := newLoader("d.yaml", testEnv)
	l.decode(doc.Content[0], reflect.ValueOf(v).Elem(), "")
	msgs := make([]string, len(l.errs))
	for i, e := range l.errs {
		msgs[i] = e.Error()
	}
	return msgs
}

func TestDecodeKinds(t *testing.T) {
	src := `
s: "${HOST}"
i8: -0x10
i64: 9_000_000_000
f32: 1.5e3
b: False
d: 1h2m3.5s
t: 2026-05-01T12:30:00.25+02:00
m: {a: 1, b: 0o17}
p: 7
l: [[x, y], [], [z]]
untagged: 3
`
	got := kinds{Skipped: 9, internal: 4, B: true}
	if errs := decodeInto(t, src, &got); len(errs) > 0 {
		t.Fatalf("decode: %q", errs)
	}
	seven := 7
	want := kinds{
		S:        "example.org",
		I8:       -16,
		I64:      9e9,
		F32:      1500,
		D:        time.Hour + 2*time.Minute + 3500*time.Millisecond,
		T:        time.Date(2026, 5, 1, 10, 30, 0, 250e6, time.UTC),
		M:        map[string]int{"a": 1, "b": 15},
		P:        &seven,
		L:        [][]string{{"x", "y"}, {}, {"z"}},
		Untagged: 3,
		Skipped:  9,
		internal: 4,
	}
	if !got.T.Equal(want.T) {
		t.Fatalf("t = %v, want %v", got.T, want.T)
	}
	got.T = want.T
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
	}

	// An empty value leaves the field as it was.
	got = kinds{S: "kept", B: true}
	if errs := decodeInto(t, "s: ~\nb:\np: null\n", &got); len(errs) > 0 || got.S != "kept" || !got.B || got.P != nil {
		t.Fatalf("decode of empty values = %+v, %q", got, errs)
	}
}

func TestDecodeErrors(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		var v kinds
		if got := decodeInto(t, src, &v); !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q):\n got %q\nwant %q", src, got, want)
		}
	}
	f("i8: 200", "d.yaml:1: i8: 200 is out of range for 8-bit integers")
	f("f32: 1e39", `d.yaml:1: f32: expected a number, got "1e39"`)
	f("b: yes", `d.yaml:1: b: expected true or false, got "yes"`)
	f("m: [1]", "d.yaml:1: m: expected a mapping, got a list")
	f("m: {a: x}", `d.yaml:1: m.a: expected an integer, got "x"`)
	f("l: [x]", `d.yaml:1: l[0]: expected a list, got "x"`)
	f("s: {}", "d.yaml:1: s: expected a string, got a mapping")
	f("d: [1s]", `d.yaml:1: d: expected a duration such as "1s" or "500ms", got a list`)
	f("u: 1", "d.yaml:1: u: the config decoder does not support uint")
	f("int_keys: {1: a}", "d.yaml:1: int_keys: the config decoder does not support map[int]string")
	f("skipped: 1\ninternal: 2",
		"d.yaml:1: skipped: unknown key; known keys: s, i8, i64, f32, b, d, t, m, p, l, untagged, u, int_keys",
		"d.yaml:2: internal: unknown key; known keys: s, i8, i64, f32, b, d, t, m, p, l, untagged, u, int_keys")
	f("&k s: a\n*k : b", "d.yaml:2: a key must be a plain name, got an alias")
	f("s: ${NOPE}\ni8: x", "d.yaml:1: s: environment variable NOPE is not set", `d.yaml:2: i8: expected an integer, got "x"`)

	var c chain
	got := decodeInto(t, "&a {next: {next: *a}}", &c)
	want := []string{"d.yaml:1: next.next.next.next: alias *a refers to a value that contains it"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode of a cyclic alias:\n got %q\nwant %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := expand(in, testEnv)
		if err != nil || got != want {
			t.Fatalf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	f("plain", "plain")
	f("$$", "$")
	f("$$$$x", "$$x")
	f("a$", "a$")
	f("$HOME", "$HOME")
	f("cost: $5", "cost: $5")
	f("$${HOST}", "${HOST}")
	f("${HOST}:${HOST}", "example.org:example.org")
	f("${EMPTY}x", "x")
	f("${A_1}/${_X9}", "one/nine")

	fail := func(in, want string) {
		t.Helper()
		got, err := expand(in, testEnv)
		if err == nil || err.Error() != want {
			t.Fatalf("expand(%q) = %q, %v; want error %q", in, got, err, want)
		}
	}
	fail("${HOST", "unterminated ${ (write $$ for a literal $)")
	fail("x ${}", `invalid environment variable name ""; use letters, digits and _`)
	fail("${A-B}", `invalid environment variable name "A-B"; use letters, digits and _`)
	fail("${1A}", `invalid environment variable name "1A"; use letters, digits and _`)
	fail("${HOST}${NOPE}", "environment variable NOPE is not set")
}

func TestTypeList(t *testing.T) {
	if got, want := typeList(nil), "none (the binary was built without sinks)"; got != want {
		t.Fatalf("typeList(nil) = %q, want %q", got, want)
	}
	if got, want := typeList([]string{"file", "http"}), "file, http"; got != want {
		t.Fatalf("typeList = %q, want %q", got, want)
	}
}
