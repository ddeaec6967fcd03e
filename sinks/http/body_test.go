package http

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendArray(t *testing.T) {
	f := func(data, want string) {
		t.Helper()
		dst := []byte("kept")
		got := appendArray(dst, []byte(data))
		if string(got) != "kept"+want {
			t.Fatalf("appendArray(%q) = %q, want %q", data, got[4:], want)
		}
	}
	f("", "[]")
	f("{}\n", "[{}]")
	f(`{"a":1}`+"\n"+`{"b":"x\ny"}`+"\n", `[{"a":1},{"b":"x\ny"}]`)
	f(`{"a":1}`+"\n"+`{"b":2}`, `[{"a":1},{"b":2}]`) // a last line without '\n'
}

func TestRetryAfter(t *testing.T) {
	fixed := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now = func() time.Time { return fixed }
	t.Cleanup(func() { now = time.Now })
	f := func(v string, want time.Duration, wantOK bool) {
		t.Helper()
		if got, ok := retryAfter(v); got != want || ok != wantOK {
			t.Fatalf("retryAfter(%q) = %v, %v; want %v, %v", v, got, ok, want, wantOK)
		}
	}
	f("", 0, false)
	f("  ", 0, false)
	f("0", 0, true)
	f("120", 2*time.Minute, true)
	f(" 5 ", 5*time.Second, true)
	f("3600", time.Hour, true)
	f("3601", time.Hour, true)
	f(strings.Repeat("9", 40), time.Hour, true)
	f("1.5", 0, false)
	f("-3", 0, false)
	f("5s", 0, false)
	f("Thu, 26 Nov 2026 12:00:30 GMT", 30*time.Second, true) // IMF-fixdate
	f("Thursday, 26-Nov-26 12:01:00 GMT", time.Minute, true) // RFC 850
	f("Thu Nov 26 12:00:10 2026", 10*time.Second, true)      // asctime
	f("Thu, 26 Nov 2026 11:00:00 GMT", 0, true)
	f("Fri, 27 Nov 2026 12:00:00 GMT", time.Hour, true)
	f("Thu, 26 Nov 2026 12:00:30", 0, false)
}

// TestEncodeReusesBuffers: the body's capacity survives the pool, so a warm sink does not
// grow buffers again.
func TestEncodeReusesBuffers(t *testing.T) {
	s := newSink(t, "http://127.0.0.1:1", func(o *Options) { o.Format = FormatJSONArray })
	var w work
	body := s.bodies.Get()
	defer body.Release()
	s.encode(body, &w, []byte(lines))
	var events []json.RawMessage
	if err := json.Unmarshal(body.Bytes, &events); err != nil || len(events) != 2 {
		t.Fatalf("body %q: %v", body.Bytes, err)
	}
	before := &body.Bytes[:1][0]
	s.encode(body, &w, []byte(lines))
	if &body.Bytes[:1][0] != before {
		t.Fatal("the second body did not reuse the first's buffer")
	}
}
