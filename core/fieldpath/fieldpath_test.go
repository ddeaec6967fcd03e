package fieldpath

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// seedEvent is the SPEC example padded with realistic fields to about 500 bytes.
const seedEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36","ip":"203.0.113.42","path":"/api/v2/checkout/confirm","region":"eu-west-1","card_last4":"4242","message":"payment approved for order ord_88412 after 3DS challenge"},"metadata":{"env":"prod","team":"payments"}}`

func TestParse(t *testing.T) {
	f := func(s string, want []string) {
		t.Helper()
		p, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := p.Segments(); !slices.Equal(got, want) || p.String() != s {
			t.Fatalf("Parse(%q) = %q %q, want %q", s, p.String(), got, want)
		}
	}
	f("source", []string{"source"})
	f("event.card.number", []string{"event", "card", "number"})
	f("metadata.@timestamp", []string{"metadata", "@timestamp"})
	f("a.$ref.x-y.Z_9", []string{"a", "$ref", "x-y", "Z_9"})
	f(strings.Repeat("a.", MaxSegments-1)+"a", slices.Repeat([]string{"a"}, MaxSegments))
}

func TestParseErrors(t *testing.T) {
	f := func(s, want string) {
		t.Helper()
		p, err := Parse(s)
		if err == nil {
			t.Fatalf("Parse(%q) = %v, want an error", s, p)
		}
		if err.Error() != want {
			t.Fatalf("Parse(%q):\n got %s\nwant %s", s, err, want)
		}
	}
	f("", `field path is empty`)
	f("event..x", `field path "event..x": segment 2 is empty`)
	f(".event", `field path ".event": segment 1 is empty`)
	f("event.", `field path "event.": segment 2 is empty`)
	f("event.card number", `field path "event.card number": segment 2 "card number" has the character ' '; segments are made of letters, digits and _ @ $ -`)
	f("event.größe", `field path "event.größe": segment 2 "größe" has the character 'ö'; segments are made of letters, digits and _ @ $ -`)
	f(`a["b"]`, `field path "a[\"b\"]": segment 1 "a[\"b\"]" has the character '['; segments are made of letters, digits and _ @ $ -`)
	f(strings.Repeat("a.", MaxSegments)+"a", `field path "`+strings.Repeat("a.", MaxSegments)+`a": 33 segments, at most 32 are allowed`)
}

func TestMustParse(t *testing.T) {
	if p := MustParse("event.status"); p.String() != "event.status" {
		t.Fatalf("MustParse = %v", p)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "segment 2 is empty") {
			t.Fatalf("MustParse(\"a..b\") recovered %v", r)
		}
	}()
	MustParse("a..b")
}

func TestSegmentsIsACopy(t *testing.T) {
	p := MustParse("event.status")
	p.Segments()[0] = "metadata"
	if got := p.Segments()[0]; got != "event" {
		t.Fatalf("Segments()[0] = %q after changing a copy", got)
	}
}

func TestLookup(t *testing.T) {
	// f looks path up in obj twice (Lookup keeps no state) and wants raw of kind, or no value
	// when raw is empty.
	f := func(obj, path, raw string, kind Kind) {
		t.Helper()
		p := MustParse(path)
		for range 2 {
			v, ok := Lookup([]byte(obj), p)
			if raw == "" {
				if ok {
					t.Fatalf("Lookup(%s, %s) = %q, want nothing", obj, path, v.Raw)
				}
				continue
			}
			if !ok || string(v.Raw) != raw || v.Kind != kind {
				t.Fatalf("Lookup(%s, %s) = %q %v %v, want %q %v", obj, path, v.Raw, v.Kind, ok, raw, kind)
			}
		}
	}
	// every kind, at each depth of the seed event
	f(seedEvent, "source", `"payments-app"`, String)
	f(seedEvent, "timestamp", `"2025-02-12T14:32:15Z"`, String)
	f(seedEvent, "event.status", `"approved"`, String)
	f(seedEvent, "event.amount", `499`, Number)
	f(seedEvent, "event.message", `"payment approved for order ord_88412 after 3DS challenge"`, String)
	f(seedEvent, "metadata", `{"env":"prod","team":"payments"}`, Object)
	f(seedEvent, "metadata.team", `"payments"`, String)
	f(`{"a":{"b":{"c":[1,{"d":2}]}}}`, "a.b.c", `[1,{"d":2}]`, Array)
	f(`{"a":{"b":{"c":{"d":-1.5e-3}}}}`, "a.b.c.d", `-1.5e-3`, Number)
	f(`{"a":true,"b":false,"c":null}`, "a", `true`, Bool)
	f(`{"a":true,"b":false,"c":null}`, "b", `false`, Bool)
	f(`{"a":true,"b":false,"c":null}`, "c", `null`, Null)
	f(`{"a":{}}`, "a", `{}`, Object)
	f(`{"a":[]}`, "a", `[]`, Array)
	f(`{"a":""}`, "a", `""`, String)

	// missing fields and non-objects on the way
	f(seedEvent, "event.missing", "", 0)
	f(seedEvent, "missing.status", "", 0)
	f(seedEvent, "event.status.x", "", 0)
	f(seedEvent, "event.amount.x", "", 0)
	f(`{"a":[{"b":1}]}`, "a.b", "", 0)
	f(`{"a":null}`, "a.b", "", 0)
	f(`{}`, "a", "", 0)
	f(`{"a":{}}`, "a.b", "", 0)
	f(`[{"a":1}]`, "a", "", 0)
	f(`"a"`, "a", "", 0)
	f(``, "a", "", 0)

	// keys: case-sensitive, a prefix is not a match, escapes are decoded
	f(`{"Status":1,"status":2}`, "status", `2`, Number)
	f(`{"stat":1,"statusx":2}`, "status", "", 0)
	f(`{"a\u0062":1}`, "ab", `1`, Number)
	f(`{"\u0061\u0062":1}`, "ab", `1`, Number)
	f(`{"a\u0062x":1}`, "ab", "", 0)
	f(`{"a\\b":1,"ab":2}`, "ab", `2`, Number)
	f(`{"\u0040timestamp":"x"}`, "@timestamp", `"x"`, String)
	f(`{"a\n":1}`, "a", "", 0)

	// the last duplicate wins, at every level, escaped or not
	f(`{"a":1,"b":2,"a":3}`, "a", `3`, Number)
	f(`{"a":{"b":1},"a":{"c":2}}`, "a.b", "", 0)
	f(`{"a":{"b":1},"a":{"c":2}}`, "a.c", `2`, Number)
	f(`{"a":{"b":1,"b":{"x":"y"}}}`, "a.b.x", `"y"`, String)
	f(`{"ab":1,"a\u0062":2}`, "ab", `2`, Number)
	f(`{"a\u0062":1,"ab":2}`, "ab", `2`, Number)

	// skipping: strings holding quotes, backslashes and brackets; nested containers; whitespace
	f(`{"x":"a\"b}","a":1}`, "a", `1`, Number)
	f(`{"x":"a\\","a":1}`, "a", `1`, Number)
	f(`{"x":"\\\"}]","a":1}`, "a", `1`, Number)
	f(`{"x":"\\\\","a":1}`, "a", `1`, Number)
	f(`{"x":{"a":"}","y":[{"a":"]"},["{"]]},"a":1}`, "a", `1`, Number)
	f(`{"x":[[[]],{}],"a":[{"b":"]"}]}`, "a", `[{"b":"]"}]`, Array)
	f(`{"x":12.5e+3,"y":true,"z":null,"a":-0}`, "a", `-0`, Number)
	f(" \t\r\n{ \"a\" :\n { \"b\" : 1 , \"c\"\t:\t\"d\" } \n}\n", "a.c", `"d"`, String)
	f(" {\"a\" : [ 1 , 2 ] , \"b\" : 3 } ", "a", `[ 1 , 2 ]`, Array)
	f(" {\"a\" : 12 } ", "a", `12`, Number)
	f(" {\"a\" : { } } ", "a", `{ }`, Object)
	f(`{"a":"\u00e9\ud83d\ude00"}`, "a", `"\u00e9\ud83d\ude00"`, String)
	f(`{"é":1,"a":2}`, "a", `2`, Number)
}

// TestLookupInvalid feeds malformed objects, which Lookup need not understand but must survive.
func TestLookupInvalid(t *testing.T) {
	f := func(obj, path string) {
		t.Helper()
		b := []byte(obj)
		b = b[:len(b):len(b)] // without spare capacity, a read past the end panics
		// A Set of the path and all its prefixes returns every value on the way.
		var prefixes []*Path
		for i := range path {
			if path[i] == '.' {
				prefixes = append(prefixes, MustParse(path[:i]))
			}
		}
		NewSet(append(prefixes, MustParse(path))...).Lookup(b, make([]Value, len(prefixes)+1))
		v, ok := Lookup(b, MustParse(path))
		if ok {
			// Whatever was found, reading it must not panic either.
			_ = v.Str(nil)
			_ = v.EqualString("x")
			_ = v.CompareString("x")
			_, _ = v.Float()
			_, _ = v.Bool()
		}
	}
	f(`{`, "a")
	f(`{"a`, "a")
	f(`{"a"`, "a")
	f(`{"a":`, "a")
	f(`{"a":"`, "a")
	f(`{"a":"\`, "a")
	f(`{"\`, "a")
	f(`{"a\`, "a")
	f(`{"x":{"\`, "a")
	f(`{"a":{"\`, "a.b")
	f(`{"a":{"b`, "a.b")
	f(`{"a":{"b":`, "a.b.c")
	f(`{"a":"\u12`, "a")
	f(`{"a":"\ud800\u`, "a")
	f(`{"a":{"b":[`, "a.b")
	f(`{"a":{"b":"x`, "a.b")
	f(`{"a":1`, "a")
	f(`{"a":-`, "a")
	f(`{"a"1}`, "a")
	f(`{"a":1 "b":2}`, "b")
	f(`{a:1}`, "a")
	f(`{"a":"\q"}`, "a")
}

func TestKind(t *testing.T) {
	f := func(k Kind, want string) {
		t.Helper()
		if got := k.String(); got != want {
			t.Fatalf("Kind(%d) = %q, want %q", k, got, want)
		}
	}
	f(String, "string")
	f(Number, "number")
	f(Bool, "bool")
	f(Null, "null")
	f(Object, "object")
	f(Array, "array")
	f(0, "invalid")
	f(200, "invalid")
}

func TestStr(t *testing.T) {
	// f decodes the JSON string raw twice, onto an empty and onto a non-empty dst.
	f := func(raw, want string) {
		t.Helper()
		v := Value{Raw: []byte(raw), Kind: String}
		if got := string(v.Str(nil)); got != want {
			t.Fatalf("Str(%s) = %q, want %q", raw, got, want)
		}
		if got := string(v.Str([]byte("<"))); got != "<"+want {
			t.Fatalf("Str(%s) after '<' = %q, want %q", raw, got, "<"+want)
		}
	}
	f(`""`, "")
	f(`"plain"`, "plain")
	f(`"a\"b\\c\/d"`, `a"b\c/d`)
	f(`"\b\f\n\r\t"`, "\b\f\n\r\t")
	f(`"\u0041\u00e9\u20AC"`, "Aé€")
	f(`"\u0000"`, "\x00")
	f(`"x\ud83d\ude00y"`, "x😀y")
	f(`"日本"`, "日本")
	// lone or misordered surrogates become U+FFFD, as encoding/json decodes them
	f(`"\ud800"`, "\uFFFD")
	f(`"\ud800x"`, "\uFFFDx")
	f(`"\udc00\ud800"`, "\uFFFD\uFFFD")
	f(`"\ud800\u0041"`, "\uFFFDA")
	f(`"\ud800\ud800\udc00"`, "\uFFFD\U00010000")
	// escapes only invalid JSON holds decode to something
	f(`"\uZZZZ"`, "\uFFFDZZZZ")
	f(`"\u12"`, "\uFFFD12")
	f(`"\q"`, "q")
	f(`"\"`, "\uFFFD")
	// other kinds have no string content
	if got := (Value{Raw: []byte(`12`), Kind: Number}).Str([]byte("x")); string(got) != "x" {
		t.Fatalf("Str of a number = %q", got)
	}
}

func TestEqualString(t *testing.T) {
	f := func(raw string, kind Kind, s string, want bool) {
		t.Helper()
		if got := (Value{Raw: []byte(raw), Kind: kind}).EqualString(s); got != want {
			t.Fatalf("%s EqualString(%q) = %v, want %v", raw, s, got, want)
		}
	}
	f(`"declined"`, String, "declined", true)
	f(`"declined"`, String, "decline", false)
	f(`"declined"`, String, "declinedx", false)
	f(`"declined"`, String, "Declined", false)
	f(`""`, String, "", true)
	f(`"a\nb"`, String, "a\nb", true)
	// the escaped text itself is not the content
	f(`"a\nb"`, String, `a\nb`, false)
	f(`"a\\b"`, String, `a\b`, true)
	f(`"a\\b"`, String, `a\\b`, false)
	f(`"\u0064eclined"`, String, "declined", true)
	f(`"\u0064eclined"`, String, "declinee", false)
	f(`"\u0064eclined"`, String, "declined!", false)
	f(`"caf\u00e9"`, String, "café", true)
	f(`"\ud83d\ude00"`, String, "😀", true)
	f(`"\ud83d\ude00"`, String, "😀😀", false)
	f(`"declined"`, Number, "declined", false)
	f(`declined`, Bool, "declined", false)
}

func TestCompareString(t *testing.T) {
	f := func(raw string, kind Kind, s string, want int) {
		t.Helper()
		if got := (Value{Raw: []byte(raw), Kind: kind}).CompareString(s); got != want {
			t.Fatalf("%s CompareString(%q) = %d, want %d", raw, s, got, want)
		}
	}
	f(`"b"`, String, "b", 0)
	f(`"b"`, String, "a", 1)
	f(`"b"`, String, "c", -1)
	f(`"b"`, String, "ba", -1)
	f(`"ba"`, String, "b", 1)
	f(`""`, String, "", 0)
	f(`""`, String, "a", -1)
	f(`"a"`, String, "", 1)
	f(`"\u0062"`, String, "b", 0)
	f(`"\u0062"`, String, "a", 1)
	f(`"\u0062"`, String, "c", -1)
	f(`"\u0062"`, String, "bb", -1)
	f(`"x\u0062"`, String, "x", 1)
	f(`"x\u0062y"`, String, "xb", 1)
	f(`"x\u0062y"`, String, "xbz", -1)
	f(`"\u00e9"`, String, "é", 0)
	// byte order: 'é' (0xC3 0xA9) sorts after every ASCII byte
	f(`"\u00e9"`, String, "z", 1)
	f(`"\n"`, String, "\\n", -1)
	f(`"b"`, Number, "b", -1)
}

func TestFloat(t *testing.T) {
	f := func(raw string, want float64) {
		t.Helper()
		got, ok := (Value{Raw: []byte(raw), Kind: Number}).Float()
		if !ok || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("Float(%s) = %v %v, want %v", raw, got, ok, want)
		}
	}
	f(`0`, 0)
	f(`-0`, math.Copysign(0, -1))
	f(`499`, 499)
	f(`-12.5`, -12.5)
	f(`1e3`, 1000)
	f(`1.5E+2`, 150)
	f(`25e-1`, 2.5)
	f(`0.0012`, 0.0012)
	f(`9007199254740993`, 9007199254740992)
	f(`1e308`, 1e308)
	f(`1.7976931348623157e308`, math.MaxFloat64)
	// beyond the float64 range, as strconv.ParseFloat answers
	f(`2e308`, math.Inf(1))
	f(`1e309`, math.Inf(1))
	f(`1e400`, math.Inf(1))
	f(`-1e400`, math.Inf(-1))
	f(`0.01e311`, math.Inf(1))
	f(`1`+strings.Repeat("0", 400), math.Inf(1))
	f(`1e99999999999999999999999`, math.Inf(1))
	f(`1e-400`, 0)
	f(`-1e-400`, math.Copysign(0, -1))
	f(`0.000e999`, 0)
	f(`100e-2`, 1)
	f(`0.001e311`, 1e308)

	g := func(v Value) {
		t.Helper()
		if got, ok := v.Float(); ok {
			t.Fatalf("Float(%s %v) = %v, want no number", v.Raw, v.Kind, got)
		}
	}
	g(Value{Raw: []byte(`"1"`), Kind: String})
	g(Value{Raw: []byte(`true`), Kind: Bool})
	g(Value{Raw: []byte(`1x`), Kind: Number})
	g(Value{Kind: Number})
}

func TestMagnitude(t *testing.T) {
	f := func(n string, want int) {
		t.Helper()
		if got := magnitude([]byte(n)); got != want {
			t.Fatalf("magnitude(%s) = %d, want %d", n, got, want)
		}
	}
	f("0", 0)
	f("-0.000", 0)
	f("7", 0)
	f("499", 2)
	f("-499.5", 2)
	f("0.5", -1)
	f("0.0012", -3)
	f("1e401", 401)
	f("12e-5", -4)
	f("0.012E+3", 1)
	f("10.05", 1)
}

func TestBool(t *testing.T) {
	f := func(v Value, want, wantOK bool) {
		t.Helper()
		if got, ok := v.Bool(); got != want || ok != wantOK {
			t.Fatalf("Bool(%s %v) = %v %v, want %v %v", v.Raw, v.Kind, got, ok, want, wantOK)
		}
	}
	f(Value{Raw: []byte(`true`), Kind: Bool}, true, true)
	f(Value{Raw: []byte(`false`), Kind: Bool}, false, true)
	f(Value{Raw: []byte(`"true"`), Kind: String}, false, false)
	f(Value{Raw: []byte(`null`), Kind: Null}, false, false)
	f(Value{Kind: Bool}, false, false)
}

func TestSet(t *testing.T) {
	// f looks paths up in obj with one Set, twice on the same vals, and wants each value's raw
	// text, or "-" for a missing one; each must also agree with Lookup.
	f := func(obj string, paths []string, want ...string) {
		t.Helper()
		ps := make([]*Path, len(paths))
		for i, p := range paths {
			ps[i] = MustParse(p)
		}
		s := NewSet(ps...)
		if s.Len() != len(paths) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(paths))
		}
		vals := make([]Value, len(paths)+1)
		vals[len(paths)] = Value{Raw: []byte("untouched"), Kind: String}
		for range 2 {
			s.Lookup([]byte(obj), vals)
			for i, v := range vals[:len(paths)] {
				got := "-"
				if v.Kind != 0 {
					got = string(v.Raw)
				}
				if got != want[i] {
					t.Fatalf("%s in %s = %s, want %s", paths[i], obj, got, want[i])
				}
				if one, ok := Lookup([]byte(obj), ps[i]); ok != (v.Kind != 0) || string(one.Raw) != string(v.Raw) || one.Kind != v.Kind {
					t.Fatalf("%s in %s: Set found %q, Lookup %q", paths[i], obj, v.Raw, one.Raw)
				}
			}
			if string(vals[len(paths)].Raw) != "untouched" {
				t.Fatalf("Lookup wrote past Len")
			}
		}
	}
	f(seedEvent, []string{"event.status", "event.amount", "metadata.env", "source", "event.missing"},
		`"approved"`, `499`, `"prod"`, `"payments-app"`, "-")
	// a path and its prefix; the same path twice
	f(`{"a":{"b":{"c":1}}}`, []string{"a.b.c", "a", "a.b", "a.b.c"}, `1`, `{"b":{"c":1}}`, `{"c":1}`, `1`)
	// a later duplicate overrides all that an earlier one held, found or not
	f(`{"a":{"b":1,"c":2},"a":{"c":3}}`, []string{"a.b", "a.c", "a"}, "-", `3`, `{"c":3}`)
	f(`{"a":{"b":1},"a":5}`, []string{"a.b", "a"}, "-", `5`)
	f(`{"a":5,"a":{"b":1}}`, []string{"a.b", "a"}, `1`, `{"b":1}`)
	f(`{"a":{"b":{"c":1}},"x":2,"a":{"b":{"d":3}}}`, []string{"a.b.c", "a.b.d", "x"}, "-", `3`, `2`)
	f(`{"a":{"b":1,"b":2}}`, []string{"a.b"}, `2`)
	// paths through non-objects; nothing at all
	f(`{"a":[{"b":1}],"c":"d"}`, []string{"a.b", "c.d", "a"}, "-", "-", `[{"b":1}]`)
	f(`[]`, []string{"a", "b"}, "-", "-")
	f(`{}`, nil)
}

func TestSetLookupShortVals(t *testing.T) {
	s := NewSet(MustParse("a"), MustParse("b"))
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Lookup with one value for two paths did not panic")
		}
	}()
	s.Lookup([]byte(`{"a":1}`), make([]Value, 1))
}

// TestShortDecimal holds the strconv-free path of Float to strconv.ParseFloat on random
// numbers of up to 15 digits, and to declining what it does not handle.
func TestShortDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		digits := 1 + rng.IntN(15)
		var b []byte
		if rng.IntN(2) == 0 {
			b = append(b, '-')
		}
		dot := rng.IntN(digits + 1)
		for i := range digits {
			if i == dot && i > 0 {
				b = append(b, '.')
			}
			b = append(b, byte('0'+rng.IntN(10)))
		}
		got, ok := shortDecimal(b)
		want, err := strconv.ParseFloat(string(b), 64)
		if !ok || err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: got %v %v, ParseFloat %v %v", b, got, ok, want, err)
		}
	}
	for _, s := range []string{"1e5", "1234567890123456", "-", "1.2.3", "0.1234567890123456"} {
		if _, ok := shortDecimal([]byte(s)); ok {
			t.Errorf("%s: taken", s)
		}
	}
}
