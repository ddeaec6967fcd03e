package core

import (
	"sync/atomic"

	"github.com/ingestd/ingestd/sinks"
)

// ticket follows one accepted request until every sink its events route to has finished with
// them: it counts the batches holding some of its events, plus one while its shard worker is
// still appending them. Only requests whose stream acknowledges on delivery (ack: delivered)
// carry one; the others pay nothing.
type ticket struct {
	pending atomic.Int32
	failed  atomic.Bool   // some event was dead-lettered or dropped instead of delivered
	failure atomic.Value  // string: what went wrong first, for the answer's detail
	done    chan struct{} // closed when pending reaches zero
}

func newTicket() *ticket {
	t := &ticket{done: make(chan struct{})}
	t.pending.Store(1) // the shard worker's hold, released once it has appended every event
	return t
}

// hold adds a batch that holds some of the ticket's events.
func (t *ticket) hold() { t.pending.Add(1) }

// release ends one hold; the last one completes the ticket.
func (t *ticket) release() {
	if t.pending.Add(-1) == 0 {
		close(t.done)
	}
}

// fail records that some of the ticket's events will not be delivered, and why.
func (t *ticket) fail(why string) {
	if t.failed.CompareAndSwap(false, true) {
		t.failure.Store(why)
	}
}

// batch is a sink's batch with the tickets of the requests whose events it holds.
type batch struct {
	sinks.Batch
	tickets []*ticket
}

// track records that b holds events of t (a request's events are appended together, so
// checking the last ticket is enough to list each once).
func (b *batch) track(t *ticket) {
	if t == nil || len(b.tickets) > 0 && b.tickets[len(b.tickets)-1] == t {
		return
	}
	t.hold()
	b.tickets = append(b.tickets, t)
}

// finish releases b's tickets once the sink is done with it; failed says why its events were
// not delivered, or is empty.
func (b *batch) finish(failed string) {
	for i, t := range b.tickets {
		if failed != "" {
			t.fail(failed)
		}
		t.release()
		b.tickets[i] = nil
	}
	b.tickets = b.tickets[:0]
}
