//go:build !race

package kv

import "testing"

// go test -run Allocs ./core/kv: a line parses without allocating once the scratch pool and dst
// have warmed up.
func TestAppendJSONAllocs(t *testing.T) {
	f := func(o Options, in string) {
		t.Helper()
		p := mustNew(t, o)
		dst, err := p.AppendJSON(nil, []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if n := testing.AllocsPerRun(100, func() { dst, _ = p.AppendJSON(dst[:0], []byte(in)) }); n != 0 {
			t.Fatalf("%q: %v allocations per AppendJSON, want 0", in, n)
		}
	}
	f(DefaultOptions(), benchLine)
	f(DefaultOptions(), "a=1 \"a\"=2 'x\xff'=\"\\\"q\\\" \\\\\" x\ufffd=\x01")
	f(Options{PairSeparator: ", ", ValueSeparator: ":", Quotes: true}, `a: 1, b: "x, y", a: 3`)
}
