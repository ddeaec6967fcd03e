//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package core

import (
	"os"
	"syscall"
)

// openDeadLetter opens path for appending under an exclusive lock, so that `ingestd dlq replay`
// in another process, which renames a file before it locks and reads it, never reads it while
// a record is half written, nor misses one written after it read: a writer that finds the name
// now leads to another file (replay claimed the one it opened) opens again.
func openDeadLetter(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		held, err1 := f.Stat()
		named, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			return f, nil // closing it releases the lock
		}
		f.Close()
		if err1 != nil {
			return nil, err1
		}
	}
}

// lockClaimed waits until no writer holds a claimed dead-letter file; the returned file keeps
// them out until closed.
func lockClaimed(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
