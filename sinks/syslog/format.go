package syslog

import (
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// encoder turns one event line into one syslog message. It is immutable after newEncoder;
// per-message scratch lives in the caller's vals.
type encoder struct {
	rfc3164        bool
	nonTransparent bool // LF ends a message, so none may appear inside one
	facility       int
	severity       int
	host           []byte
	app            []byte
	set            *fieldpath.Set
	// Indexes into the set's values; -1 when the option is not set.
	facilityIdx, severityIdx, appIdx, msgIDIdx, messageIdx int
	timestampIdx, receivedIdx                              int
	sd                                                     []sdElement
}

type sdElement struct {
	id     string
	params []sdParam
}

type sdParam struct {
	name string
	idx  int
}

// newEncoder builds the encoder of valid options.
func newEncoder(o *Options) (*encoder, error) {
	e := &encoder{
		rfc3164:        o.Format == FormatRFC3164,
		nonTransparent: o.Transport != TransportUDP && o.Framing == FramingNonTransparent,
		app:            []byte(o.AppName),
	}
	e.facility, _ = code(facilities, nil, o.Facility)
	e.severity, _ = code(severities, severityAliases, o.Severity)
	host := o.Hostname
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		host = string(sanitize(nil, []byte(h), maxHostname))
	}
	e.host = []byte(host)

	var paths []*fieldpath.Path
	add := func(p string) int {
		if p == "" {
			return -1
		}
		paths = append(paths, fieldpath.MustParse(p)) // Validate has parsed it
		return len(paths) - 1
	}
	e.timestampIdx = add("timestamp")
	e.receivedIdx = add("received_at")
	e.facilityIdx = add(o.FacilityField)
	e.severityIdx = add(o.SeverityField)
	e.appIdx = add(o.AppNameField)
	e.msgIDIdx = add(o.MsgIDField)
	e.messageIdx = add(o.MessageField)
	for _, id := range sortedKeys(o.StructuredData) {
		el := sdElement{id: id}
		for _, name := range sortedKeys(o.StructuredData[id]) {
			el.params = append(el.params, sdParam{name: name, idx: add(o.StructuredData[id][name])})
		}
		e.sd = append(e.sd, el)
	}
	e.set = fieldpath.NewSet(paths...)
	return e, nil
}

// appendMessage appends the message of one event line, without framing. vals must hold
// e.set.Len() values; they are overwritten.
func (e *encoder) appendMessage(dst, line []byte, vals []fieldpath.Value) []byte {
	e.set.Lookup(line, vals)
	facility, severity := e.facility, e.severity
	if e.facilityIdx >= 0 {
		if n, ok := codeOf(facilities, nil, vals[e.facilityIdx]); ok {
			facility = n
		}
	}
	if e.severityIdx >= 0 {
		if n, ok := codeOf(severities, severityAliases, vals[e.severityIdx]); ok {
			severity = n
		}
	}
	start := len(dst)
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(facility*8+severity), 10)
	dst = append(dst, '>')

	t, ok := eventTime(vals[e.timestampIdx])
	if !ok {
		t, ok = eventTime(vals[e.receivedIdx])
	}
	if e.rfc3164 {
		if !ok {
			t = time.Now() // RFC 3164 has no NILVALUE
		}
		dst = t.UTC().AppendFormat(dst, time.Stamp)
	} else {
		dst = append(dst, '1', ' ')
		if ok {
			dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.999999Z07:00")
		} else {
			dst = append(dst, '-')
		}
	}
	dst = append(dst, ' ')
	dst = append(dst, e.host...)
	dst = append(dst, ' ')

	if e.rfc3164 {
		dst = e.appendName(dst, vals, e.appIdx, e.app, maxTag3164)
		dst = append(dst, ':', ' ')
		return e.appendMsg(dst, start, line, vals)
	}
	dst = e.appendName(dst, vals, e.appIdx, e.app, maxAppName)
	dst = append(dst, ' ', '-', ' ') // PROCID: the sender's process means nothing to the reader
	dst = e.appendName(dst, vals, e.msgIDIdx, nilValue, maxMsgID)
	dst = append(dst, ' ')
	dst = e.appendSD(dst, vals)
	dst = append(dst, ' ')
	return e.appendMsg(dst, start, line, vals)
}

var nilValue = []byte("-")

// appendName appends the header field of vals[idx], made printable ASCII without spaces and cut
// to limit bytes, or def when the field is absent or empty.
func (e *encoder) appendName(dst []byte, vals []fieldpath.Value, idx int, def []byte, limit int) []byte {
	if idx >= 0 && vals[idx].Kind != 0 && vals[idx].Kind != fieldpath.Null {
		n := len(dst)
		dst = appendText(dst, vals[idx])
		if len(dst) > n {
			return sanitize(dst[:n], dst[n:], limit)
		}
	}
	return append(dst, def...)
}

// appendSD appends the STRUCTURED-DATA: one element per SD-ID with at least one param present,
// or the NILVALUE.
func (e *encoder) appendSD(dst []byte, vals []fieldpath.Value) []byte {
	n := len(dst)
	for _, el := range e.sd {
		opened := false
		for _, p := range el.params {
			v := vals[p.idx]
			if v.Kind == 0 {
				continue
			}
			if !opened {
				dst = append(dst, '[')
				dst = append(dst, el.id...)
				opened = true
			}
			dst = append(dst, ' ')
			dst = append(dst, p.name...)
			dst = append(dst, '=', '"')
			m := len(dst)
			dst = appendText(dst, v)
			dst = escapeSD(dst, m)
			dst = append(dst, '"')
		}
		if opened {
			dst = append(dst, ']')
		}
	}
	if len(dst) == n {
		dst = append(dst, '-')
	}
	return dst
}

// appendMsg appends the MSG: the message field's text, or the event line when it is absent.
func (e *encoder) appendMsg(dst []byte, start int, line []byte, vals []fieldpath.Value) []byte {
	if e.messageIdx >= 0 && vals[e.messageIdx].Kind != 0 {
		dst = appendText(dst, vals[e.messageIdx])
	} else {
		dst = append(dst, line...)
	}
	if e.nonTransparent {
		for i := start; i < len(dst); i++ {
			if dst[i] == '\n' {
				dst[i] = ' '
			}
		}
	}
	return dst
}

// appendText appends a value's text: a string's unescaped content, any other value's JSON.
func appendText(dst []byte, v fieldpath.Value) []byte {
	if v.Kind == fieldpath.String {
		return v.Str(dst)
	}
	return append(dst, v.Raw...)
}

// escapeSD backslash-escapes '"', '\\' and ']' in dst[from:] (RFC 5424 6.3.3).
func escapeSD(dst []byte, from int) []byte {
	extra := 0
	for _, c := range dst[from:] {
		if c == '"' || c == '\\' || c == ']' {
			extra++
		}
	}
	if extra == 0 {
		return dst
	}
	n := len(dst)
	dst = slices.Grow(dst, extra)[:n+extra]
	// Move from the end so that every byte is read before it is overwritten.
	w := len(dst)
	for r := n - 1; r >= from; r-- {
		c := dst[r]
		w--
		dst[w] = c
		if c == '"' || c == '\\' || c == ']' {
			w--
			dst[w] = '\\'
		}
	}
	return dst
}

// sanitize appends s with every byte outside printable ASCII (and space) replaced by '_', cut to
// limit bytes. s may be dst's own tail.
func sanitize(dst, s []byte, limit int) []byte {
	if len(s) > limit {
		s = s[:limit]
	}
	for _, c := range s {
		if c <= ' ' || c > '~' {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// codeOf reads a facility or severity from a field: a name in any letter case, or its number.
func codeOf(names []string, aliases map[string]int, v fieldpath.Value) (int, bool) {
	var buf [16]byte
	var s []byte
	switch v.Kind {
	case fieldpath.Number:
		s = v.Raw
	case fieldpath.String:
		if len(v.Raw) > len(buf)+2 {
			return 0, false
		}
		s = v.Str(buf[:0])
	default:
		return 0, false
	}
	if len(s) == 0 || len(s) > len(buf) {
		return 0, false
	}
	if s[0] >= '0' && s[0] <= '9' {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' || n >= len(names) {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, n < len(names)
	}
	lower := buf[:len(s)]
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	for i, name := range names {
		if name == string(lower) {
			return i, true
		}
	}
	n, ok := aliases[string(lower)]
	return n, ok
}

// eventTime parses a string value holding an RFC 3339 time, without allocating (time.Parse
// allocates a zone for a numeric offset).
func eventTime(v fieldpath.Value) (time.Time, bool) {
	if v.Kind != fieldpath.String || len(v.Raw) < 2 {
		return time.Time{}, false
	}
	b := v.Raw[1 : len(v.Raw)-1] // RFC 3339 text needs no JSON escapes
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10]|0x20 != 't' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		x := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			x = x*10 + int(c-'0')
		}
		return x
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 60 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if b[i] == '.' {
		i++
		scale := int(time.Second)
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			scale /= 10
			nsec += int(b[i]-'0') * scale
		}
		if i == 20 {
			return time.Time{}, false
		}
	}
	offset := 0
	switch {
	case i == len(b)-1 && b[i]|0x20 == 'z':
	case i == len(b)-6 && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		oh, om := num(i+1, 2), num(i+4, 2)
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}
