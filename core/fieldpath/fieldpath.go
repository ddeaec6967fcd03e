// Package fieldpath reads the fields of a JSON object by dotted path (event.card.number,
// metadata.env, source) straight from the object's bytes, without decoding it and without
// allocating.
//
// Lookup expects one valid JSON object, as the ingest path hands to the shard workers, and
// walks it with a small skipper that trusts the input's validity: it does not re-validate what
// it skips. On invalid input it returns nonsense rather than panicking.
package fieldpath

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// MaxSegments bounds the depth of a path; events nest at most 64 levels, and no real rule
// reaches half of that.
const MaxSegments = 32

// Path is a compiled dotted field path. It is immutable and safe for concurrent use.
type Path struct {
	src  string
	segs []string
}

// Parse compiles a dotted path. Each segment is non-empty and made of ASCII letters, digits
// and _ @ $ -, so a segment never needs escaping to match a key.
func Parse(s string) (*Path, error) {
	if s == "" {
		return nil, fmt.Errorf("field path is empty")
	}
	if n := strings.Count(s, ".") + 1; n > MaxSegments {
		return nil, fmt.Errorf("field path %q: %d segments, at most %d are allowed", s, n, MaxSegments)
	}
	segs := strings.Split(s, ".")
	for i, seg := range segs {
		if seg == "" {
			return nil, fmt.Errorf("field path %q: segment %d is empty", s, i+1)
		}
		for _, r := range seg {
			if r >= 0x80 || !segmentByte[r] {
				return nil, fmt.Errorf("field path %q: segment %d %q has the character %q; segments are made of letters, digits and _ @ $ -", s, i+1, seg, r)
			}
		}
	}
	return &Path{src: s, segs: segs}, nil
}

// MustParse is Parse for paths known at compile time; it panics on an invalid path.
func MustParse(s string) *Path {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

// Segments returns a copy of the path's segments.
func (p *Path) Segments() []string { return slices.Clone(p.segs) }

var segmentByte = func() (t [0x80]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '@' || c == '$' || c == '-'
	}
	return t
}()

// Lookup finds the value at p in obj, a single JSON object. It reports false when a segment is
// missing or an intermediate value is not an object. Keys are compared after unescaping, and
// of duplicate keys the last wins, as encoding/json decides. The returned Raw is a view into
// obj, valid as long as obj is.
func Lookup(obj []byte, p *Path) (Value, bool) {
	start, end := ws(obj, 0), len(obj)
	for _, seg := range p.segs {
		if start >= end || obj[start] != '{' {
			return Value{}, false
		}
		if start, end = member(obj[:end], start, seg); start < 0 {
			return Value{}, false
		}
	}
	if start >= end {
		return Value{}, false
	}
	return Value{Raw: obj[start:end], Kind: kindOf[obj[start]]}, true
}

// member returns the span of the last value named seg in the object at b[i] == '{', or -1.
// It has to read the whole object, since a later duplicate key overrides an earlier one.
func member(b []byte, i int, seg string) (start, end int) {
	start, end = -1, -1
	i = ws(b, i+1)
	for i < len(b) && b[i] == '"' {
		k := strEnd(b, i)
		key := b[i+1 : k]
		if i = ws(b, k+1); i >= len(b) || b[i] != ':' {
			break
		}
		i = ws(b, i+1)
		v := i
		i = skip(b, i)
		if keyIs(key, seg) {
			start, end = v, i
		}
		if i = ws(b, i); i >= len(b) || b[i] != ',' {
			break
		}
		i = ws(b, i+1)
	}
	return start, end
}

// keyIs reports whether the raw (still escaped) key names seg. Segments hold no backslash, and
// an escape always decodes to fewer bytes than it takes, so only a key longer than seg can
// match through escapes.
func keyIs(key []byte, seg string) bool {
	switch {
	case len(key) == len(seg):
		return string(key) == seg
	case len(key) < len(seg):
		return false
	default:
		return bytes.IndexByte(key, '\\') >= 0 && compareEscaped(key, seg) == 0
	}
}

// ws skips JSON whitespace; compact events have none, so the first test usually ends it.
func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// strEnd returns the index of the quote closing the string at b[i] == '"', or len(b). It jumps
// from quote to quote with IndexByte; a quote is escaped when an odd run of backslashes
// precedes it.
func strEnd(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		q := j + k
		n := 0
		for q-n > j && b[q-n-1] == '\\' {
			n++
		}
		if n&1 == 0 {
			return q
		}
		j = q + 1
	}
}

// skip returns the offset just after the value at b[i], at most len(b).
func skip(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return min(strEnd(b, i)+1, len(b))
	case '{', '[':
		return skipContainer(b, i)
	}
	for i < len(b) && !delim[b[i]] {
		i++
	}
	return i
}

// skipContainer returns the offset after the object or array opening at b[i]. Valid input
// pairs its brackets, so one depth counter serves both kinds.
func skipContainer(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = strEnd(b, i)
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
var delim = [256]bool{',': true, '}': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}

var kindOf = [256]Kind{
	'"': String, '{': Object, '[': Array, 't': Bool, 'f': Bool, 'n': Null,
	'-': Number, '0': Number, '1': Number, '2': Number, '3': Number, '4': Number,
	'5': Number, '6': Number, '7': Number, '8': Number, '9': Number,
}
