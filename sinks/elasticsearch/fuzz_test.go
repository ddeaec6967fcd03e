package elasticsearch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// fuzzFallback is the receive time appendTime falls back to.
var fuzzFallback = time.Date(2025, 2, 12, 14, 32, 15, 123456789, time.UTC).UnixNano()

// FuzzAppendTime holds appendTime to Elasticsearch's date form: whatever the input, the output
// is an RFC 3339 time Go parses; for a valid RFC 3339 input it is the same instant (a leap
// second as the last nanosecond of its minute, fractions cut to nine digits), and anything
// else gives the fallback.
func FuzzAppendTime(f *testing.F) {
	for _, s := range []string{
		"2025-02-12T14:32:15Z", "2025-02-12t14:32:15.25z", "2025-02-12T14:32:15.123456789123+01:00",
		"2016-12-31T23:59:60Z", "2025-02-12T14:32:15", "2025-02-12 14:32:15Z", "2025-13-12T14:32:15Z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(appendTime(nil, []byte(s), fuzzFallback))
		if _, ok := rfc3339([]byte(s)); !ok {
			if got, err := time.Parse(time.RFC3339Nano, out); err != nil || got.UnixNano() != fuzzFallback {
				t.Fatalf("appendTime(%q) = %q, want the fallback", s, out)
			}
			return
		}
		// The same instant, as time.Parse reads the input once its letters are upper case, its
		// fraction at most nine digits and a leap second moved back one second.
		norm := strings.ToUpper(s)
		if i := strings.IndexByte(norm, '.'); i > 0 {
			j := i + 1
			for j < len(norm) && norm[j] >= '0' && norm[j] <= '9' {
				j++
			}
			if j-i-1 > 9 {
				norm = norm[:i+10] + norm[j:]
			}
		}
		leap := norm[17:19] == "60"
		if leap {
			norm = norm[:17] + "59" + norm[19:]
			if i := strings.IndexByte(norm, '.'); i > 0 { // the last nanosecond of the minute
				j := i + 1
				for j < len(norm) && norm[j] >= '0' && norm[j] <= '9' {
					j++
				}
				norm = norm[:i] + norm[j:]
			}
		}
		want, err := time.Parse(time.RFC3339Nano, norm)
		if err != nil {
			return // out of range (month 13, hour 25): refused when the event came in
		}
		if leap {
			want = want.Add(999999999 * time.Nanosecond)
		}
		got, err := time.Parse(time.RFC3339Nano, out)
		if err != nil || !got.Equal(want) {
			t.Fatalf("appendTime(%q) = %q (%v), want %v", s, out, err, want)
		}
	})
}

// FuzzAppendStamped holds the data-stream copy of an event to valid JSON: an object comes out
// an object with one "@timestamp" (its own, if it had one), and the rest unchanged.
func FuzzAppendStamped(f *testing.F) {
	for _, ev := range []string{
		`{"timestamp":"2025-02-12T14:32:15Z","source":"a","event":{"n":1}}`,
		`{}`, ` { } `, `{"@timestamp":"x","timestamp":"2025-02-12T14:32:15Z"}`, `{"timestamp":1}`, `[1]`, `"x"`,
	} {
		f.Add(ev)
	}
	f.Fuzz(func(t *testing.T, ev string) {
		if !json.Valid([]byte(ev)) {
			return // stored events are valid JSON
		}
		ts, _ := fieldpath.Lookup([]byte(ev), timestampPath)
		own, hasOwn := fieldpath.Lookup([]byte(ev), stampPath)
		out := appendStamped(nil, []byte(ev), ts, own, fuzzFallback)
		var in, got any
		_ = json.Unmarshal([]byte(ev), &in)
		obj, isObj := in.(map[string]any)
		if !isObj || hasOwn {
			if string(out) != ev {
				t.Fatalf("appendStamped(%q) = %q, want it unchanged", ev, out)
			}
			return
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("appendStamped(%q) = %q: %v", ev, out, err)
		}
		m := got.(map[string]any)
		stamp, _ := m["@timestamp"].(string)
		if _, err := time.Parse(time.RFC3339Nano, stamp); err != nil {
			if _, ok := rfc3339([]byte(stamp)); !ok {
				t.Fatalf("@timestamp %q of %q is not RFC 3339", stamp, out)
			}
		}
		delete(m, "@timestamp")
		if len(m) != len(obj) {
			t.Fatalf("appendStamped(%q) = %q: members changed", ev, out)
		}
	})
}
