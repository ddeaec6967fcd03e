//go:build !race

package condition

import "testing"

// Evaluating a condition allocates nothing: go test -run Allocs ./core/condition.

func TestEvalAllocs(t *testing.T) {
	f := func(src string, obj string, want bool) {
		t.Helper()
		c := mustCompile(t, src)
		b := []byte(obj)
		// The first run fills the scratch pool and regexp's machine pool.
		if got := c.Eval(b); got != want {
			t.Fatalf("%s = %v, want %v", src, got, want)
		}
		if n := testing.AllocsPerRun(100, func() { c.Eval(b) }); n != 0 {
			t.Fatalf("%s: %v allocations per Eval, want 0", src, n)
		}
	}
	f(`event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]`, seedEvent, true)
	f(`event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]`, event, true)
	f(`event.escaped == "café declined" && event.escaped < "d" && event.escaped > event.status_copy`, event, false)
	f(`event.escaped contains "é d" && event.escaped matches "^caf.\\s" && event.message contains "\"insufficient"`, event, true)
	f(`event.message matches "insufficient" && event.transactionId endsWith "21" && exists(event.card.last4)`, event, true)
	f(`event.big > 1e308 && event.amount == event.same && event.note == nil && event.retry != false`, event, true)
}
