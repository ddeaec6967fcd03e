package sinks

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		err  error
		kind Kind
		wait time.Duration
	}{
		{base, Retryable, 0},
		{PermanentError(base), Permanent, 0},
		{BackoffError(base, 3*time.Second), Backoff, 3 * time.Second},
		{TooLargeError(base), TooLarge, 0},
		{fmt.Errorf("sink x: %w", PermanentError(base)), Permanent, 0},
	}
	for _, c := range cases {
		kind, wait := Classify(c.err)
		if kind != c.kind || wait != c.wait {
			t.Errorf("%v: got %v %v, want %v %v", c.err, kind, wait, c.kind, c.wait)
		}
		if !errors.Is(c.err, base) {
			t.Errorf("%v does not unwrap to its cause", c.err)
		}
	}
	if got := BackoffError(base, time.Second).Error(); got != "boom (retry after 1s)" {
		t.Errorf("message %q", got)
	}
}
