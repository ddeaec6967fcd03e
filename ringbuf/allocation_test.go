//go:build !race

package ringbuf

import "testing"

func TestAllocsPerOp(t *testing.T) {
	f := func(name string, op func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, op); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, n)
		}
	}

	words := New[uint64](16)
	f("TryPush+TryPop", func() {
		words.TryPush(42)
		words.TryPop()
	})
	f("TryPush+Pop", func() {
		words.TryPush(42)
		words.Pop()
	})

	// A pointer item, as the engine queues, must not escape per call either.
	type request struct{ body []byte }
	req := &request{}
	ptrs := New[*request](16)
	f("TryPush+Pop pointer", func() {
		ptrs.TryPush(req)
		ptrs.Pop()
	})
}
