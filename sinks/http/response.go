package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ingestd/ingestd/sinks/internal/httpanswer"
)

const (
	// excerptMax bounds how much of a refusal's body goes into the error.
	excerptMax = 512
	// drainMax is how much of a response body is read so its connection can be reused; a
	// longer body is cut off by closing, which costs the connection but not the time.
	drainMax = 64 << 10
	// maxRetryAfter caps a Retry-After, so a wrong header cannot stall the sink for days.
	maxRetryAfter = httpanswer.MaxRetryAfter
)

// now is time.Now; tests fix it to check Retry-After dates.
var now = time.Now

// result turns a response into WriteBatch's error, classified for the engine (sinks.Classify),
// and drains and closes the body so the connection goes back to the pool.
func (s *Sink) result(resp *http.Response, w *work) error {
	defer resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		drain(resp.Body, w.scratch[:])
		return nil
	}
	n, _ := io.ReadFull(resp.Body, w.scratch[:excerptMax])
	probe, _ := io.ReadFull(resp.Body, w.scratch[excerptMax:]) // one byte more: was it cut?
	more := probe > 0
	var msg strings.Builder
	fmt.Fprintf(&msg, "http sink %q: %s %s: %s", s.name, s.method, s.target, resp.Status)
	if code >= 300 && code < 400 {
		fmt.Fprintf(&msg, " (redirects are not followed; set url to the final address, Location: %q)", resp.Header.Get("Location"))
	}
	if n > 0 {
		msg.WriteString(": ")
		s.appendExcerpt(&msg, w.scratch[:n], more)
	}
	err := errors.New(msg.String())
	drain(resp.Body, w.scratch[:]) // after the excerpt is copied out of scratch

	return httpanswer.Classify(code, resp.Header.Get("Retry-After"), now(), err)
}

// drain reads what is left of a body, up to drainMax, into buf.
func drain(body io.Reader, buf []byte) {
	for total := 0; total < drainMax; {
		n, err := body.Read(buf)
		total += n
		if err != nil {
			return
		}
	}
}

// appendExcerpt writes a response body's start as one printable line: control characters
// become spaces, invalid UTF-8 '?', the configured secrets asterisks (a receiver may echo the
// request), and "..." marks a cut. It never writes more than len(b)+3 bytes.
func (s *Sink) appendExcerpt(w *strings.Builder, b []byte, more bool) {
	for _, secret := range s.secrets {
		for i := 0; ; {
			j := bytes.Index(b[i:], secret)
			if j < 0 {
				break
			}
			mask(b[i+j : i+j+len(secret)])
			i += j + len(secret)
		}
		if more { // the cut may have left the start of a secret at the end
			for k := min(len(secret)-1, len(b)); k >= minSecret; k-- {
				if bytes.HasSuffix(b, secret[:k]) {
					mask(b[len(b)-k:])
					break
				}
			}
		}
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1 && more && !utf8.FullRune(b):
			b = nil // a character cut by the excerpt's end
			continue
		case r == utf8.RuneError && size == 1:
			w.WriteByte('?')
		case r < ' ' || r == 0x7f:
			w.WriteByte(' ')
		default:
			w.Write(b[:size])
		}
		b = b[size:]
	}
	if more {
		w.WriteString("...")
	}
}

func mask(b []byte) {
	for i := range b {
		b[i] = '*'
	}
}

// retryAfter reads a Retry-After at the sink's clock.
func retryAfter(v string) (time.Duration, bool) { return httpanswer.RetryAfter(v, now()) }
