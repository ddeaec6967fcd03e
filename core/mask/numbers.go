package mask

import "bytes"

// cardDetector finds payment card numbers: 13 to 19 digits, either in one run or grouped by
// single spaces or dashes with a first group of 4 ("4111 1111 1111 1111", "3782-822463-10005"),
// not glued to letters or digits, with a plausible issuer prefix and a valid Luhn check digit.
// The Luhn check leaves nine of ten random digit runs alone.
type cardDetector struct{}

const (
	minCardDigits = 13
	maxCardDigits = 19
)

func (cardDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; len(s)-i >= minCardDigits; {
		if i = nextDigit(s, i); i == len(s) {
			break
		}
		run := skipDigits(s, i)
		if i == 0 || !is(s[i-1], cAlnum) {
			if end, ok := cardAt(s, i, run); ok {
				return i, end, true
			}
		}
		// A later group of a rejected grouping may still start a number, so resume after
		// this run only.
		i = run
	}
	return 0, 0, false
}

// cardAt reports the end of a card number whose first digit run is s[i:run].
func cardAt(s []byte, i, run int) (int, bool) {
	n, end := run-i, run
	if n == 4 && end+1 < len(s) && (s[end] == ' ' || s[end] == '-') && isDigit(s[end+1]) {
		sep := s[end]
		for end+1 < len(s) && s[end] == sep && isDigit(s[end+1]) {
			g := skipDigits(s, end+1)
			if size := g - end - 1; size < 3 || size > 6 {
				return 0, false
			}
			if n += g - end - 1; n > maxCardDigits {
				return 0, false
			}
			end = g
		}
	}
	if n < minCardDigits || n > maxCardDigits || end < len(s) && is(s[end], cAlnum) {
		return 0, false
	}
	return end, plausibleIIN(s[i:i+4]) && luhn(s[i:end])
}

// plausibleIIN accepts the leading digits of the card networks: 3 (Amex, Diners, JCB), 4 (Visa),
// 5 (Mastercard, Maestro), 6 (Discover, UnionPay, Maestro) and Mastercard's 2221-2720.
func plausibleIIN(lead []byte) bool {
	switch lead[0] {
	case '3', '4', '5', '6':
		return true
	case '2':
		v := int(lead[1]-'0')*100 + int(lead[2]-'0')*10 + int(lead[3]-'0')
		return v >= 221 && v <= 720
	}
	return false
}

// luhn checks the Luhn digit of the digits in b, skipping separators.
func luhn(b []byte) bool {
	sum, double := 0, false
	for k := len(b) - 1; k >= 0; k-- {
		if !isDigit(b[k]) {
			continue
		}
		d := int(b[k] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ssnDetector finds US social security numbers written AAA-GG-SSSS, with the numbers the SSA
// never issues left out (area 000, 666 or 9xx, group 00, serial 0000), bounded by non-digits
// and not part of a longer dashed run such as "2024-123-45-6789".
type ssnDetector struct{}

const ssnLen = len("123-45-6789")

func (ssnDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i+ssnLen <= len(s); i++ {
		k := bytes.IndexByte(s[i+3:len(s)-ssnLen+4], '-')
		if k < 0 {
			break
		}
		if i += k; ssnAt(s, i) {
			return i, i + ssnLen, true
		}
	}
	return 0, 0, false
}

func ssnAt(s []byte, i int) bool {
	b := s[i : i+ssnLen]
	for k, c := range b {
		if k == 3 || k == 6 {
			if c != '-' {
				return false
			}
		} else if !isDigit(c) {
			return false
		}
	}
	area, group, serial := b[0:3], b[4:6], b[7:11]
	if string(area) == "000" || string(area) == "666" || area[0] == '9' ||
		string(group) == "00" || string(serial) == "0000" {
		return false
	}
	return !gluedDigits(s, i, i+ssnLen)
}

// gluedDigits reports whether s[i:end] touches a digit, or a dash that joins it to one.
func gluedDigits(s []byte, i, end int) bool {
	before := i > 0 && (isDigit(s[i-1]) || s[i-1] == '-' && i >= 2 && isDigit(s[i-2]))
	after := end < len(s) && (isDigit(s[end]) || s[end] == '-' && end+1 < len(s) && isDigit(s[end+1]))
	return before || after
}
