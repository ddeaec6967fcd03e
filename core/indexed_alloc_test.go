//go:build !race

package core

import (
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/pipeline"
)

// TestIndexedAllocs: finding the fields while scanning, RunIndexed and building each reached
// sink's line allocate nothing once warm, for every pipeline of indexedPipelines.
func TestIndexedAllocs(t *testing.T) {
	body := []byte(strings.Join(indexedEvents, "\n"))
	for i, src := range indexedPipelines {
		p := indexedPipeline(t, src)
		w := p.NewWorker()
		var sc decode.Scanner
		sc.Fields = p.ScanFields()
		var s pipeline.Source
		var out []byte
		run := func() {
			if err := sc.Scan(body, decode.NDJSON, decode.Limits{}); err != nil {
				t.Fatal(err)
			}
			for k := range sc.Events {
				s.Body, s.Event, s.Found = body, &sc.Events[k], sc.Found(k)
				s.Tail = appendTail(s.Tail[:0], s.Event, []byte(`"s"`), []byte(`"2025-02-12T14:32:15.5Z"`), []byte(`"0123456789abcdef0123456789abcdef-`), k)
				r, ok := w.RunIndexed(&s, &indexedFacts, 1e18)
				if !ok {
					continue
				}
				for j := range p.Sinks() {
					if r.Sinks&(1<<j) != 0 {
						out = w.AppendLine(out[:0], j)
					}
				}
			}
		}
		run()
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("pipeline %d: %v allocations per body", i, n)
		}
	}
}
