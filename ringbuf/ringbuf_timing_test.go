package ringbuf

// The ring beside a buffered channel doing the same work: producers push
// 8-byte items, one consumer goroutine takes them out. Reproduce with
//
//	go test ./ringbuf -run '^$' -bench . -benchmem -count 1
//
// Both report 0 allocs/op.

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// benchCapacity is the queue size for both implementations.
const benchCapacity = 1024

// benchSink keeps the consumer's work observable so it is not optimised away.
var benchSink uint64

func BenchmarkQueue(b *testing.B) {
	for _, producers := range []int{1, 4} {
		b.Run(fmt.Sprintf("impl:ring/producers:%d", producers), func(b *testing.B) {
			r := New[uint64](benchCapacity)
			benchQueue(b, producers,
				func(v uint64) {
					// A handler would answer 503 here; the benchmark retries.
					for !r.TryPush(v) {
						runtime.Gosched()
					}
				},
				func() uint64 {
					v, _ := r.Pop()
					return v
				})
		})
	}
	for _, producers := range []int{1, 4} {
		b.Run(fmt.Sprintf("impl:chan/producers:%d", producers), func(b *testing.B) {
			ch := make(chan uint64, benchCapacity)
			benchQueue(b, producers,
				func(v uint64) { ch <- v },
				func() uint64 { return <-ch })
		})
	}
}

// benchQueue moves b.N items from producers goroutines through push to the
// benchmark goroutine, which consumes them through pop.
func benchQueue(b *testing.B, producers int, push func(uint64), pop func() uint64) {
	b.ReportAllocs()
	b.SetBytes(8)
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range producers {
		n := b.N / producers
		if p < b.N%producers {
			n++
		}
		wg.Go(func() {
			for i := range n {
				push(uint64(i))
			}
		})
	}
	var sum uint64
	for range b.N {
		sum += pop()
	}
	wg.Wait()
	b.StopTimer()
	benchSink = sum
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
