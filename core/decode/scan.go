package decode

import (
	"encoding/binary"
	"math/bits"
)

// The structural scanner. Each function takes the input and an offset and returns the offset
// after what it scanned, or -1 after recording the error with fail. Input has already passed
// UTF-8 validation, so bytes >= 0x80 need no attention: outside strings they are plain errors.

func (s *Scanner) fail(k errKind, pos int) int {
	s.ek, s.ePos = k, pos
	return -1
}

// ws skips JSON whitespace. The check for a non-space byte is kept small enough to inline,
// since most calls find no whitespace at all.
func (s *Scanner) ws(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return s.wsSlow(b, i)
}

// wsSlow also notes, for Event.Spaces and Event.Newlines, what it skipped.
func (s *Scanner) wsSlow(b []byte, i int) int {
	j := i
scan:
	for ; j < len(b); j++ {
		switch b[j] {
		case ' ', '\t':
		case '\n', '\r':
			s.nl = true
		default:
			break scan
		}
	}
	if j > i {
		s.sp = true
	}
	return j
}

// value scans one JSON value at b[i]; depth is the nesting level of the container holding it.
func (s *Scanner) value(b []byte, i, depth int) int {
	if i >= len(b) {
		return s.fail(ekValue, i)
	}
	switch c := b[i]; c {
	case '"':
		i, _ = s.str(b, i)
		return i
	case '{':
		return s.object(b, i, depth+1)
	case '[':
		return s.list(b, i, depth+1)
	case 't':
		return s.lit(b, i, "true")
	case 'f':
		return s.lit(b, i, "false")
	case 'n':
		return s.lit(b, i, "null")
	default:
		if c == '-' || c-'0' <= 9 {
			return s.num(b, i)
		}
		return s.fail(ekValue, i)
	}
}

// object scans the object at b[i] == '{', which sits at nesting level depth.
func (s *Scanner) object(b []byte, i, depth int) int {
	if depth > s.maxDepth {
		return s.fail(ekDepth, i)
	}
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return s.fail(ekKey, i)
		}
		if i, _ = s.str(b, i); i < 0 {
			return -1
		}
		if i = s.ws(b, i); i >= len(b) || b[i] != ':' {
			return s.fail(ekColon, i)
		}
		if i = s.value(b, s.ws(b, i+1), depth); i < 0 {
			return -1
		}
		if i = s.ws(b, i); i >= len(b) {
			return s.fail(ekObjEnd, i)
		}
		switch b[i] {
		case ',':
			i = s.ws(b, i+1)
		case '}':
			return i + 1
		default:
			return s.fail(ekObjEnd, i)
		}
	}
}

// list scans the array at b[i] == '[', which sits at nesting level depth.
func (s *Scanner) list(b []byte, i, depth int) int {
	if depth > s.maxDepth {
		return s.fail(ekDepth, i)
	}
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = s.value(b, i, depth); i < 0 {
			return -1
		}
		if i = s.ws(b, i); i >= len(b) {
			return s.fail(ekArrEnd, i)
		}
		switch b[i] {
		case ',':
			i = s.ws(b, i+1)
		case ']':
			return i + 1
		default:
			return s.fail(ekArrEnd, i)
		}
	}
}

func (s *Scanner) lit(b []byte, i int, word string) int {
	if len(b)-i >= len(word) && string(b[i:i+len(word)]) == word {
		return i + len(word)
	}
	return s.fail(ekLiteral, i)
}

// num scans a number per the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *Scanner) num(b []byte, i int) int {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b) || b[i]-'0' > 9:
		return s.fail(ekNumber, start)
	case b[i] == '0':
		// A leading zero may not be followed by more digits.
		if i++; i < len(b) && b[i]-'0' <= 9 {
			return s.fail(ekNumber, start)
		}
	default:
		i = digits(b, i+1)
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || b[i]-'0' > 9 {
			return s.fail(ekNumber, start)
		}
		i = digits(b, i+1)
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i]-'0' > 9 {
			return s.fail(ekNumber, start)
		}
		i = digits(b, i+1)
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	return i
}

// str scans the string at b[i] == '"' and reports whether it holds escapes.
//
// It looks for the bytes that end a run of plain string bytes eight at a time. Flipping bit 1
// maps '"' to 0x20 and keeps control bytes below 0x20, so "below 0x21" finds both; then for
// x = w ^ (lsb * 0x02), (x - lsb*0x21) &^ x & msb flags those bytes, and (y - lsb) &^ y & msb
// with y = w ^ (lsb * '\\') flags backslashes. Borrows can raise false flags only above a true
// one, so the lowest flag is exact. The search is written out here rather than in a helper
// because most strings are short, and a call per string costs about as much as scanning it.
func (s *Scanner) str(b []byte, i int) (int, bool) {
	esc := false
	i++
	for {
		j := len(b)
		for ; i+8 <= len(b); i += 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			x := w ^ (lsb * 0x02)
			y := w ^ (lsb * '\\')
			if m := ((x - lsb*0x21) &^ x) | ((y - lsb) &^ y); m&msb != 0 {
				j = i + bits.TrailingZeros64(m&msb)>>3
				break
			}
		}
		if j == len(b) {
			for j = i; j < len(b); j++ {
				if c := b[j]; c == '"' || c == '\\' || c < 0x20 {
					break
				}
			}
			if j == len(b) {
				return s.fail(ekString, j), esc
			}
		}
		i = j
		switch b[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return s.fail(ekString, i+1), esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return s.fail(ekEscape, i), esc
				}
				i += 6
			default:
				return s.fail(ekEscape, i), esc
			}
		default:
			return s.fail(ekCtrl, i), esc
		}
	}
}

func isHex(c byte) bool { return c-'0' <= 9 || (c|0x20)-'a' <= 5 }

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)
