// Package realserver runs a real server's binary for the sinks' integration tests: on a
// loopback port, until the test ends, with its output kept and logged if the test fails. It is
// meant for tests only.
package realserver

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// readyTimeout bounds the wait for a server to get ready: generous, as a busy CI machine starts
// a binary slowly.
var readyTimeout = 20 * time.Second

// FreeAddr returns a loopback TCP address whose port nothing listened on a moment ago, for a
// server that takes its address as an argument.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Dials reports whether addr accepts TCP connections: a readiness check for Start.
func Dials(addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Start runs bin with args and returns once ready reports true. The process is killed when the
// test ends; its output (stdout and stderr) is logged then if the test failed. A process that
// exits first, or is not ready within readyTimeout, ends the test.
func Start(tb testing.TB, bin string, args []string, ready func() bool) {
	tb.Helper()
	name := filepath.Base(bin)
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%v", err)
	}
	// Wait runs once, here; out is read only after it has returned.
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			tb.Logf("%s output:\n%s", name, out.String())
		}
	})
	for deadline := time.Now().Add(readyTimeout); !ready(); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			tb.Fatalf("%s exited before it was ready: %v", name, waitErr)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s was not ready within %v", name, readyTimeout)
		}
	}
}
