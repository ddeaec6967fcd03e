package parse

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/ingestd/ingestd/core/processor"
)

// The layouts a timestamp step knows by name; any other layout is a Go reference-time layout.
var namedLayouts = map[string]string{
	"rfc3339":     time.RFC3339,
	"rfc3339nano": time.RFC3339Nano,
	"common_log":  "02/Jan/2006:15:04:05 -0700",
}

// unixUnits maps the unix layouts to their unit.
var unixUnits = map[string]unixUnit{
	"unix":    {1e9, "seconds"},
	"unix_ms": {1e6, "milliseconds"},
	"unix_us": {1e3, "microseconds"},
	"unix_ns": {1, "nanoseconds"},
}

const knownLayouts = "rfc3339, rfc3339nano, unix, unix_ms, unix_us, unix_ns, common_log"

type unixUnit struct {
	ns   int64 // nanoseconds per unit
	name string
}

// timeParser reads a timestamp with one layout.
type timeParser struct {
	layout string         // a Go layout, or "" for a unix layout
	unit   unixUnit       // for a unix layout
	loc    *time.Location // where a time without an offset is
	offset bool           // every time carries its offset: loc does not matter
}

// compileTime checks the layout and the timezone; errors are keyed by option.
func compileTime(layout, zone string) (timeParser, []processor.FieldError) {
	var tp timeParser
	var errs []processor.FieldError
	unit, unix := unixUnits[layout]
	named, isNamed := namedLayouts[layout]
	switch {
	case unix:
		tp.unit = unit
	case isNamed:
		tp.layout, tp.offset = named, true
	default:
		if err := checkGoLayout(layout); err != nil {
			errs = append(errs, processor.FieldError{Key: "layout", Msg: err.Error()})
		}
		tp.layout = layout
	}
	var err error
	switch tp.loc, err = time.LoadLocation(zone); {
	case err != nil:
		errs = append(errs, processor.FieldError{Key: "timezone", Msg: fmt.Sprintf("unknown time zone %q: want an IANA name such as Europe/Paris, or UTC", zone)})
	case tp.loc != time.UTC && (unix || isNamed):
		errs = append(errs, processor.FieldError{Key: "timezone", Msg: "not used with layout " + layout + ", whose times carry their offset"})
	}
	return tp, errs
}

// checkGoLayout refuses a layout that does not read back the time it writes, down to the
// layout's precision: one without a full date, with an element twice or with none at all
// (a misspelt layout name, most likely).
func checkGoLayout(layout string) error {
	ref := time.Date(2025, 2, 12, 14, 32, 15, 123456789, time.UTC)
	s := ref.Format(layout)
	t, err := time.Parse(layout, s)
	if err == nil {
		for _, d := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1} {
			if t.Equal(ref.Truncate(d)) {
				return nil
			}
		}
		err = fmt.Errorf("reads as %s", t.Format(time.RFC3339Nano))
	}
	return fmt.Errorf("%q is neither a known layout (%s) nor a Go layout that reads back the date and time it writes: %s written as %q %v",
		layout, knownLayouts, ref.Format(time.RFC3339Nano), s, err)
}

// appendTime appends, as a JSON string, the time in s in UTC with trimmed nanoseconds. s is a
// string's content, or a number's text for a unix layout. zone is the state's memory of the
// last offset seen.
func (tp *timeParser) appendTime(dst, s []byte, zone **time.Location) ([]byte, error) {
	var t time.Time
	if tp.layout == "" {
		var err error
		if t, err = tp.unit.time(s); err != nil {
			return dst, err
		}
	} else {
		// time.Parse makes a new Location for an offset that is not a whole number of hours
		// (+05:30), unless the Location it is given has that offset. When the location does
		// not matter, giving it the one of the last time saves that allocation in a stream
		// of times from one place.
		loc := tp.loc
		if tp.offset && *zone != nil {
			loc = *zone
		}
		// A view rather than a copy: time.Parse would make the copy escape. Neither t nor the
		// error, which may refer to the view, outlives this call.
		var err error
		if t, err = time.ParseInLocation(tp.layout, unsafe.String(unsafe.SliceData(s), len(s)), loc); err != nil {
			return dst, errors.New(err.Error())
		}
		if tp.offset {
			*zone = t.Location()
		}
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("year %d is out of RFC 3339's range", y)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

// time reads a decimal count of units since 1970 (an optional minus, digits, an optional
// fraction) exactly, without a float64's rounding: unix_ns values need all 19 digits.
func (u unixUnit) time(s []byte) (time.Time, error) {
	digits := s
	neg := len(digits) > 0 && digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	var n int64
	i := 0
	for ; i < len(digits) && isDigit(digits[i]); i++ {
		d := int64(digits[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return time.Time{}, fmt.Errorf("%s %s is out of range", s, u.name)
		}
		n = n*10 + d
	}
	ok := i > 0
	// The fraction's digits down to the nanosecond; finer ones are dropped.
	var frac int64
	if ok && i < len(digits) && digits[i] == '.' {
		i++
		start, scale := i, u.ns
		for ; i < len(digits) && isDigit(digits[i]); i++ {
			if scale >= 10 {
				scale /= 10
				frac += int64(digits[i]-'0') * scale
			}
		}
		ok = i > start
	}
	if !ok || i < len(digits) {
		return time.Time{}, fmt.Errorf("%q is not a count of %s since 1970: want digits with an optional fraction", s, u.name)
	}
	perSec := int64(1e9) / u.ns
	sec, nsec := n/perSec, n%perSec*u.ns+frac
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
