package wal

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A lone appender never waits for a group to gather: one Append after another completes at
// fsync speed even with a CommitDelay far longer than the whole test may take.
func TestCommitDelayLoneAppender(t *testing.T) {
	l := open(t, t.TempDir(), Options{CommitDelay: 10 * time.Second, CommitSiblings: 2})
	start := time.Now()
	for i := range 50 {
		mustAppend(t, l, "record")
		if time.Since(start) > 5*time.Second {
			t.Fatalf("append %d waited for a group: %v so far", i, time.Since(start))
		}
	}
}

// Under load the writer lets groups gather: many appenders share far fewer fsyncs than without
// a delay, every record still gets its own position, and Close does not wait out the delay.
func TestCommitDelayGathersGroups(t *testing.T) {
	run := func(delay time.Duration) Stats {
		l := open(t, t.TempDir(), Options{CommitDelay: delay, CommitSiblings: 2})
		const writers, each = 32, 20
		var wg sync.WaitGroup
		seen := make(chan Position, writers*each)
		for range writers {
			wg.Go(func() {
				for range each {
					pos, err := l.Append(context.Background(), []byte("a record of a few bytes"))
					if err != nil {
						t.Error(err)
						return
					}
					seen <- pos
				}
			})
		}
		wg.Wait()
		close(seen)
		unique := map[Position]bool{}
		for p := range seen {
			if unique[p] {
				t.Fatalf("position %d given twice", p)
			}
			unique[p] = true
		}
		if len(unique) != writers*each {
			t.Fatalf("%d positions, want %d", len(unique), writers*each)
		}
		st := l.Stats()
		start := time.Now()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); delay > time.Second && d > delay/2 {
			t.Fatalf("Close took %v: it waited out the commit delay", d)
		}
		return st
	}
	without, with := run(0), run(20*time.Millisecond)
	t.Logf("fsyncs for %d appends by 32 writers: %d without a delay, %d with 20ms", with.Appends, without.Fsyncs, with.Fsyncs)
	// Every writer is back with its next record within microseconds of its group's commit, so
	// a 20ms wait gathers nearly all of them: at least half on average.
	if with.Appends != without.Appends || with.Fsyncs > with.Appends/16 {
		t.Fatalf("with a delay %d fsyncs for %d appends by 32 writers: groups did not gather", with.Fsyncs, with.Appends)
	}
}

// A group that reaches lingerBytes is committed without waiting out the delay: two records that
// fill it together share one fsync at once, whichever of them the writer saw first.
func TestCommitDelayEndsAtGroupSize(t *testing.T) {
	l := open(t, t.TempDir(), Options{CommitDelay: 30 * time.Second, CommitSiblings: 1})
	mustAppend(t, l, "warm") // a group of one: the writer now waits for the next group
	before := l.Stats().Fsyncs
	half := make([]byte, lingerBytes/2+1)
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := l.Append(context.Background(), half); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("2 appends of %d bytes took %v: the writer waited out the delay", len(half), d)
	}
	if n := l.Stats().Fsyncs - before; n != 1 {
		t.Fatalf("%d fsyncs for the two records, want 1", n)
	}
}

// Close does not wait out a commit delay: the gathering group is committed at once.
func TestCommitDelayClose(t *testing.T) {
	l, err := Open(t.TempDir(), Options{CommitDelay: 30 * time.Second, CommitSiblings: 1})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, "warm") // a group of one: the writer now waits for the next group
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), []byte("waiting for its group"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the record join the gathering group
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the gathering record: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
