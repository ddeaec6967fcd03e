package ratelimit

import (
	"sync"
	"testing"
	"time"
)

const sec = int64(time.Second)

func TestBucket(t *testing.T) {
	b := New(100, 200)
	f := func(now int64, n int, wantOK bool, wantWait time.Duration) {
		t.Helper()
		ok, wait := b.Take(now, n)
		if ok != wantOK || wait != wantWait {
			t.Fatalf("Take(%d, %d) = %v, %v; want %v, %v", now, n, ok, wait, wantOK, wantWait)
		}
	}
	// starts full
	f(sec, 150, true, 0)
	f(sec, 50, true, 0)
	// empty: 10 events need 100 ms at 100/s
	f(sec, 10, false, 100*time.Millisecond)
	// half a second later, 50 tokens are back
	f(sec+sec/2, 50, true, 0)
	f(sec+sec/2, 1, false, 10*time.Millisecond)
	// more than the burst can never pass
	f(10*sec, 201, false, -1)
	// refill never exceeds the burst
	f(100*sec, 200, true, 0)
	f(100*sec, 1, false, 10*time.Millisecond)
	// a refund makes room again, capped at the burst
	b.Refund(5)
	f(100*sec, 5, true, 0)
	b.Refund(1000)
	f(100*sec, 200, true, 0)
	// time going backwards (a stale now from another goroutine) adds nothing
	f(99*sec, 1, false, 10*time.Millisecond)
}

func TestBurstDefault(t *testing.T) {
	if got := New(2.5, 0).Burst(); got != 3 {
		t.Fatalf("burst = %d, want 3 (one second of events, rounded up)", got)
	}
	if got := New(10, 7).Burst(); got != 7 {
		t.Fatalf("burst = %d, want 7", got)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	f := func(wait time.Duration, want int) {
		t.Helper()
		if got := RetryAfterSeconds(wait); got != want {
			t.Fatalf("RetryAfterSeconds(%v) = %d, want %d", wait, got, want)
		}
	}
	f(0, 1)
	f(10*time.Millisecond, 1)
	f(time.Second, 1)
	f(1001*time.Millisecond, 2)
	f(-1, 1)
}

// TestConcurrentTake checks that concurrent takers never get more than the bucket holds.
func TestConcurrentTake(t *testing.T) {
	b := New(1e-9, 1000) // effectively no refill
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if ok, _ := b.Take(sec, 1); ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if granted != 1000 {
		t.Fatalf("granted %d events, want exactly the burst of 1000", granted)
	}
}
