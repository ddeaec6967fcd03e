package mask

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math/bits"
	"regexp"
	"slices"
	"unicode/utf8"
)

// Detector finds sensitive parts of a string.
//
// Find returns the leftmost match that starts at or after from, as s[start:end] with
// from <= start < end <= len(s). It may read s before from to check that a match is not
// glued to what precedes it. A Detector is safe for concurrent use.
type Detector interface {
	Find(s []byte, from int) (start, end int, ok bool)
}

// The built-in detectors are hand-written scanners over ASCII structure: they allocate
// nothing, and each match begins on an ASCII byte and ends after one or at the end of the
// string, so none splits a UTF-8 sequence.
var builtins = map[string]Detector{
	"credit_card":     cardDetector{},
	"email":           emailDetector{},
	"ssn":             ssnDetector{},
	"ipv4":            ipv4Detector{},
	"ipv6":            ipv6Detector{},
	"ip":              ipDetector{},
	"phone":           phoneDetector{},
	"jwt":             jwtDetector{},
	"bearer_token":    bearerDetector{},
	"aws_access_key":  awsKeyDetector{},
	"pem_private_key": pemDetector{},
}

// Builtin returns the built-in detector called name.
func Builtin(name string) (Detector, bool) {
	d, ok := builtins[name]
	return d, ok
}

// BuiltinNames returns the names of the built-in detectors, sorted.
func BuiltinNames() []string {
	return slices.Sorted(maps.Keys(builtins))
}

// Pattern compiles a custom RE2 expression (Go regexp syntax) into a Detector. A pattern that
// matches the empty string is refused: it would mask nothing and match everywhere.
//
// Unlike the built-ins, a pattern allocates what regexp allocates per match, and it sees the
// string from the search position on, so ^ and \b treat that position as the start of text.
func Pattern(expr string) (Detector, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("mask: pattern %q: %w", expr, err)
	}
	if re.MatchString("") {
		return nil, fmt.Errorf("mask: pattern %q matches the empty string", expr)
	}
	return patternDetector{re}, nil
}

type patternDetector struct{ re *regexp.Regexp }

func (p patternDetector) Find(s []byte, from int) (int, int, bool) {
	for from < len(s) {
		loc := p.re.FindIndex(s[from:])
		if loc == nil {
			return 0, 0, false
		}
		if loc[1] > loc[0] {
			return from + loc[0], from + loc[1], true
		}
		// An empty match (possible where context decides, as in `\bx*`): look again one
		// character further on.
		_, size := utf8.DecodeRune(s[from+loc[0]:])
		from += loc[0] + size
	}
	return 0, 0, false
}

// Character classes of ASCII bytes, one bit each, for the scanners.
const (
	cDigit  uint16 = 1 << iota
	cLetter        // A-Z a-z
	cHex           // 0-9 A-F a-f
	cLocal         // an e-mail local part's characters besides the dot
	cB64URL        // base64url: A-Z a-z 0-9 - _
	cToken         // a bearer token: A-Z a-z 0-9 . _ ~ + / = -
	cAWS           // an AWS key id: A-Z 0-9

	cAlnum = cDigit | cLetter
)

var class = func() (t [256]uint16) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= cDigit | cHex | cLocal | cB64URL | cToken | cAWS
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= cLetter | cLocal | cB64URL | cToken | cAWS
		t[c+'a'-'A'] |= cLetter | cLocal | cB64URL | cToken
	}
	for c := 'A'; c <= 'F'; c++ {
		t[c] |= cHex
		t[c+'a'-'A'] |= cHex
	}
	// RFC 5322 atext without = ' ` { | }, which in logs delimit an address ("email=bob@…",
	// 'bob@…') far more often than they belong to one.
	for _, c := range "!#$%&*+-/?^_~" {
		t[c] |= cLocal
	}
	for _, c := range "-_" {
		t[c] |= cB64URL
	}
	for _, c := range "._~+/=-" {
		t[c] |= cToken
	}
	return t
}()

func is(c byte, k uint16) bool { return class[c]&k != 0 }

func isDigit(c byte) bool { return c-'0' < 10 }

// nextDigit returns the offset of the first digit in s at or after i, or len(s). Most text
// has long stretches without digits, so it tests eight bytes at a time: for a byte b below
// 0x80, 0xB9-b has its top bit set when b <= '9' and b+0x50 when b >= '0', and neither sum
// carries into the next byte; &^w leaves out bytes of 0x80 and above.
func nextDigit(s []byte, i int) int {
	const ones = 0x0101010101010101
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(s[i:])
		x := w & (ones * 0x7F)
		if m := (ones*0xB9 - x) &^ w & (x + ones*0x50) & (ones * 0x80); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && !isDigit(s[i]) {
		i++
	}
	return i
}

// skipDigits returns the end of the run of digits starting at i.
func skipDigits(s []byte, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// skipClass returns the end of the run of class k starting at i.
func skipClass(s []byte, i int, k uint16) int {
	for i < len(s) && is(s[i], k) {
		i++
	}
	return i
}

// gluedBefore reports whether the byte before i is a letter or digit, or a '-' or '.' that
// joins the token at i to a letter or digit before it: "v1.2.3.4", "2024-123-45-6789".
func gluedBefore(s []byte, i int) bool {
	if i == 0 {
		return false
	}
	c := s[i-1]
	return is(c, cAlnum) || (c == '-' || c == '.') && i >= 2 && is(s[i-2], cAlnum)
}

// gluedAfter is gluedBefore for the end of a token: "1.2.3.4.5", "123-45-6789-1".
func gluedAfter(s []byte, end int) bool {
	if end >= len(s) {
		return false
	}
	c := s[end]
	return is(c, cAlnum) || (c == '-' || c == '.') && end+1 < len(s) && is(s[end+1], cAlnum)
}
