package sinks

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what the engine should do about a failed WriteBatch.
type Kind uint8

const (
	// Retryable failures (5xx, timeouts, refused connections) are retried with back-off. An
	// error WriteBatch returns without classifying it is Retryable.
	Retryable Kind = iota
	// Permanent failures (a bad request, a mapping error) will fail again: the batch's events
	// go to the sink's dead-letter queue.
	Permanent
	// Backoff asks to wait at least the error's Wait (429, Retry-After) before retrying.
	Backoff
	// TooLarge means the destination refused the batch for its size (413): the engine splits
	// it in halves and delivers each.
	TooLarge
)

func (k Kind) String() string {
	switch k {
	case Permanent:
		return "permanent"
	case Backoff:
		return "backoff"
	case TooLarge:
		return "too_large"
	}
	return "retryable"
}

// Error is a classified WriteBatch failure.
type Error struct {
	Kind Kind
	Wait time.Duration // Backoff: the least time to wait; 0 lets the engine choose
	Err  error
	// Lines, for Permanent, are the batch's lines (0-based) the destination refused while it
	// took all the others: only they go to the dead-letter queue. Empty means the whole batch.
	Lines []int
	// Reasons, when set, hold one reason per entry of Lines, so that each dead-lettered line
	// carries why it was refused rather than Err, which sums them all up.
	Reasons []string
}

func (e *Error) Error() string {
	if e.Kind == Backoff && e.Wait > 0 {
		return fmt.Sprintf("%v (retry after %v)", e.Err, e.Wait)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// PermanentError marks err as one that retrying cannot fix.
func PermanentError(err error) error { return &Error{Kind: Permanent, Err: err} }

// RefusedLines reports that the destination took every line of the batch but these (0-based,
// ascending), which it refused for good for the reason err: the engine counts the others as
// delivered and dead-letters only these.
func RefusedLines(err error, lines []int) error {
	return &Error{Kind: Permanent, Err: err, Lines: lines}
}

// RefusedLinesWithReasons is RefusedLines with each refused line's own reason: reasons[i] is
// why lines[i] was refused. When the two lengths differ the reasons are dropped, and every line
// gets err as its reason, as with RefusedLines.
func RefusedLinesWithReasons(err error, lines []int, reasons []string) error {
	if len(reasons) != len(lines) {
		reasons = nil
	}
	return &Error{Kind: Permanent, Err: err, Lines: lines, Reasons: reasons}
}

// BackoffError marks err as a request to slow down for at least wait.
func BackoffError(err error, wait time.Duration) error {
	return &Error{Kind: Backoff, Wait: wait, Err: err}
}

// TooLargeError marks err as a refusal of the batch's size.
func TooLargeError(err error) error { return &Error{Kind: TooLarge, Err: err} }

// Classify tells how to handle an error from WriteBatch: its Kind and, for Backoff, the wait.
// Errors that are not an *Error anywhere in their chain are Retryable.
func Classify(err error) (Kind, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, e.Wait
	}
	return Retryable, 0
}

// Refused returns the lines of a RefusedLines or RefusedLinesWithReasons error, or nil for any
// other error.
func Refused(err error) []int {
	var e *Error
	if errors.As(err, &e) && e.Kind == Permanent {
		return e.Lines
	}
	return nil
}

// RefusedReasons returns the per-line reasons of a RefusedLinesWithReasons error, parallel to
// what Refused returns, or nil when the error has none (then the error itself is every line's
// reason).
func RefusedReasons(err error) []string {
	var e *Error
	if errors.As(err, &e) && e.Kind == Permanent && len(e.Reasons) == len(e.Lines) {
		return e.Reasons
	}
	return nil
}
