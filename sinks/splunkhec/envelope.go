package splunkhec

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// envelope turns stored events into HEC JSON envelopes:
//
//	{"time":1739370735.123456,"host":"..","source":"..","sourcetype":"..","index":"..","fields":{..},"event":..}
//
// Every path it reads is found in one pass over the event (fieldpath.Set). It is immutable.
type envelope struct {
	set      *fieldpath.Set
	time     int // index in the set's values of the time field
	received int // ... of received_at, the time's fallback
	event    int // ... of the event field; -1 sends the whole stored event
	meta     []metaKey
	fields   []indexedField
}

// metaKey is one of host, source, sourcetype and index.
type metaKey struct {
	key  []byte // `,"host":`
	path int    // index of its field's value, or -1
	def  []byte // the static default as a JSON string, or nil
}

// indexedField is one entry of the envelope's "fields".
type indexedField struct {
	key  []byte // `"name":`
	path int
}

var receivedAtPath = fieldpath.MustParse("received_at")

// newEnvelope compiles validated options.
func newEnvelope(o *Options) *envelope {
	var paths []*fieldpath.Path
	add := func(p string) int {
		if p == "" {
			return -1
		}
		paths = append(paths, fieldpath.MustParse(p))
		return len(paths) - 1
	}
	e := &envelope{time: add(o.TimeField), event: add(o.EventField)}
	paths = append(paths, receivedAtPath)
	e.received = len(paths) - 1
	for _, m := range []struct{ name, field, def string }{
		{"host", o.HostField, o.Host},
		{"source", o.SourceField, o.Source},
		{"sourcetype", o.SourcetypeField, o.Sourcetype},
		{"index", o.IndexField, o.Index},
	} {
		k := metaKey{key: []byte(`,"` + m.name + `":`), path: add(m.field)}
		if m.def != "" {
			k.def = jsonString(m.def)
		}
		if k.path >= 0 || k.def != nil {
			e.meta = append(e.meta, k)
		}
	}
	for _, name := range sortedKeys(o.Fields) {
		e.fields = append(e.fields, indexedField{key: append(jsonString(name), ':'), path: add(o.Fields[name])})
	}
	e.set = fieldpath.NewSet(paths...)
	return e
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// appendEvent appends the envelope of one stored event (a JSON object, no newline). vals is
// scratch of at least e.set.Len() values; fallbackNanos is the time used when the event has
// neither a readable time field nor received_at.
func (e *envelope) appendEvent(dst, event []byte, vals []fieldpath.Value, fallbackNanos int64) []byte {
	e.set.Lookup(event, vals)
	dst = append(dst, `{"time":`...)
	dst = appendTime(dst, vals[e.time], vals[e.received], fallbackNanos)
	for _, m := range e.meta {
		if m.path >= 0 {
			if v := vals[m.path]; scalar(v) {
				dst = append(dst, m.key...)
				dst = appendString(dst, v)
				continue
			}
		}
		if m.def != nil {
			dst = append(dst, m.key...)
			dst = append(dst, m.def...)
		}
	}
	open := false
	for _, f := range e.fields {
		v := vals[f.path]
		if !scalar(v) {
			continue
		}
		if open {
			dst = append(dst, ',')
		} else {
			dst = append(dst, `,"fields":{`...)
			open = true
		}
		dst = append(dst, f.key...)
		dst = appendString(dst, v)
	}
	if open {
		dst = append(dst, '}')
	}
	dst = append(dst, `,"event":`...)
	if v := vals[max(e.event, 0)]; e.event >= 0 && v.Kind != 0 && v.Kind != fieldpath.Null && !(v.Kind == fieldpath.String && len(v.Raw) == 2) {
		dst = append(dst, v.Raw...)
	} else {
		// HEC refuses a whole request for one missing or blank event (codes 12, 13).
		dst = append(dst, event...)
	}
	return append(dst, '}')
}

// scalar reports whether v is a non-empty string or a number, the values HEC metadata and
// indexed fields take.
func scalar(v fieldpath.Value) bool {
	return v.Kind == fieldpath.Number || v.Kind == fieldpath.String && len(v.Raw) > 2
}

// appendString appends a scalar as a JSON string: HEC wants strings, so numbers are quoted.
func appendString(dst []byte, v fieldpath.Value) []byte {
	if v.Kind == fieldpath.String {
		return append(dst, v.Raw...) // valid JSON text already
	}
	dst = append(dst, '"')
	dst = append(dst, v.Raw...)
	return append(dst, '"')
}

// appendTime appends the event time in epoch seconds: the time field (RFC 3339, or a number
// taken as epoch seconds), else received_at, else fallbackNanos.
func appendTime(dst []byte, t, received fieldpath.Value, fallbackNanos int64) []byte {
	if t.Kind == fieldpath.Number {
		return append(dst, t.Raw...)
	}
	if t.Kind == fieldpath.String {
		if out, ok := appendEpoch(dst, t.Raw[1:len(t.Raw)-1]); ok {
			return out
		}
	}
	if received.Kind == fieldpath.String {
		if out, ok := appendEpoch(dst, received.Raw[1:len(received.Raw)-1]); ok {
			return out
		}
	}
	dst = strconv.AppendInt(dst, fallbackNanos/1e9, 10)
	dst = append(dst, '.')
	return appendDigits(dst, fallbackNanos%1e9/1e3, 6)
}

// fracDigits is how many fractional digits of a second the envelope keeps: HEC stores
// microseconds.
const fracDigits = 6

// appendEpoch converts an RFC 3339 time, s (as written in JSON, no escapes), into epoch
// seconds with its fraction truncated to microseconds, such as 1739370735.123456. It refuses
// times before 1970, whose fraction would count backwards.
func appendEpoch(dst, s []byte) ([]byte, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return dst, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 60 {
		return dst, false
	}
	i := 19
	frac := s[i:i]
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return dst, false
		}
		frac, i = s[i+1:j], j
	}
	var offset int
	switch {
	case i == len(s)-1 && (s[i] == 'Z' || s[i] == 'z'):
	case i == len(s)-6 && (s[i] == '+' || s[i] == '-') && s[i+3] == ':':
		oh, okh := digits(s[i+1 : i+3])
		om, okm := digits(s[i+4 : i+6])
		if !okh || !okm || oh > 23 || om > 59 {
			return dst, false
		}
		offset = (oh*60 + om) * 60
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return dst, false
	}
	midnight := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if midnight.Day() != day { // such as February 30, which time.Date would roll over
		return dst, false
	}
	unix := midnight.Unix() + int64(hour*3600+minute*60+sec-offset)
	if unix < 0 {
		return dst, false
	}
	dst = strconv.AppendInt(dst, unix, 10)
	if len(frac) > 0 {
		dst = append(dst, '.')
		dst = append(dst, frac[:min(len(frac), fracDigits)]...)
	}
	return dst, true
}

// digits parses a run of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// appendDigits appends n zero-padded to width digits.
func appendDigits(dst []byte, n int64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for ; width > 0 || n > 0; width-- {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, buf[i:]...)
}
