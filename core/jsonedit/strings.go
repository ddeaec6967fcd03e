package jsonedit

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendString appends s, decoded text, to dst as a JSON string, quotes included. It escapes
// the quote, the backslash and control characters, and writes each byte of invalid UTF-8 as
// \ufffd, so the result is always valid JSON and valid UTF-8.
func AppendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0 // the first byte not yet written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !needsEscape[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + 1
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// needsEscape marks the ASCII bytes that cannot stand for themselves in a JSON string.
var needsEscape = func() (t [utf8.RuneSelf]bool) {
	for c := range ' ' {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// appendUnescaped appends the decoded content of a JSON string, c, without its quotes, as
// encoding/json decodes it: a \u escape of a lone or misordered UTF-16 surrogate becomes
// U+FFFD. A truncated or unknown escape, in invalid input, decodes to something.
func appendUnescaped(dst, c []byte) []byte {
	for {
		k := bytes.IndexByte(c, '\\')
		if k < 0 {
			return append(dst, c...)
		}
		dst = append(dst, c[:k]...)
		c = c[k:]
		if len(c) < 2 {
			return utf8.AppendRune(dst, utf8.RuneError)
		}
		n := 2
		switch e := c[1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(c[2:])
			if r < 0 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				break
			}
			n = 6
			if utf16.IsSurrogate(r) {
				if len(c) >= 12 && c[6] == '\\' && c[7] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(c[8:])); pair != utf8.RuneError {
						r, n = pair, 12
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, e)
		}
		c = c[n:]
	}
}

// hex4 decodes four hex digits at the start of c, or returns -1.
func hex4(c []byte) rune {
	if len(c) < 4 {
		return -1
	}
	var r rune
	for _, h := range c[:4] {
		switch {
		case h >= '0' && h <= '9':
			h -= '0'
		case h|0x20 >= 'a' && h|0x20 <= 'f':
			h = h | 0x20 - 'a' + 10
		default:
			return -1
		}
		r = r<<4 | rune(h)
	}
	return r
}

// ws skips JSON whitespace.
func ws(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// strEnd returns the index of the quote that closes the string at b[i] == '"', or len(b) if
// none does, and whether the string holds escapes.
//
// It reads eight bytes at a time while no quote or backslash is among them: with x = w ^
// (lsb * c), the word (x - lsb) &^ x & msb flags the bytes of w equal to c, exactly from the
// lowest one up, which is the one taken. Most keys and values are short, where a call to
// bytes.IndexByte costs more than it saves.
func strEnd(b []byte, i int) (int, bool) {
	j, esc := i+1, false
	for {
		for ; j+8 <= len(b); j += 8 {
			w := binary.LittleEndian.Uint64(b[j:])
			q, s := w^(lsb*'"'), w^(lsb*'\\')
			if m := ((q - lsb) &^ q) | ((s - lsb) &^ s); m&msb != 0 {
				j += bits.TrailingZeros64(m&msb) / 8
				break
			}
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) || b[j] == '"' {
			return min(j, len(b)), esc
		}
		esc = true
		j += 2 // past an escape, which may be \" or \\
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skip returns the offset after the value at b[i], i < len(b), at most len(b). A value that
// starts with a delimiter, in invalid input, takes no bytes.
func skip(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := strEnd(b, i)
		return min(len(b), end+1)
	case '{', '[':
		return skipContainer(b, i)
	}
	for i < len(b) && !delim[b[i]] {
		i++
	}
	return i
}

// skipContainer returns the offset after the object or array at b[i], at most len(b). Valid
// input pairs its brackets, so one depth counts both kinds. A byte at a time is the fastest
// way here: in events, a quote comes every few bytes.
func skipContainer(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i, _ = strEnd(b, i)
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// delim marks the bytes that end a number or a literal.
var delim = [256]bool{',': true, '}': true, ']': true, ':': true, ' ': true, '\t': true, '\n': true, '\r': true}
