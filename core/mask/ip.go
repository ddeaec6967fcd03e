package mask

import "bytes"

// ipv4Detector finds dotted-quad IPv4 addresses, each part 0-255 without leading zeros, not
// glued to letters, digits or further dotted parts, so "1.2.3.4.5" and "v1.2.3.4" are left
// alone while "10.0.0.1:8080" and "10.0.0.1." (end of a sentence) are found.
type ipv4Detector struct{}

func (ipv4Detector) Find(s []byte, from int) (int, int, bool) {
	return findIPv4(s, from, len(s))
}

// findIPv4 finds the first address that starts in s[from:limit]; it reads s around that
// range to check the address's bounds.
func findIPv4(s []byte, from, limit int) (int, int, bool) {
	for i := from; i < limit; {
		if !isDigit(s[i]) {
			i++
			continue
		}
		if end, ok := ipv4Bounded(s, i); ok {
			return i, end, true
		}
		i = skipDigits(s, i)
	}
	return 0, 0, false
}

// ipv4Bounded checks for an address starting at the digit s[i] and not glued to its
// surroundings.
func ipv4Bounded(s []byte, i int) (int, bool) {
	if gluedBefore(s, i) {
		return 0, false
	}
	end, ok := ipv4At(s, i)
	return end, ok && !gluedAfter(s, end)
}

// ipv4At parses a dotted quad at s[i] and returns its end.
func ipv4At(s []byte, i int) (int, bool) {
	for part := range 4 {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, false
			}
			i++
		}
		j, v := i, 0
		for j < len(s) && j-i < 3 && isDigit(s[j]) {
			v = v*10 + int(s[j]-'0')
			j++
		}
		if j == i || v > 255 || s[i] == '0' && j-i > 1 {
			return 0, false
		}
		i = j
	}
	return i, true
}

// ipv6Detector finds IPv6 addresses in full, compressed ("2001:db8::1") and embedded-IPv4
// ("::ffff:192.0.2.1") forms, without a zone. It takes the run of hex digits, colons and dots
// around each colon, drops a single colon or dots that punctuate it ("ip:fe80::1",
// "at fe80::1."), and validates the rest by the rules of net/netip, which it does not call
// because netip allocates an error for every rejected candidate. "::" alone is not reported.
type ipv6Detector struct{}

func (ipv6Detector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i < len(s); {
		k := bytes.IndexByte(s[i:], ':')
		if k < 0 {
			break
		}
		start, end, next, ok := ipv6Around(s, from, i+k)
		if ok {
			return start, end, true
		}
		i = next
	}
	return 0, 0, false
}

// ipDetector finds IPv4 and IPv6 addresses, as ipv4Detector and ipv6Detector do, in one pass.
type ipDetector struct{}

func (ipDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i < len(s); {
		switch c := s[i]; {
		case isDigit(c):
			if end, ok := ipv4Bounded(s, i); ok {
				return i, end, true
			}
			i = skipDigits(s, i)
		case c == ':':
			start, end, next, ok := ipv6Around(s, from, i)
			if ok {
				return start, end, true
			}
			// The run is no IPv6 address but may hold an IPv4 one: "port:10.0.0.1".
			if start, end, ok := findIPv4(s, i+1, next); ok {
				return start, end, true
			}
			i = next
		default:
			i++
		}
	}
	return 0, 0, false
}

// ipv6Around validates the run of hex digits, colons and dots around the colon at s[c], not
// reaching before from. Whatever the outcome, next is the end of the run: no address starts
// later in it.
func ipv6Around(s []byte, from, c int) (start, end, next int, ok bool) {
	a, b := c, c+1
	for a > from && isV6(s[a-1]) {
		a--
	}
	for b < len(s) && isV6(s[b]) {
		b++
	}
	next = b
	for a < b && s[a] == '.' {
		a++
	}
	if b-a >= 2 && s[a] == ':' && s[a+1] != ':' {
		a++
	}
	for b > a && s[b-1] == '.' {
		b--
	}
	if b-a >= 2 && s[b-1] == ':' && s[b-2] != ':' {
		b--
	}
	if a > 0 && is(s[a-1], cAlnum) || b < len(s) && is(s[b], cAlnum) || !validIPv6(s[a:b]) {
		return 0, 0, next, false
	}
	return a, b, next, true
}

func isV6(c byte) bool { return is(c, cHex) || c == ':' || c == '.' }

// validIPv6 reports whether b is an IPv6 address without zone and with at least one hex digit:
// up to eight groups of 1-4 hex digits, one "::" standing for at least one zero group, and
// optionally a dotted quad in place of the last two groups.
func validIPv6(b []byte) bool {
	groups, ellipsis, i := 0, false, 0
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis, i = true, 2
	}
	for i < len(b) {
		j := i
		for j < len(b) && is(b[j], cHex) {
			j++
		}
		if j < len(b) && b[j] == '.' {
			end, ok := ipv4At(b, i)
			if !ok || end != len(b) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		if i = j; i == len(b) {
			break
		}
		if b[i] != ':' {
			return false
		}
		if i++; i < len(b) && b[i] == ':' {
			if ellipsis {
				return false
			}
			ellipsis = true
			i++
		} else if i == len(b) {
			return false
		}
	}
	if ellipsis {
		return groups >= 1 && groups <= 7
	}
	return groups == 8
}
