//go:build !race

package nats

import (
	"testing"
)

// TestPerEventAllocations: building an event's id and a repeated batch's subject allocate
// nothing once warm. What each message costs beyond them is the NATS client's (an ack future,
// its reply subject and timer) plus the id's string for the header map: see
// BenchmarkWriteBatch.
func TestPerEventAllocations(t *testing.T) {
	for _, field := range []string{"", "event.transactionId"} {
		s, err := New("bus", &Options{URL: "nats://127.0.0.1:1", Subject: "a.{stream}.{stream_id}", MsgIDField: field, MaxPending: 1, AckTimeout: 1})
		if err != nil {
			t.Fatal(err)
		}
		b := batch(lines)
		line := b.Data[:len(b.Data)/2]
		warm := func() {
			s.idBuf = s.appendID(s.idBuf[:0], b.StreamID, line)
			if _, err := s.render(b); err != nil {
				t.Fatal(err)
			}
		}
		warm()
		if n := testing.AllocsPerRun(100, warm); n != 0 {
			t.Errorf("msg_id_field %q: %v allocations per event, want 0", field, n)
		}
	}
}
