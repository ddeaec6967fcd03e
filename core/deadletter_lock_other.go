//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package core

import "os"

// openDeadLetter opens path for appending. Without flock, run `ingestd dlq replay` while the
// server is stopped.
func openDeadLetter(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// lockClaimed opens a claimed dead-letter file for reading.
func lockClaimed(path string) (*os.File, error) { return os.Open(path) }
