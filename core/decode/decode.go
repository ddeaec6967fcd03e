// Package decode turns an ingest request body into validated, indexed events in one pass
// (SPEC §1), and undoes its Content-Encoding.
//
// Scanner checks the JSON grammar, the event rules and the limits while it records, for each
// event, the byte spans that later stages need, so no stage searches the body again and the
// success path allocates nothing once a Scanner has warmed up. UTF-8 is checked up front over
// the whole body with a SIMD validator, which leaves the hand-written scanner to deal with ASCII
// structure only.
package decode

import (
	"bytes"
	"math"

	"github.com/bytedance/sonic/utf8"

	"github.com/ingestd/ingestd/core/apierr"
)

// Format is the framing of the events in a body.
type Format uint8

// The body formats of SPEC §1.
const (
	JSON   Format = iota + 1 // application/json: one object or an array of objects
	NDJSON                   // application/x-ndjson: one object per line
)

// Span is the half-open byte range [Start, End) of the body; the zero Span means absent.
type Span struct{ Start, End int32 }

// Empty reports whether s covers no bytes, which is how an absent field is recorded.
func (s Span) Empty() bool { return s.End <= s.Start }

// Event is one validated event. Its spans are offsets into the body given to Scan and stay
// meaningful only as long as that body is kept unchanged.
type Event struct {
	Object    Span  // the event's whole object, '{' through '}'
	Source    Span  // the "source" value, quotes included
	Event     Span  // the "event" object
	Metadata  Span  // the "metadata" object; empty if absent
	Timestamp Span  // the "timestamp" value, quotes included; empty if absent
	Time      int64 // Timestamp parsed, Unix nanoseconds UTC; 0 when absent
	// Cut holds the members named "stream_id", "received_at" and "event_id" sent by the
	// client, in the order they appear (ingestd sets these itself). Each span covers the member plus exactly
	// one adjacent comma, chosen so that deleting both spans from Object leaves valid JSON
	// (an accepted event always has other members). Unused entries are zero.
	Cut [3]Span
	// Newlines reports that Object contains '\n' or '\r'. They can only be insignificant
	// whitespace, because JSON strings cannot hold raw control characters.
	Newlines bool
	// Spaces reports that Object holds whitespace outside its strings, so it is not compact.
	Spaces bool
	Line   int32 // 1-based line of the body where the event starts
	// Dup reports that an object on the way to a field of the Scanner's Fields names that
	// field's member twice; Found then holds one of them.
	Dup bool
}

// Limits bounds one request. A zero or negative field means the SPEC §1 default.
type Limits struct {
	MaxEvents int // events per request; default 10000
	MaxDepth  int // nesting levels, the event object being level 1; default 64
}

const (
	defaultMaxEvents = 10000
	defaultMaxDepth  = 64
)

// Scanner validates and indexes request bodies. It is reusable and keeps the backing arrays of
// Events and of its scratch space between calls; it is not safe for concurrent use.
type Scanner struct {
	// Events holds the events of the last successful Scan, in body order. After a failed Scan
	// it holds the events scanned before the failure.
	Events []Event

	// Fields, set by the caller before Scan, are the paths Scan finds in each event (see
	// Found); nil finds nothing and costs nothing.
	Fields *Fields

	body      []byte
	format    Format
	maxEvents int
	maxDepth  int

	line      int32 // NDJSON: the current line number; JSON: 1
	lineStart int   // NDJSON: offset of the current line in body
	nl        bool  // whitespace skipped since the current event began held '\n' or '\r'
	sp        bool  // whitespace was skipped since the current event began
	anyNL     bool  // some whitespace skipped before the current event held '\n' or '\r'

	// Per-event field bookkeeping: the known fields already seen, and the first field problem
	// found, which is reported only if the rest of the event is well-formed JSON.
	seen      uint8
	pend      pending
	pendField field
	pendVal   Span
	pendWhy   tsErr

	// The first structural error: what was expected and where.
	ek    errKind
	ePos  int
	eNext int // JSON array bodies: index of the event before the failing separator

	scratch []byte // unescaped timestamps and keys that contain escapes

	// Field finding: the slots of every event so far, nSlots per event (0 when not finding),
	// the current event's part of them, and whether the current event has a Dup.
	spans  []Span
	nSlots int
	cur    []Span
	dup    bool
}

// Scan validates body as f and indexes its events into s.Events. It returns nil or an
// *apierr.Error whose detail names the failing event by 0-based index (and line, for NDJSON)
// and says what was expected. Byte positions in details are 0-based: within the line for
// NDJSON, within the body for JSON. The whole body is rejected at the first invalid event.
func (s *Scanner) Scan(body []byte, f Format, lim Limits) error {
	s.Events = s.Events[:0]
	s.spans, s.nSlots = s.spans[:0], 0
	if s.Fields != nil {
		s.nSlots = s.Fields.Len()
	}
	s.body = body
	s.format = f
	s.maxEvents = lim.MaxEvents
	if s.maxEvents <= 0 {
		s.maxEvents = defaultMaxEvents
	}
	s.maxDepth = lim.MaxDepth
	if s.maxDepth <= 0 {
		s.maxDepth = defaultMaxDepth
	}
	s.line, s.lineStart = 1, 0
	s.nl, s.anyNL = false, false
	s.ek = ekNone

	if len(body) > math.MaxInt32 {
		return &apierr.Error{Code: apierr.PayloadTooLarge, Detail: "the body is larger than 2 GiB"}
	}
	if f != JSON && f != NDJSON {
		return &apierr.Error{Code: apierr.UnsupportedMediaType, Detail: "the body format must be application/json or application/x-ndjson"}
	}
	if !utf8.Validate(body) {
		return s.utf8Error()
	}
	if f == NDJSON {
		return s.scanNDJSON(body)
	}
	return s.scanJSON(body)
}

func (s *Scanner) scanJSON(b []byte) error {
	i := s.ws(b, 0)
	if i == len(b) {
		return &apierr.Error{Code: apierr.InvalidJSON, Detail: "the request body is empty"}
	}
	switch b[i] {
	case '{':
		i = s.one(b, i)
	case '[':
		i = s.array(b, i)
	default:
		i = s.fail(ekTop, i)
	}
	if i < 0 {
		return s.err()
	}
	if i = s.ws(b, i); i != len(b) {
		s.fail(ekTrailing, i)
		return s.err()
	}
	if s.anyNL || s.nl {
		s.countLines()
	}
	return nil
}

// array scans a JSON body that is an array of event objects; the array adds no nesting level.
// It returns the offset after ']' or -1.
func (s *Scanner) array(b []byte, i int) int {
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '{' {
			return s.fail(ekNotObject, i)
		}
		if i = s.one(b, i); i < 0 {
			return -1
		}
		if i = s.ws(b, i); i >= len(b) {
			return s.fail(ekElemEnd, i)
		}
		switch b[i] {
		case ',':
			i = s.ws(b, i+1)
		case ']':
			return i + 1
		default:
			return s.fail(ekElemEnd, i)
		}
	}
}

// countLines fills Event.Line for a JSON body that spans several lines.
func (s *Scanner) countLines() {
	line, prev := int32(1), 0
	for k := range s.Events {
		start := int(s.Events[k].Object.Start)
		line += int32(bytes.Count(s.body[prev:start], newline))
		prev = start
		s.Events[k].Line = line
	}
}

var newline = []byte{'\n'}

func (s *Scanner) scanNDJSON(body []byte) error {
	for start, line := 0, int32(1); start < len(body); line++ {
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		// Limiting the slice to the line lets the scanner treat the line end as the body end.
		b := body[:end]
		s.line, s.lineStart = line, start
		if i := s.ws(b, start); i < end {
			if b[i] != '{' {
				s.fail(ekNotObject, i)
				return s.err()
			}
			if i = s.one(b, i); i < 0 {
				return s.err()
			}
			if i = s.ws(b, i); i != end {
				s.fail(ekLineTrailing, i)
				return s.err()
			}
		}
		start = end + 1
	}
	return nil
}

// one scans the event object at b[i] == '{' and appends it to s.Events. It returns the offset
// after '}' or -1, leaving the failing event, if any, last in s.Events.
func (s *Scanner) one(b []byte, i int) int {
	if len(s.Events) >= s.maxEvents {
		return s.fail(ekTooMany, i)
	}
	s.Events = append(s.Events, Event{Line: s.line})
	ev := &s.Events[len(s.Events)-1]
	s.anyNL = s.anyNL || s.nl
	s.nl, s.sp, s.dup = false, false, false
	s.seen = 0
	s.pend = pendNone
	var end int
	if s.nSlots > 0 {
		base := len(s.spans)
		s.spans = append(s.spans, make([]Span, s.nSlots)...)
		s.cur = s.spans[base:]
		end = s.eventFields(b, i, ev)
	} else {
		end = s.event(b, i, ev)
	}
	if end < 0 {
		return -1
	}
	ev.Object = Span{int32(i), int32(end)}
	ev.Newlines, ev.Spaces, ev.Dup = s.nl, s.sp, s.dup
	switch {
	case s.pend != pendNone:
		s.ek = ekField
	case ev.Source.Empty():
		s.ek = ekNoSource
	case ev.Event.Empty():
		s.ek = ekNoEvent
	default:
		return end
	}
	s.ePos = i
	return -1
}

// field identifies the members that ingestd interprets.
type field uint8

const (
	fOther field = iota
	fSource
	fEvent
	fMetadata
	fTimestamp
	fStreamID
	fReceivedAt
	fEventID
)

var fieldNames = [...]string{
	fSource:     "source",
	fEvent:      "event",
	fMetadata:   "metadata",
	fTimestamp:  "timestamp",
	fStreamID:   "stream_id",
	fReceivedAt: "received_at",
	fEventID:    "event_id",
}

func fieldOf(k []byte) field {
	switch len(k) {
	case 5:
		if string(k) == "event" {
			return fEvent
		}
	case 6:
		if string(k) == "source" {
			return fSource
		}
	case 8:
		switch string(k) {
		case "metadata":
			return fMetadata
		case "event_id":
			return fEventID
		}
	case 9:
		switch string(k) {
		case "timestamp":
			return fTimestamp
		case "stream_id":
			return fStreamID
		}
	case 11:
		if string(k) == "received_at" {
			return fReceivedAt
		}
	}
	return fOther
}

// fieldOfEscaped identifies a member name written with escapes, such as "sour\u0063e".
func fieldOfEscaped(raw []byte) field {
	// Each decoded byte takes at most 6 raw bytes, and no known name is longer than 11.
	if len(raw) > 6*11 {
		return fOther
	}
	var buf [6 * 11]byte
	return fieldOf(unescapeASCII(buf[:0], raw))
}

// pending is the kind of the first field problem of the current event.
type pending uint8

const (
	pendNone pending = iota
	pendDuplicate
	pendType
	pendTimestamp
)

// event scans the members of the event object at b[i] == '{' into ev and returns the offset
// after '}' or -1.
func (s *Scanner) event(b []byte, i int, ev *Event) int {
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	ncut := 0
	prevComma, commaTaken := -1, false
	for {
		if i >= len(b) || b[i] != '"' {
			return s.fail(ekKey, i)
		}
		keyStart := i
		end, esc := s.str(b, i)
		if end < 0 {
			return -1
		}
		key := b[keyStart+1 : end-1]
		f := fieldOf(key)
		if esc {
			f = fieldOfEscaped(key)
		}
		if i = s.ws(b, end); i >= len(b) || b[i] != ':' {
			return s.fail(ekColon, i)
		}
		vStart := s.ws(b, i+1)
		vEnd := s.value(b, vStart, 1)
		if vEnd < 0 {
			return -1
		}
		if f != fOther {
			s.member(ev, f, b, Span{int32(vStart), int32(vEnd)})
		}
		if i = s.ws(b, vEnd); i >= len(b) || (b[i] != ',' && b[i] != '}') {
			return s.fail(ekObjEnd, i)
		}
		took := false
		if isCut(f) && ncut < len(ev.Cut) {
			ev.Cut[ncut], took = cutSpan(b, keyStart, vEnd, i, prevComma, commaTaken)
			ncut++
		}
		if b[i] == '}' {
			return i + 1
		}
		prevComma, commaTaken = i, took
		i = s.ws(b, i+1)
	}
}

func isCut(f field) bool { return f == fStreamID || f == fReceivedAt || f == fEventID }

// cutSpan returns the Event.Cut span of the member b[key:vEnd], which b[next] (',' or '}')
// follows, and whether the span took that comma. It takes the comma before the member, at
// prevComma (-1 for none), unless the previous cut member took it, else the one after it.
// With neither, the object holds cut members only, will be rejected for a missing field, and
// the span is zero.
func cutSpan(b []byte, key, vEnd, next, prevComma int, commaTaken bool) (Span, bool) {
	switch {
	case prevComma >= 0 && !commaTaken:
		return Span{int32(prevComma), int32(vEnd)}, false
	case b[next] == ',':
		return Span{int32(key), int32(next + 1)}, true
	}
	return Span{}, false
}

// member records the value v of the known field f, or the event's first field problem.
func (s *Scanner) member(ev *Event, f field, b []byte, v Span) {
	bit := uint8(1) << f
	if s.seen&bit != 0 {
		s.pendOnce(pendDuplicate, f, v, tsOK)
		return
	}
	s.seen |= bit
	c := b[v.Start]
	switch f {
	case fSource:
		if c == '"' && v.End-v.Start > 2 {
			ev.Source = v
		} else {
			s.pendOnce(pendType, f, v, tsOK)
		}
	case fEvent, fMetadata:
		switch {
		case c != '{':
			s.pendOnce(pendType, f, v, tsOK)
		case f == fEvent:
			ev.Event = v
		default:
			ev.Metadata = v
		}
	case fTimestamp:
		if c != '"' {
			s.pendOnce(pendTimestamp, f, v, tsLayout)
			return
		}
		raw := b[v.Start+1 : v.End-1]
		if bytes.IndexByte(raw, '\\') >= 0 {
			s.scratch = unescapeASCII(s.scratch[:0], raw)
			raw = s.scratch
		}
		t, why := parseTime(raw)
		if why != tsOK {
			s.pendOnce(pendTimestamp, f, v, why)
			return
		}
		ev.Timestamp, ev.Time = v, t
	}
}

func (s *Scanner) pendOnce(p pending, f field, v Span, why tsErr) {
	if s.pend == pendNone {
		s.pend, s.pendField, s.pendVal, s.pendWhy = p, f, v, why
	}
}

// unescapeASCII appends the decoded JSON string contents raw to dst. It serves only to match
// ASCII names and timestamps, so a \u escape beyond ASCII becomes 0xFF, which matches nothing.
// raw must already be a valid string body.
func unescapeASCII(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r := hexVal(raw[i+1])<<12 | hexVal(raw[i+2])<<8 | hexVal(raw[i+3])<<4 | hexVal(raw[i+4])
			i += 4
			c = 0xFF
			if r < 0x80 {
				c = byte(r)
			}
		default: // '"', '\\', '/'
			c = raw[i]
		}
		dst = append(dst, c)
	}
	return dst
}

func hexVal(c byte) uint32 {
	switch {
	case c <= '9':
		return uint32(c - '0')
	case c >= 'a':
		return uint32(c - 'a' + 10)
	default:
		return uint32(c - 'A' + 10)
	}
}
