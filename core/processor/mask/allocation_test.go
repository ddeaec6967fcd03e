//go:build !race

package mask

import (
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// Masking allocates nothing once the buffers have grown, with built-in detectors or none:
// go test -run Allocs ./core/processor/mask.

func TestProcessAllocs(t *testing.T) {
	f := func(o *Options) {
		t.Helper()
		st := newState(t, o)
		withCard, without := benchEvents(1)[0], benchEvents(0)[1]
		var dst []byte
		run := func() {
			for _, ev := range [][]byte{withCard, without} {
				out, outcome := st.Process(dst[:0], ev, nil)
				if outcome == processor.Changed {
					dst = out
				}
			}
		}
		run()
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Fatalf("%s with %v: %v allocations per two events, want 0", o.Mode, o.Detectors, n)
		}
	}
	f(opts(func(o *Options) { o.Detectors = []string{"credit_card"}; o.Mode = "hash"; o.Key = testKey }, "event.message"))
	f(opts(func(o *Options) { o.Detectors = []string{"credit_card", "email", "phone"}; o.Mode = "partial" }, "event", "metadata"))
	f(opts(func(o *Options) { o.Mode = "hash"; o.Key = testKey }, "event.message", "event.card"))
	f(opts(func(o *Options) { o.Mode = "remove" }, "event.message"))
}
