package core

import (
	"sync/atomic"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/wal"
)

// ticket follows one accepted request until every sink its events route to has finished with
// them: it counts the batches holding some of its events, plus one while its shard worker is
// still appending them. Only requests whose stream acknowledges on delivery (ack: delivered)
// carry one; the others pay nothing.
type ticket struct {
	pending   atomic.Int32
	bySink    [maxSinkIDs]atomic.Int32 // the batch holds, per sink (sinkRunner.id)
	processed atomic.Bool              // the shard worker has appended every event
	failed    atomic.Bool              // some event was dead-lettered or dropped instead of delivered
	failure   atomic.Value             // string: what went wrong first, for the answer's detail
	replay    atomic.Uint64            // sinks that dropped some of its events at shutdown
	done      chan struct{}            // closed when pending reaches zero; nil when nobody waits
	pos       wal.Position             // the request's record, under ack: disk
}

// maxSinkIDs bounds the sinks an engine knows over its life (reloads may add sinks), so that a
// ticket counts its batches per sink in a fixed array and sets of sinks fit a uint64.
const maxSinkIDs = 64

// newTicket returns a ticket held by its shard worker; with waiter, done is closed when it
// completes.
func newTicket(waiter bool) *ticket {
	t := &ticket{}
	if waiter {
		t.done = make(chan struct{})
	}
	t.pending.Store(1) // the shard worker's hold, released once it has appended every event
	return t
}

// hold adds a batch of sink that holds some of the ticket's events.
func (t *ticket) hold(sink int) {
	t.bySink[sink].Add(1)
	t.pending.Add(1)
}

// appended ends the shard worker's hold once it has appended every event of the request.
func (t *ticket) appended() {
	t.processed.Store(true)
	t.release()
}

// release ends one hold; the last one completes the ticket.
func (t *ticket) release() {
	if t.pending.Add(-1) == 0 && t.done != nil {
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
	sink    int // the sinkRunner's id
	tickets []*ticket
	logged  bool // its events are in the write-ahead log (ack: disk)
}

// track records that b holds events of t (a request's events are appended together, so
// checking the last ticket is enough to list each once).
func (b *batch) track(t *ticket) {
	if t == nil || len(b.tickets) > 0 && b.tickets[len(b.tickets)-1] == t {
		return
	}
	t.hold(b.sink)
	b.tickets = append(b.tickets, t)
}

// finish releases b's tickets once the sink is done with it; failed says why its events were
// not delivered, or is empty, and replay that they must be delivered after a restart.
func (b *batch) finish(failed string, replay bool) {
	for i, t := range b.tickets {
		if failed != "" {
			t.fail(failed)
		}
		if replay {
			t.replay.Or(1 << b.sink)
		}
		t.bySink[b.sink].Add(-1)
		t.release()
		b.tickets[i] = nil
	}
	b.tickets = b.tickets[:0]
}
