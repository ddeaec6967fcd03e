package s3

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

// token is a placeholder of the key template.
type token uint8

const (
	literal token = iota
	tokStream
	tokStreamID
	tokDate
	tokHour
	tokMinute
	tokUUID
)

var tokenNames = map[string]token{
	"stream": tokStream, "stream_id": tokStreamID, "date": tokDate,
	"hour": tokHour, "minute": tokMinute, "uuid": tokUUID,
}

// segment is a run of literal text or one token.
type segment struct {
	tok  token
	text string
}

// keyTemplate is a parsed key option.
type keyTemplate struct {
	segs []segment
	// period is the partition length in seconds, set by the finest time token: a minute, an
	// hour or a day; 0 when the key has no time token, so a batch is never split.
	period int64
}

// parseKey parses a key template: literal text with {token}s.
func parseKey(s string) (*keyTemplate, error) {
	if s == "" {
		return nil, errors.New("is empty")
	}
	if s[0] == '/' {
		return nil, errors.New("must not start with '/': S3 keys have no root")
	}
	t := &keyTemplate{}
	uuid := false
	for s != "" {
		open := strings.IndexAny(s, "{}")
		if open < 0 {
			t.segs = append(t.segs, segment{text: s})
			break
		}
		if s[open] == '}' {
			return nil, errors.New("has a '}' without its '{'")
		}
		if open > 0 {
			t.segs = append(t.segs, segment{text: s[:open]})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, errors.New("has a '{' without its '}'")
		}
		name := s[open+1 : open+end]
		tok, ok := tokenNames[name]
		if !ok {
			return nil, fmt.Errorf("has an unknown token {%s}; known are {stream} {stream_id} {date} {hour} {minute} {uuid}", name)
		}
		switch tok {
		case tokUUID:
			uuid = true
		case tokDate:
			t.finer(86400)
		case tokHour:
			t.finer(3600)
		case tokMinute:
			t.finer(60)
		}
		t.segs = append(t.segs, segment{tok: tok})
		s = s[open+end+1:]
	}
	if !uuid {
		return nil, errors.New("needs {uuid}, so that two objects never get the same key")
	}
	return t, nil
}

// finer makes the partition period the given one when that is shorter.
func (t *keyTemplate) finer(period int64) {
	if t.period == 0 || period < t.period {
		t.period = period
	}
}

// expand appends the key of an object holding b's events of the partition starting at start
// (Unix seconds) to dst.
func (t *keyTemplate) expand(dst []byte, b *sinks.Batch, start int64) []byte {
	at := time.Unix(start, 0).UTC()
	for _, sg := range t.segs {
		switch sg.tok {
		case literal:
			dst = append(dst, sg.text...)
		case tokStream:
			dst = append(dst, b.Stream...)
		case tokStreamID:
			dst = append(dst, b.StreamID...)
		case tokDate:
			y, m, d := at.Date()
			dst = appendInt(dst, y, 4)
			dst = append(dst, '-')
			dst = appendInt(dst, int(m), 2)
			dst = append(dst, '-')
			dst = appendInt(dst, d, 2)
		case tokHour:
			dst = appendInt(dst, at.Hour(), 2)
		case tokMinute:
			dst = appendInt(dst, at.Minute(), 2)
		case tokUUID:
			dst = appendUUID(dst)
		}
	}
	return dst
}

// appendInt appends n, zero-padded to width digits.
func appendInt(dst []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n > 0 || width > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(dst, buf[i:]...)
}

// appendUUID appends a random (version 4) UUID.
func appendUUID(dst []byte) []byte {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0x0f])
	}
	return dst
}

// line is one event of a batch: Data[start:end], newline included, in the partition that
// begins at part (Unix seconds).
type line struct {
	start, end int
	part       int64
}

var (
	receivedAtPath = fieldpath.MustParse("received_at")
	timestampPath  = fieldpath.MustParse("timestamp")
)

// partitioner places events in partitions by their time, read straight from the event bytes.
type partitioner struct {
	fields *fieldpath.Set // the time field, then received_at as its fallback
	period int64
}

func newPartitioner(timeField string, period int64) *partitioner {
	paths := []*fieldpath.Path{receivedAtPath}
	if timeField == TimeTimestamp {
		paths = []*fieldpath.Path{timestampPath, receivedAtPath}
	}
	return &partitioner{fields: fieldpath.NewSet(paths...), period: period}
}

// split appends the lines of data to dst with their partitions, and reports whether they are
// all in one. An event without a usable time (its time field missing or not RFC 3339) falls
// back to its received_at, and then to fallback, the batch's receive time in Unix seconds.
func (p *partitioner) split(dst []line, data []byte, fallback int64) ([]line, bool) {
	var vals [2]fieldpath.Value
	one := true
	for start := 0; start < len(data); {
		end := start
		for end < len(data) && data[end] != '\n' {
			end++
		}
		obj := data[start:end]
		if end < len(data) {
			end++ // keep the newline with its line
		}
		var part int64
		if p.period > 0 {
			sec, ok := int64(0), false
			if len(obj) > 0 {
				p.fields.Lookup(obj, vals[:p.fields.Len()])
				for _, v := range vals[:p.fields.Len()] {
					if sec, ok = parseTime(v); ok {
						break
					}
				}
			}
			if !ok {
				sec = fallback
			}
			part = sec - floorMod(sec, p.period)
		}
		if len(dst) > 0 && dst[0].part != part {
			one = false
		}
		dst = append(dst, line{start: start, end: end, part: part})
		start = end
	}
	return dst, one
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// parseTime reads an RFC 3339 string value as Unix seconds, the way time.Parse would but
// without allocating: YYYY-MM-DD, 'T' (or 't' or a space), hh:mm:ss, an optional fraction, and
// 'Z' or a ±hh:mm offset.
func parseTime(v fieldpath.Value) (int64, bool) {
	if v.Kind != fieldpath.String || len(v.Raw) < 2 {
		return 0, false
	}
	s := v.Raw[1 : len(v.Raw)-1] // escapes never occur in a valid time, so the raw text is it
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range s[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return 0, false
	}
	rest := s[19:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	var offset int
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, om := num(len(s)-5, 2), num(len(s)-2, 2)
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return 0, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).Unix() - int64(offset), true
}
