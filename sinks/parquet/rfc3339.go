package parquet

import "time"

// Bounds of a timestamp in int64 nanoseconds since 1970.
var (
	minTime = time.Unix(0, -1<<63)
	maxTime = time.Unix(0, 1<<63-1)
)

// parseRFC3339 reads an RFC 3339 date-time (2025-02-12T14:32:15.123Z, or with an offset such as
// +05:30) as nanoseconds since 1970 in UTC. Unlike time.Parse it never allocates, which a
// numeric offset that is not the local zone's would make it do.
func parseRFC3339(s []byte) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' && s[10] != 't' ||
		s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	s = s[19:]
	nsec := 0
	if s[0] == '.' {
		i := 1
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if i <= 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
		}
		if i == 1 {
			return 0, false
		}
		for j := i; j <= 9; j++ {
			nsec *= 10
		}
		s = s[i:]
	}
	offset := 0
	switch {
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		oh, ok1 := digits(s[1:3])
		om, ok2 := digits(s[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = (oh*60 + om) * 60
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // Feb 30 and the like roll over into the next month
		return 0, false
	}
	t = t.Add(-time.Duration(offset) * time.Second)
	if t.Before(minTime) || t.After(maxTime) {
		return 0, false
	}
	return t.UnixNano(), true
}

// digits reads a run of ASCII digits.
func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
