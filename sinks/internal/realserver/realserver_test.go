package realserver

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/internal/helpertest"
)

// The tests' server is this test binary itself, run again with REALSERVER_TEST_SERVER set: it
// stands for any server binary that writes output, listens on the address it is given, or dies.
func TestMain(m *testing.M) {
	switch os.Getenv("REALSERVER_TEST_SERVER") {
	case "":
		os.Exit(m.Run())
	case "listen":
		fmt.Fprintln(os.Stderr, "server: starting")
		l, err := net.Listen("tcp", os.Args[len(os.Args)-1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(2)
			}
			c.Close()
		}
	default:
		fmt.Fprintln(os.Stdout, "server: exiting")
		os.Exit(3)
	}
}

// serve starts this binary as a server in mode ("listen", or any other to exit) on addr.
func serve(tb testing.TB, mode, addr string, ready func() bool) {
	tb.Helper()
	tb.Setenv("REALSERVER_TEST_SERVER", mode)
	Start(tb, os.Args[0], []string{addr}, ready)
}

// TestStart: Start returns once the server listens, and the server is gone after the test.
func TestStart(t *testing.T) {
	addr := FreeAddr(t)
	if Dials(addr) {
		t.Fatalf("something listens on %s, the free address", addr)
	}
	t.Run("server", func(t *testing.T) {
		serve(t, "listen", addr, func() bool { return Dials(addr) })
		if !Dials(addr) {
			t.Fatal("Start returned before the server listened")
		}
	})
	for deadline := time.Now().Add(5 * time.Second); Dials(addr); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server still listens after its test ended")
		}
	}
}

// TestStartFailures: a server that exits before it is ready, and one that never gets ready, end
// the test, and the server's output is logged; a binary that cannot run ends it too.
func TestStartFailures(t *testing.T) {
	r := helpertest.Fails(t, func(tb testing.TB) { serve(tb, "exit", FreeAddr(tb), func() bool { return false }) })
	if !strings.Contains(r.Msg, "exited before it was ready: exit status 3") || !strings.Contains(r.Logs.String(), "server: exiting") {
		t.Errorf("exits: Fatalf(%q), logged %q", r.Msg, r.Logs.String())
	}

	defer func(d time.Duration) { readyTimeout = d }(readyTimeout)
	readyTimeout = 300 * time.Millisecond
	addr := FreeAddr(t)
	r = helpertest.Fails(t, func(tb testing.TB) { serve(tb, "listen", addr, func() bool { return false }) })
	if !strings.Contains(r.Msg, "was not ready within 300ms") || !strings.Contains(r.Logs.String(), "server: starting") {
		t.Errorf("never ready: Fatalf(%q), logged %q", r.Msg, r.Logs.String())
	}

	r = helpertest.Fails(t, func(tb testing.TB) { Start(tb, "/nonexistent/server", nil, func() bool { return true }) })
	if !strings.Contains(r.Msg, "/nonexistent/server") {
		t.Errorf("missing binary: Fatalf(%q)", r.Msg)
	}
}
