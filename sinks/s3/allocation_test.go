//go:build !race

package s3

import (
	"testing"
)

// TestPerEventAllocations: placing events in partitions and encoding an object allocate nothing
// once warm; what an upload allocates beyond that is the SDK's (see BenchmarkWriteBatch).
func TestPerEventAllocations(t *testing.T) {
	b := benchBatch(100)
	for _, field := range []string{TimeReceivedAt, TimeTimestamp} {
		p := newPartitioner(field, 3600)
		lines, _ := p.split(nil, b.Data, 0)
		if n := testing.AllocsPerRun(100, func() { lines, _ = p.split(lines[:0], b.Data, 0) }); n != 0 {
			t.Errorf("split by %s: %v allocations, want 0", field, n)
		}
	}
	for name, f := range Formats {
		var dst []byte
		run := func() {
			var err error
			if dst, err = f.Encode(dst[:0], b.Data); err != nil {
				t.Fatal(err)
			}
		}
		run()
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("%s: %v allocations per object, want 0", name, n)
		}
	}
	k, _ := parseKey(DefaultKeyPrefix + ".ndjson")
	var key []byte
	if n := testing.AllocsPerRun(100, func() { key = k.expand(key[:0], b, 1739370735) }); n != 0 {
		t.Errorf("key: %v allocations, want 0", n)
	}
}
