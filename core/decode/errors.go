package decode

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/ingestd/ingestd/core/apierr"
)

// errKind is what the scanner found wrong; Scanner.err turns it into a client-facing sentence.
// Messages are built only on failure, so the success path never formats anything.
type errKind uint8

const (
	ekNone errKind = iota

	// JSON syntax inside an event (invalid_json).
	ekValue
	ekKey
	ekColon
	ekObjEnd
	ekArrEnd
	ekLiteral
	ekNumber
	ekString
	ekCtrl
	ekEscape
	ekNotObject    // an event that is not an object
	ekLineTrailing // NDJSON: more after the object on its line

	// JSON syntax around the events of a JSON body (invalid_json).
	ekTop      // neither an object nor an array
	ekElemEnd  // no ',' or ']' after an event of the array
	ekTrailing // more after the top-level value

	ekDepth    // invalid_format
	ekField    // the event's pending field problem: invalid_format
	ekNoSource // missing_field
	ekNoEvent  // missing_field
	ekTooMany  // payload_too_large
)

var syntaxMsg = [...]string{
	ekValue:        "expected a JSON value",
	ekKey:          "expected a member name in double quotes",
	ekColon:        "expected ':' after a member name",
	ekObjEnd:       "expected ',' or '}' after an object member",
	ekArrEnd:       "expected ',' or ']' after an array element",
	ekLiteral:      "invalid literal, expected true, false or null",
	ekNumber:       "invalid number",
	ekString:       "unterminated string",
	ekCtrl:         `control character in a string, which must be escaped (\n, \t, \u00XX)`,
	ekEscape:       `invalid escape sequence, expected one of \" \\ \/ \b \f \n \r \t \uXXXX`,
	ekNotObject:    "an event must be a JSON object",
	ekLineTrailing: "unexpected data after the event object; NDJSON holds exactly one object per line",
}

// quoteMax bounds how much of an offending value a detail sentence repeats.
const quoteMax = 64

// err describes the failure recorded in s.ek and s.ePos.
func (s *Scanner) err() error {
	idx := len(s.Events) - 1
	switch s.ek {
	case ekNotObject:
		idx = len(s.Events)
	case ekTooMany:
		return &apierr.Error{Code: apierr.PayloadTooLarge, Detail: fmt.Sprintf(
			"the request holds more than %d events (max_events_per_request)", s.maxEvents)}
	case ekTop:
		return s.invalidJSON("", "the body must be a JSON object or an array of objects")
	case ekTrailing:
		return s.invalidJSON("", "unexpected data after the top-level JSON value")
	case ekElemEnd:
		return s.invalidJSON("", fmt.Sprintf("expected ',' or ']' after the event at index %d", idx))
	case ekDepth:
		return &apierr.Error{Code: apierr.InvalidFormat, Detail: fmt.Sprintf(
			"%snesting deeper than %d levels %s", s.prefix(idx), s.maxDepth, s.at(s.ePos))}
	case ekField:
		return s.fieldError(idx)
	case ekNoSource:
		return &apierr.Error{Code: apierr.MissingField, Detail: s.prefix(idx) + "missing required field 'source' (a non-empty string)"}
	case ekNoEvent:
		return &apierr.Error{Code: apierr.MissingField, Detail: s.prefix(idx) + "missing required field 'event' (a JSON object)"}
	}
	return s.invalidJSON(s.prefix(idx), syntaxMsg[s.ek])
}

func (s *Scanner) invalidJSON(prefix, msg string) error {
	return &apierr.Error{Code: apierr.InvalidJSON, Detail: fmt.Sprintf(
		"%sinvalid JSON %s: %s; found %s", prefix, s.at(s.ePos), msg, s.found(s.ePos))}
}

func (s *Scanner) fieldError(idx int) error {
	name := fieldNames[s.pendField]
	var msg string
	switch s.pend {
	case pendDuplicate:
		msg = fmt.Sprintf("duplicate '%s' field", name)
	case pendTimestamp:
		msg = `The 'timestamp' field must be a valid ISO 8601 string. Expected an RFC 3339 date-time with a zone, like "2025-02-12T14:32:15Z"; got ` + s.quote(s.pendVal)
		if why := tsWhy[s.pendWhy]; why != "" {
			msg += " (" + why + ")"
		}
	case pendType:
		want := "a JSON object"
		if s.pendField == fSource {
			want = "a non-empty string"
		}
		msg = fmt.Sprintf("the '%s' field must be %s; got %s", name, want, s.quote(s.pendVal))
	}
	return &apierr.Error{Code: apierr.InvalidFormat, Detail: s.prefix(idx) + msg}
}

func (s *Scanner) utf8Error() error {
	pos := firstInvalid(s.body)
	if s.format == NDJSON {
		s.lineStart = bytes.LastIndexByte(s.body[:pos], '\n') + 1
		s.line = int32(1 + bytes.Count(s.body[:pos], newline))
		return &apierr.Error{Code: apierr.InvalidJSON, Detail: fmt.Sprintf(
			"line %d: invalid JSON %s: the body is not valid UTF-8", s.line, s.at(pos))}
	}
	return &apierr.Error{Code: apierr.InvalidJSON, Detail: fmt.Sprintf(
		"invalid JSON %s: the body is not valid UTF-8", s.at(pos))}
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func (s *Scanner) prefix(idx int) string {
	if s.format == NDJSON {
		return fmt.Sprintf("event at index %d (line %d): ", idx, s.line)
	}
	return fmt.Sprintf("event at index %d: ", idx)
}

// at locates pos: within its line for NDJSON, within the body (and its line, if it has
// several) for JSON.
func (s *Scanner) at(pos int) string {
	if s.format == NDJSON {
		return fmt.Sprintf("at byte %d of the line", pos-s.lineStart)
	}
	if bytes.IndexByte(s.body, '\n') < 0 {
		return fmt.Sprintf("at byte %d", pos)
	}
	return fmt.Sprintf("at byte %d (line %d)", pos, 1+bytes.Count(s.body[:pos], newline))
}

// found describes the byte at pos for a syntax error.
func (s *Scanner) found(pos int) string {
	end, what := len(s.body), "the end of the body"
	if s.format == NDJSON {
		what = "the end of the line"
		if n := bytes.IndexByte(s.body[s.lineStart:], '\n'); n >= 0 {
			end = s.lineStart + n
		}
	}
	if pos >= end {
		return what
	}
	c := s.body[pos]
	switch {
	case c >= utf8.RuneSelf:
		r, _ := utf8.DecodeRune(s.body[pos:])
		return strconv.QuoteRune(r)
	case c < ' ' || c == 0x7f:
		return fmt.Sprintf("the control byte 0x%02x", c)
	}
	return strconv.QuoteRune(rune(c))
}

// quote repeats the raw JSON text of v, cut at a character boundary after quoteMax bytes.
func (s *Scanner) quote(v Span) string {
	raw := s.body[v.Start:v.End]
	if len(raw) <= quoteMax {
		return string(raw)
	}
	n := quoteMax
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return string(raw[:n]) + "..."
}
