//go:build !race

package fieldpath

import "testing"

// Reading a field allocates nothing: go test -run Allocs ./core/fieldpath.

func TestLookupAllocs(t *testing.T) {
	obj := []byte(`{"source":"a","event":{"status":"de\u0063lined","amount":1e400,"n":-12.5,"ok":true},"metadata":{"env":"prod"}}`)
	f := func(name string, fn func()) {
		t.Helper()
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Fatalf("%s: %v allocations per run, want 0", name, n)
		}
	}
	status, amount, n, ok := MustParse("event.status"), MustParse("event.amount"), MustParse("event.n"), MustParse("event.ok")
	seed, seedStatus := []byte(seedEvent), MustParse("event.status")
	buf := make([]byte, 0, 64)
	f("Lookup", func() {
		if v, found := Lookup(seed, seedStatus); !found || !v.EqualString("approved") {
			t.Fatal("event.status not found")
		}
	})
	f("EqualString", func() {
		if v, _ := Lookup(obj, status); !v.EqualString("declined") || v.CompareString("declined") != 0 {
			t.Fatal("event.status != declined")
		}
	})
	f("Str", func() {
		v, _ := Lookup(obj, status)
		buf = v.Str(buf[:0])
	})
	f("Float", func() {
		v, _ := Lookup(obj, n)
		w, _ := Lookup(obj, amount)
		if x, _ := v.Float(); x != -12.5 {
			t.Fatalf("event.n = %v", x)
		}
		if x, _ := w.Float(); x <= 1e308 {
			t.Fatalf("event.amount = %v", x)
		}
	})
	set := NewSet(status, amount, n, ok, MustParse("metadata.env"), MustParse("source"))
	vals := make([]Value, set.Len())
	f("Set", func() {
		if set.Lookup(obj, vals); !vals[4].EqualString("prod") {
			t.Fatal("metadata.env != prod")
		}
	})
	route := NewSet(MustParse("event.status"), MustParse("event.amount"), MustParse("metadata.env"), MustParse("event.transactionId"))
	routeObj, routeVals := []byte(routeEvent), make([]Value, route.Len())
	f("Set on the pipeline's event", func() {
		if route.Lookup(routeObj, routeVals); !routeVals[2].EqualString("prod") {
			t.Fatal("metadata.env != prod")
		}
	})
	f("Bool", func() {
		if v, _ := Lookup(obj, ok); !must(v.Bool()) {
			t.Fatal("event.ok is not true")
		}
	})
}

func must(b, ok bool) bool { return b && ok }
