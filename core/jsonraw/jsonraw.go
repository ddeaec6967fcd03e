// Package jsonraw holds the few primitives that read JSON text in place, shared by the
// packages that look into events without decoding them (fieldpath, jsonedit). They expect valid
// JSON, as the decoder guarantees for events; on invalid input they return something within
// bounds rather than panic.
package jsonraw

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// WS returns the offset of the first byte at or after i that is not JSON whitespace. Events
// are compact, so one compare settles the common case before the loop.
func WS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return ws(b, i)
}

func ws(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// StrEnd returns the index of the quote that closes the string at b[i] == '"', or len(b) if
// none does, and whether the string holds escapes.
//
// It reads eight bytes at a time while no quote or backslash is among them (see special),
// then acts on the byte flagged. Measured on seed events, this beats both a call to
// bytes.IndexByte per string (most strings are short) and sixteen bytes per step.
func StrEnd(b []byte, i int) (int, bool) {
	j, esc := i+1, false
	for {
		for ; j+8 <= len(b); j += 8 {
			if m := special(word(b, j)); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto flagged
			}
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) {
			return len(b), esc
		}
	flagged:
		if b[j] == '"' {
			return j, esc
		}
		esc = true
		j += 2 // past an escape, which may be \" or \\
	}
}

// StrClose returns what StrEnd does, the index of the closing quote or len(b), without telling
// whether the string holds escapes; it is the faster way to skip a string. It looks for quotes
// only, about half the work per word, and for backslashes only before a quote found: the
// quote is escaped when an odd run of them precedes it, as StrEnd, pairing them from the
// left, finds too.
func StrClose(b []byte, i int) int {
	j := i + 1
	for {
		for ; j+8 <= len(b); j += 8 {
			x := word(b, j) ^ (lsb * '"')
			if m := (x - lsb) &^ x & msb; m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto found
			}
		}
		for j < len(b) && b[j] != '"' {
			j++
		}
		if j >= len(b) {
			return len(b)
		}
	found:
		k := j // the start of the run of backslashes before b[j], within the string
		for k > i+1 && b[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j
		}
		j++
	}
}

// special flags, at the top bit of each byte, the quotes and backslashes among the eight
// bytes of w. With x = w ^ (lsb * c), the word (x - lsb) &^ x & msb flags the bytes of w
// equal to c; borrows can raise false flags only above a true one, so the lowest flag, the
// one taken, is exact.
func special(w uint64) uint64 {
	q, s := w^(lsb*'"'), w^(lsb*'\\')
	return ((q-lsb)&^q | (s-lsb)&^s) & msb
}

// word returns the eight bytes from b[i], 0 <= i <= len(b)-8, as a little-endian word. Loading
// it without slicing b[i:] spares the loops above a bounds check and the slice arithmetic,
// which cost about as much as testing the word.
func word(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// Skip returns the offset after the value at b[i], i < len(b), at most len(b). A value that
// starts with a delimiter, in invalid input, takes no bytes.
func Skip(b []byte, i int) int {
	switch b[i] {
	case '"':
		return min(len(b), StrClose(b, i)+1)
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
			i = StrClose(b, i)
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

// Escape decodes the escape at c[i] == '\\' and returns its rune and length, as encoding/json
// does: a \u escape of a lone or misordered UTF-16 surrogate is U+FFFD. A truncated or unknown
// escape, possible only in invalid input, decodes to something rather than panicking.
func Escape(c []byte, i int) (rune, int) {
	if i+1 >= len(c) {
		return utf8.RuneError, len(c) - i
	}
	switch e := c[i+1]; e {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := Hex4(c, i+2)
		if r < 0 {
			return utf8.RuneError, 2
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if i+7 < len(c) && c[i+6] == '\\' && c[i+7] == 'u' {
			if pair := utf16.DecodeRune(r, Hex4(c, i+8)); pair != utf8.RuneError {
				return pair, 12
			}
		}
		return utf8.RuneError, 6
	default:
		return rune(e), 2
	}
}

// AppendUnescaped appends the decoded content of c, a JSON string's text without its quotes.
func AppendUnescaped(dst, c []byte) []byte {
	for {
		k := bytes.IndexByte(c, '\\')
		if k < 0 {
			return append(dst, c...)
		}
		dst = append(dst, c[:k]...)
		r, n := Escape(c, k)
		dst = utf8.AppendRune(dst, r)
		c = c[k+n:]
	}
}

// Hex4 decodes the four hex digits at c[i], or returns -1.
func Hex4(c []byte, i int) rune {
	if i+4 > len(c) {
		return -1
	}
	var r rune
	for _, h := range c[i : i+4] {
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
