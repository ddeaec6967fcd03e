package helpertest

import (
	"testing"
)

// TestFails: what a helper logs and ends the test with is recorded, the code after its Fatal
// does not run, and its cleanups have run by the time Fails returns.
func TestFails(t *testing.T) {
	cleaned := false
	r := Fails(t, func(tb testing.TB) {
		tb.Cleanup(func() {
			if tb.Failed() {
				tb.Logf("failed: %d", 1)
			}
			cleaned = true
		})
		tb.Fatalf("ended: %s", "here")
		t.Error("ran on after Fatalf")
	})
	if r.Msg != "ended: here" || r.Logs.String() != "failed: 1\n" || !cleaned {
		t.Fatalf("Msg %q, Logs %q, cleaned %v", r.Msg, r.Logs.String(), cleaned)
	}
	if r := Fails(t, func(tb testing.TB) { tb.Fatal("plain ", 2) }); r.Msg != "plain 2" {
		t.Fatalf("Fatal: Msg %q", r.Msg)
	}
}
