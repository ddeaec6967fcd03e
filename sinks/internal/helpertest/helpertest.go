// Package helpertest is for the tests of the sinks' test-helper packages: it runs a helper
// against a stand-in for the test and records how the helper ended it. It is meant for tests
// only.
package helpertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TB stands in for a test: Fatal and Fatalf record their message and end the goroutine, as
// testing.T does, without failing the real test; Logf is recorded too. Everything else goes to
// the real test.
type TB struct {
	testing.TB
	Msg  string          // what the helper ended the test with; "" if it did not
	Logs strings.Builder // what it logged
}

func (r *TB) Helper()      {}
func (r *TB) Failed() bool { return r.Msg != "" }

func (r *TB) Logf(format string, args ...any) { fmt.Fprintf(&r.Logs, format+"\n", args...) }

func (r *TB) Fatal(args ...any) {
	r.Msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *TB) Fatalf(format string, args ...any) {
	r.Msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Fails runs helper with a TB in a subtest of t, so that the cleanups the helper registers
// have run when it returns the TB; a helper that returns instead of ending the test fails t.
func Fails(t *testing.T, helper func(tb testing.TB)) *TB {
	t.Helper()
	r := &TB{}
	t.Run("helper", func(t *testing.T) {
		r.TB = t
		done := make(chan struct{})
		go func() {
			defer close(done)
			helper(r)
			t.Error("the helper returned without ending the test")
		}()
		<-done
	})
	return r
}
