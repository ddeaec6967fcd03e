package jsonraw

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSkip(t *testing.T) {
	f := func(in string, want int) {
		t.Helper()
		if got := Skip([]byte(in), 0); got != want {
			t.Fatalf("Skip(%q) = %d, want %d", in, got, want)
		}
	}
	f(`"abc",1`, 5)
	f(`"a\"b\\",1`, 8)
	f(`"a long string past eight bytes \" with an escape"}`, 50)
	f(`{"a":[1,{"b":"}"}]},2`, 19)
	f(`[1,2,[3]] `, 9)
	f(`-12.5e3,`, 7)
	f(`true}`, 4)
	f(`null`, 4)
	// invalid input stays in bounds
	f(`"unterminated`, 13)
	f(`{"a":[1,2`, 9)
	f(`"trailing backslash\`, 20)
}

func TestStrEndReportsEscapes(t *testing.T) {
	f := func(in string, end int, esc bool) {
		t.Helper()
		if e, x := StrEnd([]byte(in), 0); e != end || x != esc {
			t.Fatalf("StrEnd(%q) = %d, %v; want %d, %v", in, e, x, end, esc)
		}
	}
	f(`"plain"`, 6, false)
	f(`"0123456789abcdef"`, 17, false)
	f(`"0123456789\n"`, 13, true)
	f(`"\\"`, 3, true)
}

func TestAppendUnescapedMatchesEncodingJSON(t *testing.T) {
	f := func(quoted string) {
		t.Helper()
		var want string
		if err := json.Unmarshal([]byte(quoted), &want); err != nil {
			t.Fatal(err)
		}
		got := AppendUnescaped([]byte("x"), []byte(quoted[1:len(quoted)-1]))
		if string(got) != "x"+want {
			t.Fatalf("AppendUnescaped(%s) = %q, want %q", quoted, got[1:], want)
		}
	}
	f(`"plain"`)
	f(`"tab\there \"q\" back\\slash \/ \b\f\n\r"`)
	f(`"\u00e9\u4e2d"`)
	f(`"\ud83d\ude00 pair"`)
	f(`"\ud83d lone high"`)
	f(`"\ude00 lone low"`)
	f(`"\ud83d\u0041 misordered"`)
}

func TestEscapeOnInvalidInput(t *testing.T) {
	f := func(in string, wantLen int) {
		t.Helper()
		if _, n := Escape([]byte(in), 0); n != wantLen {
			t.Fatalf("Escape(%q) length %d, want %d", in, n, wantLen)
		}
	}
	f(`\`, 1)
	f(`\u12`, 2)
	f(`\uzzzz`, 2)
	f(`\x`, 2)
}

func TestHex4(t *testing.T) {
	if r := Hex4([]byte("00aF"), 0); r != 0xaf {
		t.Fatalf("Hex4 = %x", r)
	}
	if r := Hex4([]byte("0g00"), 0); r != -1 {
		t.Fatalf("Hex4 of a non-hex digit = %d", r)
	}
	if r := Hex4([]byte("12"), 0); r != -1 {
		t.Fatalf("Hex4 of a short input = %d", r)
	}
}

func TestWS(t *testing.T) {
	f := func(in string, i, want int) {
		t.Helper()
		if got := WS([]byte(in), i); got != want {
			t.Fatalf("WS(%q, %d) = %d, want %d", in, i, got, want)
		}
	}
	f(`{"a":1}`, 0, 0)
	f(" \t\r\n:", 0, 4)
	f("a \n", 1, 3)
	f("\x01", 0, 0) // a control byte is not whitespace
	f("", 0, 0)
	f("ab", 2, 2)
}

func TestStrClose(t *testing.T) {
	f := func(in string, want int) {
		t.Helper()
		if got := StrClose([]byte(in), 0); got != want {
			t.Fatalf("StrClose(%q) = %d, want %d", in, got, want)
		}
		if end, _ := StrEnd([]byte(in), 0); end != want {
			t.Fatalf("StrEnd(%q) = %d, want %d", in, end, want)
		}
	}
	f(`""`, 1)
	f(`"plain"`, 6)
	f(`"0123456789abcdef"`, 17)
	f(`"a\"b"`, 5)
	f(`"a\\"b"`, 4)
	f(`"a\\\"b"`, 7)
	f(`"\\"`, 3)
	f(`"\\\\"`, 5)
	f(`"0123456\"89abcdef\\"`, 20) // escapes across the eight-byte words
	f(`"01234567\\\\\\\"ab\\\\"`, 23)
	f(`"unterminated`, 13)
	f(`"unterminated past eight bytes`, 30)
	f(`"escaped end\"`, 14)
	f(`"trailing backslash\`, 20)
}

// strEndRef is StrEnd a byte at a time, as the JSON grammar reads a string.
func strEndRef(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j, esc
		case '\\':
			esc = true
			j++
		}
	}
	return len(b), esc
}

// go test ./core/jsonraw -run '^$' -fuzz FuzzStrEnd -fuzztime 30s
// StrEnd, StrClose, Skip and WS agree with byte-at-a-time readers from every offset of any
// input.
func FuzzStrEnd(f *testing.F) {
	f.Add([]byte(`"a\"b\\" "0123456789\\\"abcdef\"ghij" "\\\\\\\\\\\\\\\\\"x"`))
	f.Add([]byte(`{"k":"v","n":[1,"]"],"o":{"\\":"\""}} ` + "\t\r\n"))
	f.Add([]byte(`"\`))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = b[:len(b):len(b)]
		for i := range b {
			wantEnd, wantEsc := strEndRef(b, i)
			if end, esc := StrEnd(b, i); end != wantEnd || esc != wantEsc {
				t.Fatalf("StrEnd(%q, %d) = %d, %v; want %d, %v", b, i, end, esc, wantEnd, wantEsc)
			}
			if end := StrClose(b, i); end != wantEnd {
				t.Fatalf("StrClose(%q, %d) = %d, want %d", b, i, end, wantEnd)
			}
			if b[i] == '"' {
				if end := Skip(b, i); end != min(len(b), wantEnd+1) {
					t.Fatalf("Skip(%q, %d) = %d, want %d", b, i, end, wantEnd+1)
				}
			}
			ws := i
			for ws < len(b) && strings.IndexByte(" \t\r\n", b[ws]) >= 0 {
				ws++
			}
			if got := WS(b, i); got != ws {
				t.Fatalf("WS(%q, %d) = %d, want %d", b, i, got, ws)
			}
		}
	})
}
