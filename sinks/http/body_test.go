package http

import (
	"encoding/json"
	"io"
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
	p := s.take()
	s.encode(p, []byte(lines))
	var events []json.RawMessage
	if err := json.Unmarshal(p.body, &events); err != nil || len(events) != 2 {
		t.Fatalf("body %q: %v", p.body, err)
	}
	before := &p.body[:1][0]
	s.encode(p, []byte(lines))
	if &p.body[:1][0] != before {
		t.Fatal("the second body did not reuse the first's buffer")
	}
}

// TestPayloadLifetime: a payload goes back to the pool only when WriteBatch and every body
// reader (the first and each replay) have let go, and a reader's second Close changes nothing.
func TestPayloadLifetime(t *testing.T) {
	s := newSink(t, "http://127.0.0.1:1", nil)
	p := s.take()
	s.encode(p, []byte(lines))
	replay, err := p.getBody()
	if err != nil {
		t.Fatal(err)
	}
	p.first.Close()
	p.first.Close()
	p.release() // WriteBatch done; the replay still reads
	if n := p.refs.Load(); n != 1 {
		t.Fatalf("%d holds, want the replay's", n)
	}
	if _, err := p.first.Read(make([]byte, 1)); err != errBodyClosed {
		t.Fatalf("read after Close: %v", err)
	}
	got, err := io.ReadAll(replay)
	if err != nil || string(got) != lines {
		t.Fatalf("replay read %q, %v", got, err)
	}
	replay.Close()
	replay.Close()
	if n := p.refs.Load(); n != 0 {
		t.Fatalf("%d holds after every Close, want 0", n)
	}
}
