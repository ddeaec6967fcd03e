package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faults opens real files whose writes, fsyncs, truncations and creation
// fail when a hook says so. Each hook gets the 1-based number of the call
// since it was set.
type faults struct {
	mu                              sync.Mutex
	onOpen                          func(n int, name string) error
	onWrite, onSync, onTruncate     func(n int) error
	opens, writes, syncs, truncates int
}

func (fs *faults) setOpen(h func(int, string) error) {
	fs.mu.Lock()
	fs.onOpen, fs.opens = h, 0
	fs.mu.Unlock()
}

func (fs *faults) setWrite(h func(int) error) {
	fs.mu.Lock()
	fs.onWrite, fs.writes = h, 0
	fs.mu.Unlock()
}

func (fs *faults) setSync(h func(int) error) {
	fs.mu.Lock()
	fs.onSync, fs.syncs = h, 0
	fs.mu.Unlock()
}

func (fs *faults) setTruncate(h func(int) error) {
	fs.mu.Lock()
	fs.onTruncate, fs.truncates = h, 0
	fs.mu.Unlock()
}

func (fs *faults) call(count *int, hook *func(int) error) error {
	fs.mu.Lock()
	*count++
	n, h := *count, *hook
	fs.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(n)
}

func (fs *faults) open(name string, flag int, perm os.FileMode) (file, error) {
	fs.mu.Lock()
	fs.opens++
	n, h := fs.opens, fs.onOpen
	fs.mu.Unlock()
	if h != nil {
		if err := h(n, name); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{f, fs}, nil
}

type faultFile struct {
	*os.File
	fs *faults
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.call(&f.fs.writes, &f.fs.onWrite); err != nil {
		n, _ := f.File.WriteAt(p[:len(p)/2], off) // the disk filled up half way
		return n, err
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	if err := f.fs.call(&f.fs.syncs, &f.fs.onSync); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.call(&f.fs.truncates, &f.fs.onTruncate); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func failNth(n int, err error) func(int) error {
	return func(i int) error {
		if i == n {
			return err
		}
		return nil
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// reopenClean closes l, checks that the files verify and that a new Log
// finds no problem, and returns what consumer "a" replays.
func reopenClean(t *testing.T, l *Log, dir string) []rec {
	t.Helper()
	mustClose(t, l)
	if err := Verify(dir); err != nil {
		t.Errorf("Verify: %v", err)
	}
	l = open(t, dir, Options{Consumers: []string{"a"}})
	if p := l.Problems(); len(p) != 0 {
		t.Errorf("problems after reopen: %v", p)
	}
	return replay(t, l, "a")
}

func TestWriteErrorLogStaysUsable(t *testing.T) {
	fs := &faults{}
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, openFile: fs.open})
	before := mustAppend(t, l, "before")
	fs.setWrite(failNth(1, syscall.ENOSPC))
	if _, err := l.Append(context.Background(), []byte("lost")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk = %v, want ENOSPC", err)
	}
	after := mustAppend(t, l, "after")
	// The failed record's bytes are never reused: the new segment starts past them.
	if want := before + recHdrSize + 6 + recHdrSize + 4 + segHdrSize; after != want {
		t.Errorf("after the failure, append at %d, want %d", after, want)
	}
	if st := l.Stats(); st.Errors != 1 || st.Appends != 2 || st.Segments != 2 ||
		st.UsedBytes != 2*segHdrSize+2*recHdrSize+6+5 {
		t.Errorf("stats = %+v", st)
	}
	sameRecs(t, "replay", reopenClean(t, l, dir), []rec{{before, "before"}, {after, "after"}})
}

func TestSyncErrorFailsWholeGroup(t *testing.T) {
	fs := &faults{}
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, openFile: fs.open})
	entered, release := make(chan struct{}), make(chan struct{})
	fs.setSync(func(n int) error {
		switch n {
		case 1: // the first group's fsync waits while the second group gathers
			close(entered)
			<-release
		case 2:
			return syscall.EIO
		}
		return nil
	})
	ctx := context.Background()
	firstPos := make(chan Position, 1)
	go func() {
		pos, err := l.Append(ctx, []byte("first"))
		if err != nil {
			t.Error(err)
		}
		firstPos <- pos
	}()
	<-entered
	const k = 5
	errs := make(chan error, k)
	for i := range k {
		go func() {
			_, err := l.Append(ctx, fmt.Appendf(nil, "group%d", i))
			errs <- err
		}()
	}
	waitFor(t, "the second group to gather", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.pending.waiters) == k
	})
	close(release)
	first := <-firstPos
	for range k {
		if err := <-errs; !errors.Is(err, syscall.EIO) {
			t.Errorf("waiter of the failed group got %v, want EIO", err)
		}
	}
	if st := l.Stats(); st.Errors != k || st.Appends != 1 {
		t.Errorf("stats = %+v", st)
	}
	after := mustAppend(t, l, "after")
	sameRecs(t, "replay", reopenClean(t, l, dir), []rec{{first, "first"}, {after, "after"}})
}

func TestFailedCutKeepsBytesCounted(t *testing.T) {
	fs := &faults{}
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, openFile: fs.open})
	before := mustAppend(t, l, "before") // keeps the segment alive: "a" has not read it
	fs.setSync(failNth(1, syscall.EIO))
	fs.setTruncate(failNth(1, syscall.EIO))
	if _, err := l.Append(context.Background(), []byte("maybe")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append = %v, want EIO", err)
	}
	after := mustAppend(t, l, "after")
	if st := l.Stats(); st.UsedBytes != 2*segHdrSize+3*recHdrSize+6+5+5 {
		t.Errorf("used bytes %d: the uncut record must still count", st.UsedBytes)
	}
	// The record could not be cut, so it is on disk and replayed although its
	// Append failed: "error" means "maybe". Its position is still unique.
	maybe := before + recHdrSize + 6
	sameRecs(t, "replay", reopenClean(t, l, dir), []rec{{before, "before"}, {maybe, "maybe"}, {after, "after"}})
}

func TestSegmentCreationError(t *testing.T) {
	fs := &faults{}
	dir := t.TempDir()
	opts := Options{Consumers: []string{"a"}, SegmentBytes: 64, openFile: fs.open}
	l := open(t, dir, opts)
	first := mustAppend(t, l, strings.Repeat("a", 30))
	ctx := context.Background()

	fs.setOpen(func(int, string) error { return syscall.ENOSPC })
	if _, err := l.Append(ctx, []byte(strings.Repeat("b", 30))); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append needing a new segment that cannot be created = %v", err)
	}
	fs.setOpen(nil)
	fs.setSync(failNth(1, syscall.EIO)) // the new segment's header
	if _, err := l.Append(ctx, []byte(strings.Repeat("c", 30))); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append whose segment header does not sync = %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) != 0 || len(segFiles(t, dir)) != 1 {
		t.Errorf("failed segment creation left files: %v %v", m, segFiles(t, dir))
	}
	last := mustAppend(t, l, strings.Repeat("d", 30))
	if st := l.Stats(); st.Errors != 2 || st.UsedBytes != 2*(segHdrSize+recHdrSize+30) {
		t.Errorf("stats = %+v", st)
	}
	sameRecs(t, "replay", reopenClean(t, l, dir), []rec{{first, strings.Repeat("a", 30)}, {last, strings.Repeat("d", 30)}})
}

func TestContextEndsWhileWaiting(t *testing.T) {
	fs := &faults{}
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, openFile: fs.open})
	entered, release := make(chan struct{}), make(chan struct{})
	fs.setSync(func(n int) error {
		if n == 1 {
			close(entered)
			<-release
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, []byte("abandoned"))
		res <- err
	}()
	<-entered
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context = %v", err)
	}
	close(release)
	next := mustAppend(t, l, "next")
	// The abandoned record was written all the same: it is replayed.
	sameRecs(t, "replay", reopenClean(t, l, dir), []rec{{segHdrSize, "abandoned"}, {next, "next"}})
}
