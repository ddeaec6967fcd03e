package decode

// tsErr says why a timestamp was rejected.
type tsErr uint8

const (
	tsOK tsErr = iota
	tsLayout
	tsMonth
	tsDay
	tsHour
	tsMinute
	tsSecond
	tsZone
	tsRange
)

// Explanations appended to the timestamp error; a layout mismatch needs none beyond the example.
var tsWhy = [...]string{
	tsMonth:  "month out of range",
	tsDay:    "day out of range for the month",
	tsHour:   "hour out of range",
	tsMinute: "minute out of range",
	tsSecond: "second out of range",
	tsZone:   "zone offset out of range",
	tsRange:  "outside the storable range 1677-09-21 to 2262-04-11",
}

// parseTime parses an RFC 3339 date-time with a zone, YYYY-MM-DD(T|t)hh:mm:ss[.frac](Z|z|±hh:mm),
// into Unix nanoseconds. Fractions of any length are accepted and truncated to nanoseconds.
// A leap second (ss = 60) is clamped to the last nanosecond of its minute, which keeps times in
// order without inventing a second that Unix time does not have.
func parseTime(t []byte) (int64, tsErr) {
	if len(t) < len("2006-01-02T15:04:05Z") || t[4] != '-' || t[7] != '-' || t[10]|0x20 != 't' || t[13] != ':' || t[16] != ':' {
		return 0, tsLayout
	}
	hi, lo := two(t, 0), two(t, 2)
	month, day := two(t, 5), two(t, 8)
	hour, minute, sec := two(t, 11), two(t, 14), two(t, 17)
	if hi < 0 || lo < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || sec < 0 {
		return 0, tsLayout
	}
	year := hi*100 + lo

	i, nanos := 19, int64(0)
	if t[i] == '.' {
		i++
		start := i
		for ; i < len(t) && t[i]-'0' <= 9; i++ {
			if i-start < 9 {
				nanos = nanos*10 + int64(t[i]-'0')
			}
		}
		if i == start {
			return 0, tsLayout
		}
		for n := i - start; n < 9; n++ {
			nanos *= 10
		}
	}

	offset := 0
	switch {
	case i == len(t)-1 && t[i]|0x20 == 'z':
	case len(t)-i == 6 && (t[i] == '+' || t[i] == '-') && t[i+3] == ':':
		oh, om := two(t, i+1), two(t, i+4)
		if oh < 0 || om < 0 {
			return 0, tsLayout
		}
		if oh > 23 || om > 59 {
			return 0, tsZone
		}
		offset = oh*3600 + om*60
		if t[i] == '-' {
			offset = -offset
		}
	default:
		return 0, tsLayout
	}

	switch {
	case month < 1 || month > 12:
		return 0, tsMonth
	case day < 1 || day > daysIn(year, month):
		return 0, tsDay
	case hour > 23:
		return 0, tsHour
	case minute > 59:
		return 0, tsMinute
	case sec > 60:
		return 0, tsSecond
	case sec == 60:
		sec, nanos = 59, 999_999_999
	}

	// int64 nanoseconds span -9223372036.854775808 s to 9223372036.854775807 s, which lie
	// in 1677 and 2262; checking the years first keeps daysFromCivil to positive years.
	if year < 1677 || year > 2262 {
		return 0, tsRange
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	const maxSec, minSec = 9223372036, -9223372037
	if secs > maxSec || secs < minSec || (secs == maxSec && nanos > 854775807) || (secs == minSec && nanos < 145224192) {
		return 0, tsRange
	}
	return secs*1e9 + nanos, tsOK
}

// two returns the two-digit decimal at t[i:i+2], or -1.
func two(t []byte, i int) int {
	a, b := t[i]-'0', t[i+1]-'0'
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic Gregorian date of a
// year from 1 on, counting in 400-year eras that start on March 1 so that leap days fall at
// the end of a year. Unsigned arithmetic lets the compiler turn the divisions into shifts and
// multiplications.
func daysFromCivil(year, month, day int) int64 {
	y := uint64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := uint64(month+9) % 12
	doy := (153*mp+2)/5 + uint64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}
