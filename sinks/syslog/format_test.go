package syslog

import (
	"strconv"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
)

func str(s string) fieldpath.Value {
	return fieldpath.Value{Raw: []byte(strconv.Quote(s)), Kind: fieldpath.String}
}

func TestEventTime(t *testing.T) {
	cases := map[string]string{ // input → UTC RFC 3339 with nanoseconds; "" for refused
		"2025-02-12T14:32:15Z":               "2025-02-12T14:32:15Z",
		"2025-02-12t14:32:15z":               "2025-02-12T14:32:15Z",
		"2025-02-12T14:32:15.123456789Z":     "2025-02-12T14:32:15.123456789Z",
		"2025-02-12T14:32:15.1234567891234Z": "2025-02-12T14:32:15.123456789Z",
		"2025-02-12T00:30:00+01:00":          "2025-02-11T23:30:00Z",
		"2025-12-31T23:30:00.5-00:45":        "2026-01-01T00:15:00.5Z",
		"2025-02-12T14:32:15":                "",
		"2025-02-12 14:32:15Z":               "",
		"2025-02-12T14:32:15.Z":              "",
		"2025-13-12T14:32:15Z":               "",
		"2025-02-12T24:32:15Z":               "",
		"2025-02-12T14:32:15+24:00":          "",
		"2025-02-12T14:32:15+0100":           "",
		"2025-02-12T14:32:15Zjunk":           "",
		"x025-02-12T14:32:15Z":               "",
		"":                                   "",
	}
	for in, want := range cases {
		got, ok := eventTime(str(in))
		if s := got.Format(time.RFC3339Nano); ok != (want != "") || ok && s != want {
			t.Errorf("eventTime(%q) = %s, %v; want %q", in, s, ok, want)
		}
	}
	if _, ok := eventTime(fieldpath.Value{Raw: []byte("1739370735"), Kind: fieldpath.Number}); ok {
		t.Error("a number was taken as a time")
	}
}

func TestCodeOf(t *testing.T) {
	num := func(s string) fieldpath.Value { return fieldpath.Value{Raw: []byte(s), Kind: fieldpath.Number} }
	cases := []struct {
		v    fieldpath.Value
		want int // -1: not a severity
	}{
		{str("err"), 3}, {str("ERROR"), 3}, {str("Warning"), 4}, {str("warn"), 4}, {str("debug"), 7},
		{str("7"), 7}, {num("0"), 0}, {num("7"), 7}, {num("8"), -1}, {num("1.5"), -1}, {num("-1"), -1},
		{str("loud"), -1}, {str(""), -1}, {str("a very long severity name"), -1}, {str("\u00e9rror"), -1},
		{num("00000000000000000003"), -1}, {fieldpath.Value{Raw: []byte("true"), Kind: fieldpath.Bool}, -1},
	}
	for _, c := range cases {
		n, ok := codeOf(severities, severityAliases, c.v)
		if ok != (c.want >= 0) || ok && n != c.want {
			t.Errorf("codeOf(%s) = %d, %v; want %d", c.v.Raw, n, ok, c.want)
		}
	}
}

func TestEscapeSD(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", `a"b`: `a\"b`, `\`: `\\`, "]": `\]`, `"]\`: `\"\]\\`, "": "",
	} {
		dst := append([]byte("prefix\"]"), in...)
		if got := string(escapeSD(dst, len("prefix\"]"))); got != "prefix\"]"+want {
			t.Errorf("escapeSD(%q) = %q, want %q", in, got, "prefix\"]"+want)
		}
	}
}

func TestSanitize(t *testing.T) {
	if got := string(sanitize([]byte("x:"), []byte("a b\tc\u00e9~"), 6)); got != "x:a_b_c_" {
		t.Errorf("got %q", got)
	}
}
