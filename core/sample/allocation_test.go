//go:build !race

package sample

import "testing"

// go test -run Allocs ./core/sample: no decision allocates, in any mode, including dynamic ones
// that meet new keys, fill the key table and move to a new window.
func TestKeepAllocs(t *testing.T) {
	ks := keys(1000)
	f := func(name string, c Config) {
		t.Helper()
		s := mustNew(t, c)
		i := 0
		n := testing.AllocsPerRun(5000, func() {
			s.Keep(ks[i%len(ks)], i%5 != 0, int64(i)*sec/1000)
			i++
		})
		if n != 0 {
			t.Fatalf("%s: %v allocations per Keep, want 0", name, n)
		}
	}
	f("rate", Config{Rate: 0.1})
	f("rate 1", Config{Rate: 1})
	f("dynamic", Config{Dynamic: &Dynamic{TargetPerKey: 5}})
	f("dynamic, full table", Config{Dynamic: &Dynamic{TargetPerKey: 5, MaxKeys: 100}})
}
