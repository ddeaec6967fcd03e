//go:build !race

package kafka

import (
	"fmt"
	"testing"
)

// The sink's own per-batch work (topic and headers of a known stream, one record per line,
// keys) allocates nothing once warm; what franz-go allocates is measured by the benchmark.
func TestFillAllocatesNothing(t *testing.T) {
	o := NewOptions()
	o.Brokers = []string{"localhost:9092"}
	o.Topic = "in.{stream}"
	o.KeyField = "event.transactionId"
	o.Headers = map[string]string{"team": "payments"}
	s, err := New("k", o)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, 200)
	for i := range lines {
		lines[i] = event(i, fmt.Sprintf(`"t\"x%d"`, i%7))
	}
	b := batch("payments", "s1", lines...)
	run := func() {
		topic, headers, err := s.streamTarget(b)
		if err != nil {
			t.Fatal(err)
		}
		s.fill(b.Data, topic, headers)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per batch", n)
	}
	if len(s.recs) != 200 || string(s.recs[1].Key) != `t"x1` || s.recs[0].Topic != "in.payments" {
		t.Errorf("records %d, key %q, topic %q", len(s.recs), s.recs[1].Key, s.recs[0].Topic)
	}
}
