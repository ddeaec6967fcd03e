package file

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteErrorDeviceFull(t *testing.T) {
	s := newSink(t, "/dev/full", func(o *Options) { o.Fsync = FsyncNone })
	for range 2 { // the failed handle is dropped and the next batch opens the path again
		err := s.WriteBatch(ctx, batch("s", at(0), "x\n"))
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), `file sink "local": write /dev/full: `) {
			t.Fatalf("got %v", err)
		}
		if len(s.files) != 0 {
			t.Fatal("the failed file is still open")
		}
	}
}

// TestPartialWriteRolledBack makes the kernel accept only part of a batch (RLIMIT_FSIZE; the Go
// runtime ignores the SIGXFSZ that comes with it) and checks that the retry finds no half batch.
func TestPartialWriteRolledBack(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "e.ndjson")
	s := newSink(t, file, func(o *Options) { o.Fsync = FsyncNone })
	write(t, s, batch("s", at(0), line("a", 100)))

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 150, Max: old.Max}); err != nil {
		t.Skipf("cannot lower RLIMIT_FSIZE: %v", err)
	}
	err := s.WriteBatch(ctx, batch("s", at(0), line("b", 100)))
	if rerr := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); rerr != nil {
		t.Fatal(rerr)
	}
	if !errors.Is(err, syscall.EFBIG) || !strings.Contains(err.Error(), file) {
		t.Fatalf("got %v", err)
	}
	wantFile(t, file, line("a", 100))

	write(t, s, batch("s", at(0), line("b", 100)))
	wantFile(t, file, line("a", 100)+line("b", 100))
}
