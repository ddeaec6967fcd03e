//go:build !race

package enrich

import (
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// Once warm, a step allocates nothing per event: go test -run Allocs ./core/processor/enrich.

func TestProcessAllocs(t *testing.T) {
	dir := writeCSV(t, "geo.csv", geoCSV)
	steps := map[string]processor.State{
		"combined": combined(t),
		"keep": compile(t, &Options{
			Keep:   []string{"timestamp", "event.status"},
			Rename: []processor.Pair{pair("event.card", "event")},
			Lookup: &Lookup{File: "geo.csv", Key: "event.ip", Into: "metadata.geo"},
		}, dir),
	}
	// The escape in the key sends it through the state's scratch buffer.
	events := []string{benchEvent, `{"event":{"ip":"10.0.0.\u0031","status":"ok","card":{"a":1}}}`, `{"event":{"ip":"10.9.9.9"}}`}
	for name, st := range steps {
		for _, event := range events {
			ev := []byte(event)
			dst := make([]byte, 0, 2*len(ev))
			run := func() { dst, _ = st.Process(dst[:0], ev, testFacts) }
			run()
			if n := testing.AllocsPerRun(100, run); n != 0 {
				t.Errorf("%s on %s: %v allocations per event, want 0", name, event, n)
			}
		}
	}
}
