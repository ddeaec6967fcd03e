// Package httpanswer classifies the answers of HTTP destinations (webhooks, bulk APIs) the way
// the engine's delivery expects (sinks.Classify), and reads their Retry-After.
package httpanswer

import (
	"net/http"
	"strings"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// MaxRetryAfter caps a Retry-After, so a wrong header cannot stall a sink for days.
const MaxRetryAfter = time.Hour

// Classify marks err, the failure of a request answered with status code (not 2xx), by what
// sending again can do: 413 → too large; 429 → back off (at least Retry-After); 503 → back off
// with a Retry-After, else retry; 408 and other 5xx → retry; redirects and other 4xx →
// permanent; anything else (a stray 1xx) → retry.
func Classify(code int, retryAfter string, now time.Time, err error) error {
	switch {
	case code == http.StatusRequestEntityTooLarge:
		return sinks.TooLargeError(err)
	case code == http.StatusTooManyRequests:
		wait, _ := RetryAfter(retryAfter, now)
		return sinks.BackoffError(err, wait)
	case code == http.StatusServiceUnavailable:
		if wait, ok := RetryAfter(retryAfter, now); ok {
			return sinks.BackoffError(err, wait)
		}
		return err
	case code == http.StatusRequestTimeout || code >= 500:
		return err
	case code >= 300:
		return sinks.PermanentError(err)
	}
	return err
}

// RetryAfter parses a Retry-After value, delay-seconds or an HTTP-date, into a wait between 0
// and MaxRetryAfter; ok is false when the value is missing or malformed.
func RetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if '0' <= v[0] && v[0] <= '9' {
		const capSecs = uint64(MaxRetryAfter / time.Second)
		var secs uint64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if secs < capSecs { // stop counting past the cap: no overflow however many digits
				secs = secs*10 + uint64(c-'0')
			}
		}
		return time.Duration(min(secs, capSecs)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}
