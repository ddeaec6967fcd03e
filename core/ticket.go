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

	// Under ack: disk, a request that some sinks hold back while the log fills is copied to the
	// log's head (durable.relocate), and the copy stands in for it towards those sinks, so the
	// segments behind it can go. Guarded by durable.mu.
	moved    uint64  // sinks a copy now stands in for
	copies   int     // unresolved copies; the request stays tracked while there are any
	of       *ticket // a copy's request, whose holds say when the copy is finished
	only     uint64  // the sinks a copy is for
	resolved bool    // a copy whose sinks have all finished the request
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

// sinkState is where a sink stands with a tracked request of the write-ahead log.
type sinkState uint8

const (
	passed  sinkState = iota // the sink is done with it (or a copy further on stands in for it)
	holding                  // the sink still holds some of its events
	dropped                  // the sink dropped some at shutdown: replay them after a restart
)

// stateFor says where sink s stands with t; under durable.mu.
func (t *ticket) stateFor(s int) sinkState {
	bit := uint64(1) << s
	if t.moved&bit != 0 || t.of != nil && (t.resolved || t.only&bit == 0) {
		return passed
	}
	req := t
	if t.of != nil {
		req = t.of
	}
	switch {
	case !req.processed.Load() || req.bySink[s].Load() != 0:
		return holding
	case req.replay.Load()&bit != 0:
		return dropped
	}
	return passed
}

// finished reports whether no sink needs t any more, stuck being the sinks whose checkpoint is
// frozen until the next start; under durable.mu.
func (t *ticket) finished(stuck uint64) bool {
	if t.of != nil {
		return t.resolved
	}
	return t.pending.Load() == 0 && t.copies == 0 && t.replay.Load()&^stuck == 0
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
