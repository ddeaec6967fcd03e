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

func TestRefusedLines(t *testing.T) {
	err := fmt.Errorf("es: %w", RefusedLines(errors.New("mapping"), []int{1, 4}))
	if kind, _ := Classify(err); kind != Permanent {
		t.Fatalf("kind %v", kind)
	}
	if got := Refused(err); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("Refused = %v", got)
	}
	if Refused(PermanentError(errors.New("x"))) != nil || Refused(errors.New("x")) != nil {
		t.Fatal("Refused of a whole-batch or unclassified error is not nil")
	}
}
