//go:build !race

package reqbody

import (
	"bytes"
	"testing"
)

// A pooled body of a warm pool costs no allocation: building it, its first reader, reading,
// closing and releasing.
func TestAllocations(t *testing.T) {
	p := New("test")
	raw := bytes.Repeat([]byte("0123456789"), 1000)
	buf := make([]byte, 4096)
	cycle := func() {
		b := p.Get()
		b.Gzip(raw)
		r := b.Reader()
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		r.Close()
		b.Release()
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Fatalf("%v allocations per body, want 0", n)
	}
}
