package parquet

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseRFC3339 holds the parser to time.Parse: the same instants, and every time accepted
// that has RFC 3339's fixed-width shape. time.Parse also takes a one-digit hour ("T0:00:00")
// and offsets past 23:59 ("+00:60", "+24:00"), which RFC 3339 does not allow and the parser refuses.
func FuzzParseRFC3339(f *testing.F) {
	for _, s := range []string{"2025-02-12T14:32:15Z", "2025-02-12T14:32:15.123456789+05:30",
		"2024-02-29T23:59:59.5-11:00", "2025-02-30T00:00:00Z", "2025-02-12T14:32:15.Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseRFC3339([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		inRange := err == nil && !want.Before(minTime) && !want.After(maxTime) &&
			!strings.Contains(s, ",") && fixedWidth(s)
		switch {
		case ok && (err != nil || got != want.UnixNano()):
			t.Fatalf("%q: got %d, time.Parse %v %v", s, got, want, err)
		case !ok && inRange:
			t.Fatalf("%q: rejected, time.Parse gives %v", s, want)
		}
	})
}

// fixedWidth says whether s has the separators of RFC 3339's date-time where its fixed-width
// fields put them, and a numeric offset within 23:59.
func fixedWidth(s string) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' && s[10] != 't' ||
		s[13] != ':' || s[16] != ':' {
		return false
	}
	if n := len(s); n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':' {
		return s[n-2] <= '5' && (s[n-5] < '2' || s[n-5] == '2' && s[n-4] <= '3')
	}
	return true
}

// FuzzEncode feeds arbitrary lines: Encode either fails on a line that is not an object or
// writes a file that reads back with one row per line. When the input is one JSON object,
// nothing of it is lost: each top-level member is in its column or in extra.
func FuzzEncode(f *testing.F) {
	f.Add([]byte(`{"timestamp":"2025-02-12T14:32:15Z","source":"a","event":{"amount":1,"count":"x"}}`))
	f.Add([]byte("{}\n\n{\"event\":{\"at\":\"2025-02-12T14:32:15+05:30\"},\"event_id\":\"\\u0041\"}"))
	f.Add([]byte(`{"source":null,"timestamp":7,"x":{"y":[1,"}"]},"x":2,"event":{}}`))
	s, err := NewSchema(testColumns)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		rows, err := s.Encode(&out, in)
		if err != nil {
			return
		}
		got := readBack(t, out.Bytes())
		if len(got) != rows {
			t.Fatalf("%d rows read, %d written", len(got), rows)
		}
		var obj map[string]any
		if rows == 1 && !bytes.ContainsAny(in, "\n") && json.Unmarshal(in, &obj) == nil && obj != nil {
			checkKept(t, in, obj, got[0])
		}
	})
}

// checkKept holds the row read back from the JSON object obj to the rule that every member
// is in extra unless the column of its name holds it (a null value gives a null column).
func checkKept(t *testing.T, in []byte, obj map[string]any, row map[string]any) {
	t.Helper()
	var extra map[string]any
	if x, ok := row["extra"].(string); ok {
		if err := json.Unmarshal([]byte(x), &extra); err != nil || len(extra) == 0 {
			t.Fatalf("%s: extra %q is not a non-empty object: %v", in, x, err)
		}
	}
	for k, v := range obj {
		if _, ok := extra[k]; ok {
			continue
		}
		col, isCol := row[k]
		if !slices.ContainsFunc(fixed, func(c column) bool { return c.name == k }) || !isCol || col == nil && v != nil {
			t.Fatalf("%s: member %q is in no column", in, k)
		}
	}
	for k := range extra {
		if _, ok := obj[k]; !ok {
			t.Fatalf("%s: extra has %q, which the event lacks", in, k)
		}
	}
}
