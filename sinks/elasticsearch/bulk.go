package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ingestd/ingestd/core/fieldpath"
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

var receivedAt = fieldpath.MustParse("received_at")

// eventDate appends the UTC day of an event's received_at as 2006.01.02, or fallback when the
// event has none in the RFC 3339 UTC form ingestd writes.
func eventDate(dst, event []byte, fallback string) []byte {
	v, ok := fieldpath.Lookup(event, receivedAt)
	r := v.Raw
	if !ok || v.Kind != fieldpath.String || len(r) < 13 || r[len(r)-2] != 'Z' || r[5] != '-' || r[8] != '-' || r[11] != 'T' {
		return append(dst, fallback...)
	}
	dst = append(dst, r[1:5]...)
	dst = append(dst, '.')
	dst = append(dst, r[6:8]...)
	dst = append(dst, '.')
	return append(dst, r[9:11]...)
}

// appendIndex appends the JSON-escaped index name of one event.
func (s *Sink) appendIndex(dst, event []byte, stream, streamID, fallbackDate string) []byte {
	for _, p := range s.index {
		switch p.kind {
		case partLiteral:
			dst = appendEscaped(dst, p.lit)
		case partStream:
			dst = appendEscaped(dst, stream)
		case partStreamID:
			dst = appendEscaped(dst, streamID)
		case partDate:
			dst = eventDate(dst, event, fallbackDate)
		}
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

// appendBulk appends the bulk request for the given lines of a batch: an action line naming
// the index (and _id) and then the event itself, per event. lines are indexes into events.
func (s *Sink) appendBulk(dst []byte, events [][]byte, lines []int, stream, streamID, fallbackDate string) []byte {
	for _, n := range lines {
		ev := events[n]
		dst = append(dst, `{"`...)
		dst = append(dst, s.action...)
		dst = append(dst, `":{"_index":"`...)
		dst = s.appendIndex(dst, ev, stream, streamID, fallbackDate)
		dst = append(dst, '"')
		if s.idField != nil {
			dst = appendID(dst, ev, s.idField)
		}
		dst = append(dst, "}}\n"...)
		dst = append(dst, ev...)
		dst = append(dst, '\n')
	}
	return dst
}

// appendID appends `,"_id":"..."` from a string or number field; other kinds get no _id, so
// the cluster picks one.
func appendID(dst, ev []byte, p *fieldpath.Path) []byte {
	v, ok := fieldpath.Lookup(ev, p)
	if !ok {
		return dst
	}
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
// printable line.
func reason(raw json.RawMessage) string {
	var obj struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	var txt string
	if json.Unmarshal(raw, &obj) == nil && (obj.Type != "" || obj.Reason != "") {
		txt = obj.Type
		if obj.Reason != "" {
			txt += ": " + obj.Reason
		}
	} else if json.Unmarshal(raw, &txt) != nil {
		txt = string(raw)
	}
	return clip(txt, reasonMax)
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
