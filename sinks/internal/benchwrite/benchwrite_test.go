package benchwrite

import (
	"context"
	"errors"
	"testing"

	"github.com/ingestd/ingestd/sinks"
)

// countSink counts its writes and fails once it has taken failAfter of them (0: never).
type countSink struct {
	writes, failAfter int
}

func (c *countSink) Connect(context.Context) error { return nil }
func (c *countSink) Close(context.Context) error   { return nil }
func (c *countSink) WriteBatch(context.Context, *sinks.Batch) error {
	c.writes++
	if c.failAfter > 0 && c.writes > c.failAfter {
		return errors.New("destination down")
	}
	return nil
}

// TestRun: one write and one after call per iteration, and the batch's bytes and events
// reported per iteration.
func TestRun(t *testing.T) {
	s := &countSink{}
	batch := &sinks.Batch{Data: []byte("{}\n{}\n{}\n"), Events: 3}
	var afters, n int
	res := testing.Benchmark(func(b *testing.B) {
		s.writes, afters = 0, 0
		Run(b, s, batch, func() { afters++ })
		n = b.N
	})
	if res.N == 0 || s.writes != n || afters != n {
		t.Fatalf("N %d: %d writes, %d after calls in the last run of %d", res.N, s.writes, afters, n)
	}
	perSecond := float64(res.N) * 3 / res.T.Seconds()
	if res.Bytes != 9 || res.Extra["events/s"] < perSecond*0.99 || res.Extra["events/s"] > perSecond*1.01 {
		t.Fatalf("bytes %d, events/s %v (want about %v)", res.Bytes, res.Extra["events/s"], perSecond)
	}
}

// TestRunWriteFails: a failed write ends the benchmark, which reports nothing.
func TestRunWriteFails(t *testing.T) {
	s := &countSink{failAfter: 2}
	res := testing.Benchmark(func(b *testing.B) {
		Run(b, s, &sinks.Batch{Data: []byte("{}\n"), Events: 1}, nil)
	})
	if res.N != 0 || s.writes != 3 {
		t.Fatalf("N %d after %d writes, want 0 after 3", res.N, s.writes)
	}
}
