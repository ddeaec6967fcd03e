//go:build !race

package elasticsearch

import "testing"

// Building the bulk body, the per-event work, allocates nothing once its buffers are warm.
func TestBulkBodyAllocatesNothing(t *testing.T) {
	o := NewOptions()
	o.URLs = []string{"http://localhost:9200"}
	o.IDField = "id"
	s, err := New("es", o)
	if err != nil {
		t.Fatal(err)
	}
	b := batchOf(100)
	w := new(work)
	lines := make([]int, 100)
	for i := range lines {
		lines[i] = i
	}
	run := func() {
		w.events = splitLines(w.events[:0], b.Data)
		w.raw = s.appendBulk(w.raw[:0], w.events, lines, b.Stream, b.StreamID, "2025.03.01")
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocs per batch", n)
	}
}
