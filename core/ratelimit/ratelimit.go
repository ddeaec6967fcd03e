// Package ratelimit is a token bucket counted in events, used per token and per stream.
//
// golang.org/x/time/rate would do the arithmetic, but its reservations are heap objects and a
// request must be able to hand back what it took from the token's bucket when the stream's
// bucket then refuses it; this bucket does both without allocating.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Bucket holds up to burst events' worth of tokens and refills at rate per second.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per nanosecond
	burst  float64
	tokens float64
	last   int64 // Unix nanoseconds of the last refill
}

// New returns a full bucket. A burst below 1 becomes one second's worth of events.
func New(eventsPerSecond float64, burst int) *Bucket {
	b := float64(burst)
	if b < 1 {
		b = math.Ceil(eventsPerSecond)
	}
	return &Bucket{rate: eventsPerSecond / 1e9, burst: b, tokens: b}
}

// Burst returns the largest number of events one Take can ever get.
func (b *Bucket) Burst() int { return int(b.burst) }

// Take removes n tokens at time now (Unix nanoseconds) if it can. When it cannot, it returns
// how long until n tokens will be there; a negative wait means n exceeds the burst and no wait
// will help.
func (b *Bucket) Take(now int64, n int) (ok bool, wait time.Duration) {
	need := float64(n)
	if need > b.burst {
		return false, -1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if now > b.last {
		b.tokens = math.Min(b.burst, b.tokens+float64(now-b.last)*b.rate)
		b.last = now
	}
	if b.tokens >= need {
		b.tokens -= need
		return true, 0
	}
	return false, time.Duration(math.Ceil((need - b.tokens) / b.rate))
}

// Refund gives back n tokens taken by a request that was then refused for another reason.
func (b *Bucket) Refund(n int) {
	b.mu.Lock()
	b.tokens = math.Min(b.burst, b.tokens+float64(n))
	b.mu.Unlock()
}

// RetryAfterSeconds turns a wait into the whole seconds of a Retry-After header, at least 1.
func RetryAfterSeconds(wait time.Duration) int {
	s := int(math.Ceil(wait.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}
