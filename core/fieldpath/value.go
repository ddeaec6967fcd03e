package fieldpath

import (
	"bytes"
	"github.com/ingestd/ingestd/core/jsonraw"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Kind is the JSON type of a value. The zero Kind belongs to no value.
type Kind uint8

// The kinds of JSON values, told apart by a value's first byte.
const (
	String Kind = iota + 1
	Number
	Bool
	Null
	Object
	Array
)

var kindNames = [...]string{"invalid", "string", "number", "bool", "null", "object", "array"}

// String names the kind as error messages do: "string", "number", "bool", ...
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return kindNames[0]
}

// Value is one JSON value inside an object. Raw is its JSON text, quotes included for a
// string; it is a view into the object Lookup read.
type Value struct {
	Raw  []byte
	Kind Kind
}

// content returns a string's text between its quotes, still escaped.
func (v Value) content() []byte {
	if v.Kind != String || len(v.Raw) < 2 {
		return nil
	}
	return v.Raw[1 : len(v.Raw)-1]
}

// Str appends the unescaped content of a string to dst. Other kinds append nothing.
func (v Value) Str(dst []byte) []byte {
	u := unescaper{c: v.content()}
	for chunk := u.next(); chunk != nil; chunk = u.next() {
		dst = append(dst, chunk...)
	}
	return dst
}

// EqualString reports whether v is a string whose unescaped content is s.
func (v Value) EqualString(s string) bool {
	c := v.content()
	if v.Kind != String || len(c) < len(s) {
		return false
	}
	// An escape decodes to fewer bytes than it takes: at equal lengths, c matches only if it
	// is s byte for byte and holds no escape.
	if len(c) == len(s) {
		return string(c) == s && bytes.IndexByte(c, '\\') < 0
	}
	return bytes.IndexByte(c, '\\') >= 0 && compareEscaped(c, s) == 0
}

// CompareString compares the unescaped content of the string v with s in byte order and
// returns -1, 0 or +1. For other kinds it returns -1.
func (v Value) CompareString(s string) int {
	if v.Kind != String {
		return -1
	}
	c := v.content()
	if bytes.IndexByte(c, '\\') >= 0 {
		return compareEscaped(c, s)
	}
	switch {
	case string(c) == s:
		return 0
	case string(c) < s:
		return -1
	default:
		return 1
	}
}

// Float returns the value of a number. Numbers beyond the float64 range give ±Inf, as
// strconv.ParseFloat does.
func (v Value) Float() (float64, bool) {
	if v.Kind != Number || len(v.Raw) == 0 {
		return 0, false
	}
	if f, ok := shortDecimal(v.Raw); ok {
		return f, true
	}
	// ParseFloat allocates the error it returns for an overflow; the numbers that would
	// surely overflow are answered here instead.
	if magnitude(v.Raw) > 308 {
		if v.Raw[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v.Raw), len(v.Raw)), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortDecimal reads the common numbers (-?digits, optionally .digits, no exponent, at most 15
// digits) without strconv: their digits make an integer below 2^53 and their scale an exact
// power of ten, so one IEEE division rounds exactly as ParseFloat does.
func shortDecimal(n []byte) (float64, bool) {
	i, neg := 0, n[0] == '-'
	if neg {
		i++
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(n); i++ {
		switch c := n[i]; {
		case c-'0' <= 9:
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// magnitude returns the decimal exponent of the first significant digit of a JSON number
// (2 for 499, -3 for 0.0012, 401 for 1e401), or 0 for a zero. Exponents are capped well beyond
// the float64 range so that they cannot overflow an int.
func magnitude(n []byte) int {
	i := 0
	if i < len(n) && n[i] == '-' {
		i++
	}
	p, seen := 0, false
	for ; i < len(n) && n[i]-'0' <= 9; i++ {
		if seen = seen || n[i] != '0'; seen {
			p++
		}
	}
	if i < len(n) && n[i] == '.' {
		for i++; i < len(n) && n[i]-'0' <= 9; i++ {
			if !seen {
				if n[i] != '0' {
					seen = true
				} else {
					p--
				}
			}
		}
	}
	if !seen {
		return 0
	}
	exp, neg := 0, false
	if i < len(n) && n[i]|0x20 == 'e' {
		if i++; i < len(n) && (n[i] == '+' || n[i] == '-') {
			neg = n[i] == '-'
			i++
		}
		for ; i < len(n) && n[i]-'0' <= 9; i++ {
			if exp < 1e6 {
				exp = exp*10 + int(n[i]-'0')
			}
		}
	}
	if neg {
		exp = -exp
	}
	return p - 1 + exp
}

// Bool returns the value of true or false.
func (v Value) Bool() (bool, bool) {
	if v.Kind != Bool || len(v.Raw) == 0 {
		return false, false
	}
	return v.Raw[0] == 't', true
}

// compareEscaped compares the unescaped form of the string content c with s in byte order.
func compareEscaped(c []byte, s string) int {
	u := unescaper{c: c}
	for chunk := u.next(); chunk != nil; chunk = u.next() {
		n := min(len(chunk), len(s))
		if a, b := string(chunk[:n]), s[:n]; a != b {
			if a < b {
				return -1
			}
			return 1
		}
		if n < len(chunk) {
			return 1
		}
		s = s[n:]
	}
	if len(s) > 0 {
		return -1
	}
	return 0
}

// unescaper yields the unescaped content of a JSON string in chunks: each run of plain bytes
// as a view of the input, each escape decoded into buf. It decodes like encoding/json: a
// \u escape of a lone or misordered UTF-16 surrogate becomes U+FFFD.
type unescaper struct {
	c   []byte
	i   int
	buf [utf8.UTFMax]byte
}

// next returns the next chunk, never empty, or nil at the end.
func (u *unescaper) next() []byte {
	c, i := u.c, u.i
	if i >= len(c) {
		return nil
	}
	if c[i] != '\\' {
		k := bytes.IndexByte(c[i:], '\\')
		if k < 0 {
			k = len(c) - i
		}
		u.i = i + k
		return c[i:u.i]
	}
	r, n := jsonraw.Escape(c, i)
	u.i = i + n
	return u.buf[:utf8.EncodeRune(u.buf[:], r)]
}
