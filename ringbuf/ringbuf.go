// Package ringbuf is the bounded queue between the HTTP handlers and the
// shard workers.
//
// # Why it exists
//
// Every accepted ingest request crosses from a handler goroutine (many of
// them, one per in-flight request) to the worker that owns its shard. A
// buffered channel does the job, but every send and receive takes the
// channel's lock, so handlers on all cores serialise on it, and a full
// channel either blocks the handler or needs a select with a default case.
// A handler must never block: when the shard is saturated it answers 503
// and the client retries. Ring gives handlers a push that costs one CAS in
// the common case and fails immediately when the ring is full, and gives
// the worker a blocking Pop that parks instead of burning a core when there
// is nothing to do.
//
// # What it guarantees
//
//   - Bounded: at most Cap items are queued; TryPush reports false instead
//     of growing or waiting.
//   - Producers never block: TryPush and TryPop are lock-free and return at
//     once. Only Pop waits.
//   - Exactly once: every item for which TryPush returned true is returned by
//     exactly one TryPop or Pop, as long as consumers keep popping until Pop
//     reports ok=false. That holds across Close: items pushed before Close
//     are drained first.
//   - FIFO per producer: items from one goroutine are claimed by consumers in
//     the order it pushed them. With one consumer that is also the order in
//     which they are returned; several consumers may of course finish them in
//     any order.
//   - No pinned memory: a popped slot is zeroed, so pointers in T are not kept
//     alive by the ring.
//
// # How it works
//
// The ring is the classic bounded array queue with a sequence counter per
// slot. Positions grow without bound (a uint64 does not wrap in practice);
// position p lives in slot p&mask. A slot's seq says whose turn it is:
//
//	seq == p        free for the producer of position p
//	seq == p+1      holds the item of position p, ready for its consumer
//	seq == p+cap    freed by that consumer, free for position p+cap
//
// A producer reads tail, checks that the slot's seq equals tail, and claims
// the position by a CAS of tail to tail+1; then it writes the value and
// publishes it by storing seq = p+1. A consumer does the same on head,
// expecting seq == p+1, then takes the value, zeroes the slot and stores
// seq = p+cap. A seq behind the expected value means full (producer) or
// empty (consumer); ahead means another goroutine won the CAS, so reload.
// Bit 63 of tail marks the ring closed: Close sets it with one atomic OR,
// so a producer's CAS either lands before Close (and its item will be
// drained) or fails and sees the bit.
//
// # Memory ordering
//
// Go's sync/atomic operations are sequentially consistent, and an atomic
// load that observes a store is synchronised after it. The value is written
// before the seq store that publishes it and read after the seq load that
// observes it, so the write happens before the read; the same pairing on the
// consumer's release (zero, then seq = p+cap) orders the next lap's write
// after the previous lap's read. head and tail are the only words written
// by many goroutines; they sit on their own cache lines so producers and
// consumers do not invalidate each other's line on every operation.
//
// Parking is explained at Pop.
package ringbuf

import (
	"math/bits"
	"runtime"
	"sync/atomic"
)

const (
	// cacheLine is the size that keeps hot fields from sharing a line on
	// amd64 and arm64.
	cacheLine = 64

	// closedBit in tail marks the ring closed; positions never reach it.
	closedBit = uint64(1) << 63

	// maxCapacity bounds New so that rounding up cannot overflow and a
	// misconfigured size fails loudly instead of exhausting memory.
	maxCapacity = 1 << 30

	// spinTries is how many times Pop retries, yielding in between, before it
	// parks. A park and wake-up costs microseconds, so a short spin pays off
	// on a busy ring; a long one would keep a core busy for an idle shard.
	spinTries = 8
)

// noCopy makes go vet's copylocks check reject copies of a Ring.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// slot is deliberately not padded to a cache line: a consumer usually
// trails the producers by many positions, and with several slots per line it
// takes one miss for several items. Padding each slot measured about three
// times slower in BenchmarkQueue.
type slot[T any] struct {
	seq atomic.Uint64
	val T
}

// Ring is a bounded lock-free queue for many producers and one or many
// consumers. Create it with New; it must not be copied.
type Ring[T any] struct {
	_ noCopy

	// Read-only after New.
	slots []slot[T]
	mask  uint64
	wake  chan struct{} // capacity 1: a pending token means "someone, look"
	done  chan struct{} // closed by Close

	_    [cacheLine]byte
	tail atomic.Uint64 // next position to push, plus closedBit once closed
	_    [cacheLine]byte
	head atomic.Uint64 // next position to pop
	_    [cacheLine]byte
	// sleepers counts consumers parked or about to park in Pop. Written only
	// when a consumer parks, read by producers after every push.
	sleepers atomic.Int32
	_        [cacheLine]byte
}

// New returns an empty ring holding up to capacity items, rounded up to a
// power of two; capacities below 2 give 2. It panics if capacity exceeds
// 1<<30.
func New[T any](capacity int) *Ring[T] {
	if capacity > maxCapacity {
		panic("ringbuf: capacity exceeds 1<<30")
	}
	// One slot would not do: its "holds an item" and "free for the next lap"
	// sequence values, p+1 and p+cap, would coincide.
	n := 2
	if capacity > 2 {
		n = 1 << bits.Len(uint(capacity-1))
	}
	r := &Ring[T]{
		slots: make([]slot[T], n),
		mask:  uint64(n - 1),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// TryPush appends v and reports true, or reports false at once if the ring
// is full or closed.
func (r *Ring[T]) TryPush(v T) bool {
	pos := r.tail.Load()
	for {
		if pos&closedBit != 0 {
			return false
		}
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - pos); {
		case d == 0:
			if !r.tail.CompareAndSwap(pos, pos+1) {
				pos = r.tail.Load()
				continue
			}
			s.val = v
			s.seq.Store(pos + 1)
			if r.sleepers.Load() > 0 {
				select {
				case r.wake <- struct{}{}:
				default: // a token is already pending; one is enough
				}
			}
			return true
		case d < 0:
			// The slot still holds the item of position pos-cap: full.
			return false
		default:
			// Another producer claimed pos already.
			pos = r.tail.Load()
		}
	}
}

// TryPop removes and returns the oldest item, or reports ok=false at once if
// none is ready. An item whose producer has claimed its position but not yet
// written it is not ready.
func (r *Ring[T]) TryPop() (v T, ok bool) {
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - (pos + 1)); {
		case d == 0:
			if !r.head.CompareAndSwap(pos, pos+1) {
				pos = r.head.Load()
				continue
			}
			v = s.val
			var zero T
			s.val = zero
			s.seq.Store(pos + r.mask + 1)
			return v, true
		case d < 0:
			return v, false
		default:
			// Another consumer took pos already.
			pos = r.head.Load()
		}
	}
}

// Pop removes and returns the oldest item, waiting for one if the ring is
// empty. It reports ok=false only once the ring is closed and every item
// pushed before Close has been popped.
//
// Pop first retries a few times, yielding the processor in between, then
// parks on the wake channel. No wake-up can be lost: the consumer
// increments sleepers and only then re-checks the ring; a producer stores
// the slot's seq and only then loads sleepers. All four are sequentially
// consistent atomics, so if the re-check found the slot at head not yet
// published, the seq store that publishes it comes after the re-check's
// load, the producer's sleepers load comes after the increment, sees a
// sleeper and sends a token. The send never blocks: if
// the channel is full a token is already pending and some sleeper will
// wake. One token suffices for several sleepers because the consumer it
// wakes returns to the ring and its caller keeps calling Pop, which keeps
// popping until the ring is empty before it parks again; further pushes
// see the remaining sleepers and send further tokens. A token left by a
// push whose item the re-check found anyway only costs one spurious wake.
func (r *Ring[T]) Pop() (v T, ok bool) {
	for {
		for range spinTries {
			if v, ok = r.TryPop(); ok {
				return v, true
			}
			if r.drained() {
				return v, false
			}
			runtime.Gosched()
		}
		r.sleepers.Add(1)
		if v, ok = r.TryPop(); ok {
			r.sleepers.Add(-1)
			return v, true
		}
		// After Close, done is closed and this does not wait: the loop keeps
		// yielding until producers that claimed a position before Close have
		// written it and it has been popped.
		select {
		case <-r.wake:
		case <-r.done:
		}
		r.sleepers.Add(-1)
	}
}

// drained reports whether the ring is closed and every claimed position has
// been popped. tail is frozen once closed, so head catching up with it is
// final.
func (r *Ring[T]) drained() bool {
	t := r.tail.Load()
	return t&closedBit != 0 && r.head.Load() == t&^closedBit
}

// Close stops the ring accepting items and wakes every parked consumer;
// consumers drain what is queued, then Pop reports ok=false. Close is meant
// to be called once producers have stopped (the engine waits for in-flight
// requests first). A TryPush racing with Close either succeeds, and its item
// is drained like any other, or reports false; it never corrupts the ring.
// Close is idempotent and safe to call concurrently.
func (r *Ring[T]) Close() {
	if r.tail.Or(closedBit)&closedBit == 0 {
		close(r.done)
	}
}

// Len returns the number of queued items, counting pushes in progress. It is
// a snapshot that may be stale by the time it returns, meant for a
// queue-depth gauge.
func (r *Ring[T]) Len() int {
	// head first: head never passes tail and tail only grows, so the
	// difference cannot go negative; it can exceed the capacity if the ring
	// turned over in between, hence the clamp.
	h := r.head.Load()
	n := r.tail.Load()&^closedBit - h
	return int(min(n, r.mask+1))
}

// Cap returns the number of items the ring can hold.
func (r *Ring[T]) Cap() int {
	return len(r.slots)
}
