package ringbuf

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds every wait on a goroutine so a lost wake-up fails the
// test instead of hanging it.
const waitTimeout = 10 * time.Second

func TestNewRoundsCapacity(t *testing.T) {
	f := func(capacity, want int) {
		t.Helper()
		r := New[int](capacity)
		if got := r.Cap(); got != want {
			t.Errorf("New(%d).Cap() = %d, want %d", capacity, got, want)
		}
		// Every slot must be usable: exactly Cap pushes succeed.
		for i := range want {
			if !r.TryPush(i) {
				t.Fatalf("New(%d): push %d of %d failed", capacity, i+1, want)
			}
		}
		if r.TryPush(want) {
			t.Errorf("New(%d): push beyond Cap succeeded", capacity)
		}
	}

	// below the minimum
	f(-5, 2)
	f(0, 2)
	f(1, 2)

	// powers of two are kept
	f(2, 2)
	f(4, 4)
	f(1024, 1024)

	// others round up
	f(3, 4)
	f(5, 8)
	f(1000, 1024)
	f(1025, 2048)
}

func TestNewPanicsAboveMaxCapacity(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(1<<30 + 1) did not panic")
		}
	}()
	New[int](maxCapacity + 1)
}

func TestFullAndEmpty(t *testing.T) {
	r := New[int](4)
	if v, ok := r.TryPop(); ok {
		t.Fatalf("TryPop on a new ring = %d, true", v)
	}
	// Several laps, so every slot's sequence goes round more than once.
	next := 0
	for lap := range 5 {
		for i := range 4 {
			if !r.TryPush(next + i) {
				t.Fatalf("lap %d: TryPush %d failed on a ring with room", lap, i)
			}
		}
		if r.TryPush(-1) {
			t.Fatalf("lap %d: TryPush succeeded on a full ring", lap)
		}
		if got := r.Len(); got != 4 {
			t.Fatalf("lap %d: Len of a full ring = %d, want 4", lap, got)
		}
		for i := range 4 {
			v, ok := r.TryPop()
			if !ok || v != next+i {
				t.Fatalf("lap %d: TryPop = %d, %v, want %d, true", lap, v, ok, next+i)
			}
		}
		if v, ok := r.TryPop(); ok {
			t.Fatalf("lap %d: TryPop on an emptied ring = %d, true", lap, v)
		}
		next += 4
	}
}

func TestPushAfterPopFreesOneSlot(t *testing.T) {
	r := New[int](2)
	r.TryPush(1)
	r.TryPush(2)
	if _, ok := r.TryPop(); !ok {
		t.Fatal("TryPop on a full ring failed")
	}
	if !r.TryPush(3) {
		t.Fatal("TryPush after a pop failed")
	}
	if r.TryPush(4) {
		t.Fatal("second TryPush after one pop succeeded")
	}
	for _, want := range []int{2, 3} {
		if v, ok := r.TryPop(); !ok || v != want {
			t.Fatalf("TryPop = %d, %v, want %d, true", v, ok, want)
		}
	}
}

func TestPopZeroesSlot(t *testing.T) {
	r := New[*int](2)
	x := new(int)
	r.TryPush(x)
	if v, ok := r.TryPop(); !ok || v != x {
		t.Fatalf("TryPop = %p, %v, want %p, true", v, ok, x)
	}
	r.TryPush(x)
	if v, ok := r.Pop(); !ok || v != x {
		t.Fatalf("Pop = %p, %v, want %p, true", v, ok, x)
	}
	for i := range r.slots {
		if r.slots[i].val != nil {
			t.Errorf("slot %d still holds %p after its item was popped", i, r.slots[i].val)
		}
	}
}

func TestLen(t *testing.T) {
	r := New[int](8)
	f := func(want int) {
		t.Helper()
		if got := r.Len(); got != want {
			t.Errorf("Len = %d, want %d", got, want)
		}
	}

	f(0)
	r.TryPush(1)
	r.TryPush(2)
	r.TryPush(3)
	f(3)
	r.TryPop()
	f(2)

	// the closed flag in tail is not counted
	r.Close()
	f(2)
	r.TryPop()
	r.TryPop()
	f(0)

	// a head load that is laps stale is clamped to the capacity
	r = New[int](8)
	r.tail.Store(100)
	f(8)
}

func TestClose(t *testing.T) {
	r := New[int](4)
	r.TryPush(1)
	r.TryPush(2)
	r.Close()

	if r.TryPush(3) {
		t.Fatal("TryPush after Close succeeded")
	}
	// Items pushed before Close are drained, in order, before ok=false.
	for _, want := range []int{1, 2} {
		if v, ok := r.Pop(); !ok || v != want {
			t.Fatalf("Pop after Close = %d, %v, want %d, true", v, ok, want)
		}
	}
	if v, ok := r.Pop(); ok {
		t.Fatalf("Pop on a closed, drained ring = %d, true", v)
	}
	if v, ok := r.TryPop(); ok {
		t.Fatalf("TryPop on a closed, drained ring = %d, true", v)
	}

	// idempotent
	r.Close()
	if v, ok := r.Pop(); ok {
		t.Fatalf("Pop after a second Close = %d, true", v)
	}
	if r.TryPush(4) {
		t.Fatal("TryPush after a second Close succeeded")
	}
}

func TestCloseConcurrently(t *testing.T) {
	r := New[int](4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(r.Close)
	}
	wg.Wait()
	if _, ok := r.Pop(); ok {
		t.Fatal("Pop on a ring closed from four goroutines reported ok")
	}
}

type popResult struct {
	v  int
	ok bool
}

// parkedPops starts n goroutines that each call Pop once, and waits until
// all of them are parked.
func parkedPops(t *testing.T, r *Ring[int], n int) <-chan popResult {
	t.Helper()
	res := make(chan popResult, n)
	for range n {
		go func() {
			v, ok := r.Pop()
			res <- popResult{v, ok}
		}()
	}
	deadline := time.Now().Add(waitTimeout)
	for r.sleepers.Load() != int32(n) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d consumers parked", r.sleepers.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return res
}

func receive(t *testing.T, res <-chan popResult) popResult {
	t.Helper()
	select {
	case got := <-res:
		return got
	case <-time.After(waitTimeout):
		t.Fatal("Pop did not return")
		return popResult{}
	}
}

func TestPopWakesOnPush(t *testing.T) {
	r := New[int](4)
	res := parkedPops(t, r, 1)
	if !r.TryPush(7) {
		t.Fatal("TryPush failed")
	}
	if got := receive(t, res); got != (popResult{7, true}) {
		t.Fatalf("Pop = %d, %v, want 7, true", got.v, got.ok)
	}
	if n := r.sleepers.Load(); n != 0 {
		t.Fatalf("sleepers = %d after the consumer woke", n)
	}
}

func TestPopWakesOnClose(t *testing.T) {
	r := New[int](4)
	res := parkedPops(t, r, 3)
	r.Close()
	for range 3 {
		if got := receive(t, res); got.ok {
			t.Fatalf("Pop woken by Close = %d, true", got.v)
		}
	}
}

func TestPopDrainsBeforeReportingClosed(t *testing.T) {
	r := New[int](4)
	res := parkedPops(t, r, 2)
	r.TryPush(5)
	r.Close()
	// One consumer gets the item, the other ok=false, whichever wakes first.
	a, b := receive(t, res), receive(t, res)
	if a.ok == b.ok || a.v+b.v != 5 {
		t.Fatalf("Pop results %+v and %+v, want one {5 true} and one {0 false}", a, b)
	}
}

func TestPopWaitsForPushInFlightAtClose(t *testing.T) {
	r := New[int](4)
	// Claim a position the way TryPush does, but do not publish it yet.
	pos := r.tail.Add(1) - 1
	r.Close()
	if got := r.Len(); got != 1 {
		t.Fatalf("Len with one push in flight = %d, want 1", got)
	}

	res := make(chan popResult, 1)
	go func() {
		v, ok := r.Pop()
		res <- popResult{v, ok}
	}()
	select {
	case got := <-res:
		t.Fatalf("Pop returned %d, %v while a push claimed before Close was in flight", got.v, got.ok)
	case <-time.After(20 * time.Millisecond):
	}

	s := &r.slots[pos&r.mask]
	s.val = 9
	s.seq.Store(pos + 1)
	if got := receive(t, res); got != (popResult{9, true}) {
		t.Fatalf("Pop = %d, %v, want 9, true", got.v, got.ok)
	}
	if v, ok := r.Pop(); ok {
		t.Fatalf("Pop on a closed, drained ring = %d, true", v)
	}
}

// item packs a producer id and its sequence number into one word.
func item(producer, seq int) uint64 { return uint64(producer)<<32 | uint64(seq) }

func unpack(v uint64) (producer, seq int) { return int(v >> 32), int(uint32(v)) }

// produce pushes perProducer items for each of producers goroutines,
// yielding when the ring is full and, if pauseEvery > 0, sleeping after
// every pauseEvery items so that consumers run dry and park. It closes the
// ring once every producer is done.
func produce(r *Ring[uint64], producers, perProducer, pauseEvery int) {
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for s := range perProducer {
				for !r.TryPush(item(p, s)) {
					runtime.Gosched()
				}
				if pauseEvery > 0 && s%pauseEvery == pauseEvery-1 {
					time.Sleep(50 * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	r.Close()
}

// stressSize returns how many items each of the stress tests' producers
// pushes: 2M items in total normally, fewer under the race detector.
func stressSize(producers int) int {
	if raceEnabled {
		return 400_000 / producers
	}
	return 2_000_000 / producers
}

func waitDone(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("consumers did not finish; a wake-up was lost or an item stuck")
	}
}

func TestStressOneConsumer(t *testing.T) {
	const producers = 4
	perProducer := stressSize(producers)
	r := New[uint64](256)
	go produce(r, producers, perProducer, 2048)

	// With one consumer, each producer's items arrive exactly in push order,
	// so counting up per producer checks order and exactly-once together.
	next := make([]int, producers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			v, ok := r.Pop()
			if !ok {
				return
			}
			p, s := unpack(v)
			if p >= producers {
				t.Errorf("got an item of unknown producer %d", p)
				return
			}
			if s != next[p] {
				t.Errorf("got item %d of producer %d, want item %d", s, p, next[p])
				return
			}
			next[p]++
		}
	}()
	waitDone(t, done)
	for p, n := range next {
		if n != perProducer {
			t.Errorf("producer %d: received %d items, want %d", p, n, perProducer)
		}
	}
}

func TestStressManyConsumers(t *testing.T) {
	const producers, consumers = 4, 3
	perProducer := stressSize(producers)
	r := New[uint64](256)
	go produce(r, producers, perProducer, 0)

	seen := make([][]atomic.Uint32, producers)
	for p := range seen {
		seen[p] = make([]atomic.Uint32, perProducer)
	}
	var wg sync.WaitGroup
	for c := range consumers {
		wg.Go(func() {
			// Consumers claim positions in order, so each one still sees
			// every producer's items in increasing order.
			last := [producers]int{-1, -1, -1, -1}
			for {
				v, ok := r.Pop()
				if !ok {
					return
				}
				p, s := unpack(v)
				if p >= producers || s >= perProducer {
					t.Errorf("consumer %d: got unknown item %d of producer %d", c, s, p)
					return
				}
				if s <= last[p] {
					t.Errorf("consumer %d: got item %d of producer %d after item %d", c, s, p, last[p])
					return
				}
				last[p] = s
				seen[p][s].Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	waitDone(t, done)

	for p := range seen {
		for s := range seen[p] {
			if n := seen[p][s].Load(); n != 1 {
				t.Fatalf("item %d of producer %d received %d times", s, p, n)
			}
		}
	}
}

// TestTryPushRacingClose checks the promise that lets the engine close a
// ring without losing accepted requests: a push racing with Close either
// fails or is delivered.
func TestTryPushRacingClose(t *testing.T) {
	for round := range 20 {
		tryPushRacingClose(t, 1000*(round+1))
	}
}

func tryPushRacingClose(t *testing.T, closeAfter int) {
	t.Helper()
	const producers = 4
	r := New[uint64](64)
	var pushed [producers]atomic.Int64
	var closed atomic.Bool
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for s := 0; ; s++ {
				for !r.TryPush(item(p, s)) {
					if closed.Load() {
						pushed[p].Store(int64(s))
						return
					}
					runtime.Gosched()
				}
			}
		})
	}

	received := make([]int, producers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		for {
			v, ok := r.Pop()
			if !ok {
				return
			}
			if n++; n == closeAfter {
				r.Close()
				closed.Store(true)
			}
			p, s := unpack(v)
			if s != received[p] {
				t.Errorf("got item %d of producer %d, want item %d", s, p, received[p])
				return
			}
			received[p]++
		}
	}()
	waitDone(t, done)
	wg.Wait()
	for p := range producers {
		if got, want := int64(received[p]), pushed[p].Load(); got != want {
			t.Errorf("producer %d: %d items accepted, %d delivered", p, want, got)
		}
	}
}
