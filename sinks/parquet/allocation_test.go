//go:build !race

package parquet

import (
	"bytes"
	"testing"
)

// TestFillRowAllocs: building rows, the part of Encode this package controls, allocates
// nothing, escaped strings, offset timestamps and members kept in extra included.
func TestFillRowAllocs(t *testing.T) {
	s, _ := NewSchema(testColumns)
	e := s.newEncoder(Snappy)
	lines := [][]byte{
		bytes.TrimSpace(batch(1)),
		[]byte(`{"timestamp":"2025-02-12T20:02:15.25+05:30","source":"pay\u00e9","event":{"amount":"x","count":1e3,"status":"a\nb","at":"2025-02-12T14:30:00\u005a"}}`),
		[]byte(`{"source":"a","event":{},"host":"web-1","tags":["x","y"],"received_at":17}`),
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			s.set.Lookup(l, e.vals)
			s.fillRow(e, e.rows[0], l, nil)
		}
		e.scratch = e.scratch[:0]
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per run", allocs)
	}
}

// TestEncodeAllocs bounds what a warm Encode of 1000 events allocates: what remains is
// parquet-go's per page and per column chunk bookkeeping, not per value.
func TestEncodeAllocs(t *testing.T) {
	s, _ := NewSchema(testColumns)
	in := batch(1000)
	var out bytes.Buffer
	allocs := testing.AllocsPerRun(20, func() {
		out.Reset()
		if _, err := s.Encode(&out, in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 300 {
		t.Fatalf("%v allocs per batch of 1000", allocs)
	}
	t.Logf("%v allocs per batch of 1000", allocs)
}
