package jsonraw

import (
	"encoding/json"
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
