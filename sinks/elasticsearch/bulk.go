package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

// Placeholders of the index template.
const (
	partLiteral = iota
	partStream
	partStreamID
	partDate
)

type part struct {
	kind int
	lit  string
}

// parseIndex compiles an index template into literal and placeholder parts.
func parseIndex(s string) ([]part, error) {
	if s == "" {
		return nil, fmt.Errorf("is required, such as %q", DefaultIndex)
	}
	var parts []part
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, part{kind: partLiteral, lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, part{kind: partLiteral, lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("has an unclosed { in %q", s)
		}
		switch name := s[i+1 : i+j]; name {
		case "stream":
			parts = append(parts, part{kind: partStream})
		case "stream_id":
			parts = append(parts, part{kind: partStreamID})
		case "date":
			parts = append(parts, part{kind: partDate})
		default:
			return nil, fmt.Errorf("has unknown placeholder {%s}: use {stream}, {stream_id} or {date}", name)
		}
		s = s[i+j+1:]
	}
	return parts, nil
}

// The members the sink may read from each event.
var (
	receivedAtPath = fieldpath.MustParse("received_at")
	timestampPath  = fieldpath.MustParse("timestamp")
	stampPath      = fieldpath.MustParse("@timestamp")
)

// lookups are the members one sink reads from each event, found in one pass over it as a
// fieldpath.Set: every lookup reads the whole event, so one pass for all beats one per member.
type lookups struct {
	set *fieldpath.Set // nil when the sink reads none
	// Each member's index in the set's values, or -1 when the sink does not read it.
	date, timestamp, stamp, id int
}

func newLookups(date, dataStream bool, id *fieldpath.Path) lookups {
	var paths []*fieldpath.Path
	slot := func(on bool, p *fieldpath.Path) int {
		if !on {
			return -1
		}
		paths = append(paths, p)
		return len(paths) - 1
	}
	l := lookups{
		date:      slot(date, receivedAtPath),
		timestamp: slot(dataStream, timestampPath),
		stamp:     slot(dataStream, stampPath),
		id:        slot(id != nil, id),
	}
	if len(paths) > 0 {
		l.set = fieldpath.NewSet(paths...)
	}
	return l
}

// find fills vals (grown as needed) with the members of ev and returns it.
func (l *lookups) find(ev []byte, vals []fieldpath.Value) []fieldpath.Value {
	if l.set == nil {
		return vals
	}
	if len(vals) < l.set.Len() {
		vals = make([]fieldpath.Value, l.set.Len())
	}
	l.set.Lookup(ev, vals)
	return vals
}

// value returns the member at slot i of vals, or the zero Value for an unused slot.
func value(vals []fieldpath.Value, i int) fieldpath.Value {
	if i < 0 {
		return fieldpath.Value{}
	}
	return vals[i]
}

// eventDate appends the UTC day of an event's received_at v as 2006.01.02, or fallback when
// the event has none in the RFC 3339 UTC form ingestd writes.
func eventDate(dst []byte, v fieldpath.Value, fallback string) []byte {
	r := v.Raw
	if v.Kind != fieldpath.String || len(r) < 13 || r[len(r)-2] != 'Z' || r[5] != '-' || r[8] != '-' || r[11] != 'T' {
		return append(dst, fallback...)
	}
	dst = append(dst, r[1:5]...)
	dst = append(dst, '.')
	dst = append(dst, r[6:8]...)
	dst = append(dst, '.')
	return append(dst, r[9:11]...)
}

// appendIndex appends the JSON-escaped index name of one event. In a data stream name the
// stream's key and id are made fit for one instead (see appendDSPart).
func (s *Sink) appendIndex(dst []byte, receivedAt fieldpath.Value, stream, streamID, fallbackDate string) []byte {
	for _, p := range s.index {
		switch p.kind {
		case partLiteral:
			dst = appendEscaped(dst, p.lit)
		case partStream:
			dst = s.appendValue(dst, stream)
		case partStreamID:
			dst = s.appendValue(dst, streamID)
		case partDate:
			dst = eventDate(dst, receivedAt, fallbackDate)
		}
	}
	return dst
}

func (s *Sink) appendValue(dst []byte, v string) []byte {
	if s.dsName {
		return appendDSPart(dst, v)
	}
	return appendEscaped(dst, v)
}

// appendDSPart appends v as a part of a data stream name: ASCII letters in lower case and '_'
// for '-', control characters and the characters index names refuse, so that a stream key
// such as "Payments-App" lands in logs-payments_app-default rather than being refused or
// read as a different dataset and namespace. The result needs no JSON escaping: '"' and '\'
// are among the replaced.
func appendDSPart(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c < ' ' || c == 0x7f || strings.IndexByte(dsRefused, c) >= 0:
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendEscaped appends s's content as JSON string text (without quotes).
func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < ' ':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendBulk appends to w.raw the bulk request for the given lines of w.events: an action line
// naming the index (and _id) and then the event itself, per event. For data streams each event
// gets "@timestamp", with b's receive time for one that has no usable timestamp.
func (s *Sink) appendBulk(w *work, lines []int, b *sinks.Batch, fallbackDate string) {
	dst, look := w.raw, &s.lookups
	for _, n := range lines {
		ev := w.events[n]
		w.vals = look.find(ev, w.vals)
		dst = append(dst, `{"`...)
		dst = append(dst, s.action...)
		dst = append(dst, `":{"_index":"`...)
		dst = s.appendIndex(dst, value(w.vals, look.date), b.Stream, b.StreamID, fallbackDate)
		dst = append(dst, '"')
		if look.id >= 0 {
			dst = appendID(dst, w.vals[look.id])
		}
		dst = append(dst, "}}\n"...)
		if s.dsName {
			dst = appendStamped(dst, ev, w.vals[look.timestamp], w.vals[look.stamp], b.ReceivedAt)
		} else {
			dst = append(dst, ev...)
		}
		dst = append(dst, '\n')
	}
	w.raw = dst
}

// appendStamped appends ev with "@timestamp" added as its last member, holding the event's
// timestamp ts (see appendTime), which data streams require. An event with an @timestamp of its
// own (own) keeps it, as a second member of that name would be refused as a duplicate. A line
// that is not an object is appended as it is, for the cluster to refuse.
func appendStamped(dst, ev []byte, ts, own fieldpath.Value, fallback int64) []byte {
	end := len(ev)
	for end > 0 && isSpace(ev[end-1]) {
		end--
	}
	if own.Kind != 0 || end == 0 || ev[end-1] != '}' {
		return append(dst, ev...)
	}
	dst = append(dst, ev[:end-1]...)
	last := end - 2
	for last >= 0 && isSpace(ev[last]) {
		last--
	}
	if last >= 0 && ev[last] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, `"@timestamp":"`...)
	var raw []byte
	if ts.Kind == fieldpath.String {
		raw = ts.Raw[1 : len(ts.Raw)-1]
	}
	dst = appendTime(dst, raw, fallback)
	return append(dst, '"', '}')
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendTime appends t, an RFC 3339 date-time as ingestd accepts it, in the form
// Elasticsearch's default date format (strict_date_optional_time) reads: upper-case T and Z,
// at most nine fractional digits, and a leap second as the last nanosecond of its minute, as
// ingestd itself stores one. Anything else gives fallback (Unix nanoseconds) instead.
func appendTime(dst, t []byte, fallback int64) []byte {
	zone, ok := rfc3339(t)
	if !ok {
		return time.Unix(0, fallback).UTC().AppendFormat(dst, time.RFC3339Nano)
	}
	dst = append(dst, t[:10]...)
	dst = append(dst, 'T')
	if t[17] == '6' { // second 60
		dst = append(dst, t[11:17]...)
		dst = append(dst, "59.999999999"...)
	} else {
		dst = append(dst, t[11:min(zone, len("2006-01-02T15:04:05.999999999"))]...)
	}
	if zone == len(t)-1 {
		return append(dst, 'Z')
	}
	return append(dst, t[zone:]...)
}

// rfc3339 checks the layout YYYY-MM-DD(T|t)hh:mm:ss[.frac](Z|z|±hh:mm) and returns where the
// zone begins. Ranges were checked when the event was ingested;
// the layout is checked again because the line may come from elsewhere (a dead-letter replay).
func rfc3339(t []byte) (zone int, ok bool) {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(t) < len(layout)+1 {
		return 0, false
	}
	for i := 0; i < len(layout); i++ {
		c := t[i]
		switch layout[i] {
		case 'd':
			ok = '0' <= c && c <= '9'
		case 'T':
			ok = c|0x20 == 't'
		default:
			ok = c == layout[i]
		}
		if !ok {
			return 0, false
		}
	}
	i := len(layout)
	if t[i] == '.' {
		i++
		for i < len(t) && '0' <= t[i] && t[i] <= '9' {
			i++
		}
		if i == len(layout)+1 {
			return 0, false
		}
	}
	switch rest := t[i:]; {
	case len(rest) == 1 && rest[0]|0x20 == 'z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && digits(rest[1:3]) && rest[3] == ':' && digits(rest[4:6]):
	default:
		return 0, false
	}
	return i, true
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendID appends `,"_id":"..."` from the id field's value v, a string or number; other kinds,
// and a missing field, get no _id, so the cluster picks one.
func appendID(dst []byte, v fieldpath.Value) []byte {
	switch v.Kind {
	case fieldpath.String:
		if len(v.Raw) <= 2 {
			return dst // an empty _id is refused; let the cluster pick one
		}
		dst = append(dst, `,"_id":`...)
		return append(dst, v.Raw...) // already a valid JSON string
	case fieldpath.Number:
		dst = append(dst, `,"_id":"`...)
		dst = append(dst, v.Raw...)
		return append(dst, '"')
	}
	return dst
}

// splitLines fills dst with the batch's lines, without their '\n'.
func splitLines(dst [][]byte, data []byte) [][]byte {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return append(dst, data)
		}
		if i > 0 {
			dst = append(dst, data[:i])
		}
		data = data[i+1:]
	}
	return dst
}

// bulkAnswer holds the parts of a bulk response the sink reads.
type bulkAnswer struct {
	Errors bool       `json:"errors"`
	Items  []bulkItem `json:"items"`
}

// bulkItem is one item's result, under the key of its action.
type bulkItem struct {
	Index  *itemResult `json:"index"`
	Create *itemResult `json:"create"`
}

type itemResult struct {
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

func (it *bulkItem) result() *itemResult {
	if it.Index != nil {
		return it.Index
	}
	return it.Create
}

// parseAnswer reads a 2xx bulk response. It decodes the items only when errors is true.
func parseAnswer(body []byte, a *bulkAnswer) error {
	var head struct {
		Errors *bool `json:"errors"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fmt.Errorf("unreadable bulk response: %w", err)
	}
	if head.Errors == nil {
		return fmt.Errorf("bulk response has no \"errors\" field")
	}
	a.Errors, a.Items = *head.Errors, a.Items[:0]
	if !a.Errors {
		return nil
	}
	if err := json.Unmarshal(body, a); err != nil {
		return fmt.Errorf("unreadable bulk response: %w", err)
	}
	return nil
}

// reasonMax bounds each refused item's reason in an error.
const reasonMax = 200

// reason renders an item's error object ({"type","reason"}, or a plain string) as one short
// printable line. The cause's type and reason follow, as "failed to parse" alone says little.
func reason(raw json.RawMessage) string {
	type cause struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	var obj struct {
		cause
		CausedBy *cause `json:"caused_by"`
	}
	var txt string
	if json.Unmarshal(raw, &obj) == nil && (obj.Type != "" || obj.Reason != "") {
		txt = joinReason(obj.Type, obj.Reason)
		if c := obj.CausedBy; c != nil && (c.Type != "" || c.Reason != "") && !strings.Contains(obj.Reason, c.Reason) {
			txt += " (caused by " + joinReason(c.Type, c.Reason) + ")"
		}
	} else if json.Unmarshal(raw, &txt) != nil {
		txt = string(raw)
	}
	return clip(txt, reasonMax)
}

func joinReason(typ, why string) string {
	if why == "" {
		return typ
	}
	return typ + ": " + why
}

// clip cuts s to at most n bytes on a character boundary and blanks control characters.
func clip(s string, n int) string {
	cut := len(s) > n
	if cut {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if cut {
		s += "..."
	}
	return s
}

// dayOf formats the UTC day of a Unix-nanosecond time as 2006.01.02.
func dayOf(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006.01.02")
}
