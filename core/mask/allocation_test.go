//go:build !race

package mask

import "testing"

// Zero allocations per Apply is a tested property: go test -run Allocs ./core/mask must report
// none once the Masker's pool has warmed up. Only Pattern detectors may allocate, in regexp.

func TestApplyAllocs(t *testing.T) {
	f := func(o Options) {
		t.Helper()
		m := newMasker(t, o)
		in := []byte(logMessage)
		out, _ := m.Apply(nil, in)
		if n := testing.AllocsPerRun(100, func() { out, _ = m.Apply(out[:0], in) }); n != 0 {
			t.Fatalf("%v with %d detectors: %v allocations per Apply, want 0", o.Mode, len(o.Detectors), n)
		}
	}
	f(Options{Detectors: builtin(t, "credit_card", "email"), Mode: Hash, Key: testKey})
	f(Options{Detectors: builtin(t, "credit_card", "email")})
	f(Options{Detectors: builtin(t, BuiltinNames()...), Mode: Partial})
	f(Options{Detectors: builtin(t, BuiltinNames()...), Mode: Remove})
	f(Options{Mode: Hash, Key: testKey})
	f(Options{Mode: Partial})
}

func TestDetectAllocs(t *testing.T) {
	in := []byte(logMessage + " " + otherMessage)
	for _, name := range BuiltinNames() {
		d := builtin(t, name)[0]
		if countMatches(d, in) == 0 {
			t.Fatalf("%s finds nothing in the test message", name)
		}
		if n := testing.AllocsPerRun(100, func() { countMatches(d, in) }); n != 0 {
			t.Errorf("%s: %v allocations per scan, want 0", name, n)
		}
	}
}
