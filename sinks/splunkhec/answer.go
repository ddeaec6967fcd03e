package splunkhec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonraw"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/httpanswer"
)

// HEC answer codes the sink acts on.
const (
	codeSuccess = 0
	codeBusy    = 9 // server is busy: its queues are full
)

// answer is HEC's reply to an event POST: {"text":"Success","code":0,"ackId":7}, or an error
// such as {"text":"Invalid data format","code":6,"invalid-event-number":2}.
type answer struct {
	code    int    // -1 when absent
	text    []byte // unescaped
	ackID   uint64
	hasAck  bool
	invalid int // the invalid-event-number, -1 when absent
}

var (
	codePath    = fieldpath.MustParse("code")
	textPath    = fieldpath.MustParse("text")
	ackIDPath   = fieldpath.MustParse("ackId")
	invalidPath = fieldpath.MustParse("invalid-event-number")
	acksPath    = fieldpath.MustParse("acks")
)

var errNotObject = errors.New("answer is not a JSON object")

// parseAnswer reads an event POST's answer into a, reusing a.text. Members of the wrong type
// are errors; unknown members are ignored.
func parseAnswer(body []byte, a *answer) error {
	*a = answer{code: -1, invalid: -1, text: a.text[:0]}
	if !isObject(body) {
		return errNotObject
	}
	if v, ok := fieldpath.Lookup(body, codePath); ok {
		n, ok := uintOf(v)
		if !ok || n > 1<<31 {
			return fmt.Errorf("answer's code is %s, not a small whole number", v.Kind)
		}
		a.code = int(n)
	}
	if v, ok := fieldpath.Lookup(body, textPath); ok {
		if v.Kind != fieldpath.String {
			return fmt.Errorf("answer's text is a %s, not a string", v.Kind)
		}
		a.text = v.Str(a.text)
	}
	if v, ok := fieldpath.Lookup(body, ackIDPath); ok {
		n, ok := uintOf(v)
		if !ok {
			return fmt.Errorf("answer's ackId is a %s, not a whole number", v.Kind)
		}
		a.ackID, a.hasAck = n, true
	}
	if v, ok := fieldpath.Lookup(body, invalidPath); ok {
		if n, ok := uintOf(v); ok && n < 1<<31 {
			a.invalid = int(n)
		}
	}
	return nil
}

// parseAcks reads an ack query's answer, {"acks":{"7":true}}, and reports whether ackID is
// acknowledged. A missing id counts as not yet.
func parseAcks(body []byte, ackID uint64) (bool, error) {
	if !isObject(body) {
		return false, errNotObject
	}
	v, ok := fieldpath.Lookup(body, acksPath)
	if !ok || v.Kind != fieldpath.Object {
		return false, errors.New(`answer has no "acks" object`)
	}
	var idBuf [20]byte
	id := strconv.AppendUint(idBuf[:0], ackID, 10)
	b := v.Raw
	acked := false
	// b is valid JSON (isObject checked the whole answer), so the walk can trust its shape.
	for i := jsonraw.WS(b, 1); i < len(b) && b[i] == '"'; {
		end, escaped := jsonraw.StrEnd(b, i)
		key := b[i+1 : end]
		if escaped {
			var keyBuf [24]byte
			key = jsonraw.AppendUnescaped(keyBuf[:0], key)
		}
		j := jsonraw.WS(b, jsonraw.WS(b, end+1)+1) // past the colon
		if string(key) == string(id) {
			switch b[j] {
			case 't':
				acked = true
			case 'f':
				acked = false
			default:
				return false, fmt.Errorf("ack %d is not true or false", ackID)
			}
		}
		i = jsonraw.WS(b, jsonraw.Skip(b, j))
		if i < len(b) && b[i] == ',' {
			i = jsonraw.WS(b, i+1)
		} else {
			break
		}
	}
	return acked, nil
}

// isObject reports whether b is one valid JSON object.
func isObject(b []byte) bool {
	i := jsonraw.WS(b, 0)
	return i < len(b) && b[i] == '{' && json.Valid(b)
}

// uintOf reads a number that is a plain whole number of at most 18 digits.
func uintOf(v fieldpath.Value) (uint64, bool) {
	if v.Kind != fieldpath.Number || len(v.Raw) == 0 || len(v.Raw) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range v.Raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// classify turns a failed event POST into an error for the engine. status is the HTTP status,
// a the parsed answer (code -1 when the body was not HEC's), detail what the answer says,
// what a description of the request.
func classify(status int, a *answer, detail, retryAfter, what string) error {
	msg := fmt.Sprintf("%s: %d %s", what, status, http.StatusText(status))
	if detail != "" {
		msg += ": " + detail
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || a.code >= 1 && a.code <= 4:
		return sinks.PermanentError(errors.New(msg + ": the HEC token is missing, invalid or disabled"))
	case a.code == codeBusy || status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		wait, _ := httpanswer.RetryAfter(retryAfter, time.Now())
		return sinks.BackoffError(errors.New(msg+": Splunk is busy"), wait)
	case status == http.StatusRequestEntityTooLarge:
		return sinks.TooLargeError(errors.New(msg))
	case status >= 200 && status < 300, status == http.StatusBadRequest:
		// A refusal HEC explains with a code (no data, invalid data format, missing event,
		// incorrect index, ...) recurs however often the same batch is sent.
		return sinks.PermanentError(errors.New(msg))
	}
	return httpanswer.Classify(status, retryAfter, time.Now(), errors.New(msg))
}
