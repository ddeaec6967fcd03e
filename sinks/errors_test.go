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
	if RefusedReasons(err) != nil {
		t.Fatal("RefusedLines has per-line reasons")
	}
}

func TestRefusedLinesWithReasons(t *testing.T) {
	cause := errors.New("2 of 5 events refused")
	err := fmt.Errorf("es: %w", RefusedLinesWithReasons(cause, []int{0, 3}, []string{"mapper_parsing_exception: a", "illegal_argument_exception: b"}))
	if kind, _ := Classify(err); kind != Permanent || !errors.Is(err, cause) {
		t.Fatalf("kind %v, err %v", kind, err)
	}
	lines, reasons := Refused(err), RefusedReasons(err)
	if len(lines) != 2 || lines[1] != 3 || len(reasons) != 2 || reasons[0] != "mapper_parsing_exception: a" || reasons[1] != "illegal_argument_exception: b" {
		t.Fatalf("lines %v reasons %q", lines, reasons)
	}
	// Reasons that do not pair up with the lines are dropped, not misattributed.
	err = RefusedLinesWithReasons(cause, []int{0, 3}, []string{"only one"})
	if got := Refused(err); len(got) != 2 || RefusedReasons(err) != nil {
		t.Fatalf("mismatched: lines %v reasons %q", got, RefusedReasons(err))
	}
	if RefusedReasons(PermanentError(cause)) != nil || RefusedReasons(cause) != nil || RefusedReasons(nil) != nil {
		t.Fatal("RefusedReasons of an error without reasons is not nil")
	}
}
