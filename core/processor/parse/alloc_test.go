//go:build !race

package parse

import (
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// TestProcessAllocs checks that a warm state parses without allocating, failures apart, for
// every format but regex, whose RE2 match allocates its result; that one is logged.
func TestProcessAllocs(t *testing.T) {
	steps := append(benchSteps,
		benchStep{"timestamp_half_hour_offset", func(o *Options) { o.Field, o.Format, o.Target = "t", "timestamp", "u" },
			[]byte(`{"t":"2025-02-12T14:32:15.5+05:30"}`)},
		benchStep{"missing field", func(o *Options) { o.Field, o.Format = "event.nothing", "json" }, benchJSON},
	)
	for _, s := range steps {
		st := step(t, s.set)
		facts := &processor.Facts{}
		dst, o := st.Process(nil, s.event, facts)
		if o == processor.Failed || o == processor.Drop {
			t.Fatalf("%s: outcome %v: %s", s.name, o, dst)
		}
		allocs := testing.AllocsPerRun(100, func() { st.Process(dst[:0], s.event, facts) })
		if s.name == "regex" {
			t.Logf("regex: %v allocs/op (FindSubmatchIndex)", allocs)
			continue
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocs/op, want 0", s.name, allocs)
		}
	}
}
