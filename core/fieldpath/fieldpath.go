// Package fieldpath reads the fields of a JSON object by dotted path (event.card.number,
// metadata.env, source) straight from the object's bytes, without decoding it and without
// allocating.
//
// Lookup expects one valid JSON object, as the ingest path hands to the shard workers, and
// walks it with a small skipper that trusts the input's validity: it does not re-validate what
// it skips. On invalid input it returns nonsense rather than panicking.
package fieldpath

import (
	"fmt"
	"github.com/ingestd/ingestd/core/jsonraw"
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
	trie *node // the path as a one-path Set, which Lookup walks
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
	p := &Path{src: s, segs: segs, trie: &node{}}
	p.trie.add(segs, 0)
	return p, nil
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
	var v [1]Value
	p.trie.lookup(obj, v[:])
	return v[0], v[0].Kind != 0
}

// Set is a group of paths that Lookup finds in one pass over an object, which costs about as
// much as finding one of them: every lookup has to read the whole of each object on its way.
// It is immutable and safe for concurrent use.
type Set struct {
	n    int
	root node
}

// NewSet compiles paths into a Set. Lookup reports the value of paths[i] in vals[i].
func NewSet(paths ...*Path) *Set {
	s := &Set{n: len(paths)}
	for i, p := range paths {
		s.root.add(p.segs, i)
	}
	return s
}

// Len returns the number of paths in the set.
func (s *Set) Len() int { return s.n }

// Lookup finds every path of the set in obj, a single JSON object, with the rules of the
// function Lookup. vals[i] receives the value of the set's path i, or the zero Value (Kind 0)
// when it is missing. It panics if vals is shorter than Len.
func (s *Set) Lookup(obj []byte, vals []Value) {
	if len(vals) < s.n {
		panic("fieldpath: Set.Lookup needs a value per path")
	}
	clear(vals[:s.n])
	s.root.lookup(obj, vals)
}

// node is one segment of a trie of paths; the root has no segment.
type node struct {
	seg  string
	outs []int   // the paths ending here
	sub  []int   // the paths ending here or below
	kids []*node // the next segments
	lens uint64  // bit min(len(k.seg), 63) set for each kid k
}

func (n *node) add(segs []string, out int) {
	for _, seg := range segs {
		var next *node
		for _, k := range n.kids {
			if k.seg == seg {
				next = k
			}
		}
		if next == nil {
			next = &node{seg: seg}
			n.kids = append(n.kids, next)
			n.lens |= 1 << min(len(seg), 63)
		}
		n, next.sub = next, append(next.sub, out)
	}
	n.outs = append(n.outs, out)
}

// lookup fills vals for the paths below the root n; the caller has zeroed vals.
func (n *node) lookup(obj []byte, vals []Value) {
	if len(n.kids) == 0 {
		return // an empty Set reads nothing
	}
	if i := jsonraw.WS(obj, 0); i < len(obj) && obj[i] == '{' {
		n.object(obj, i, vals)
	}
}

// object reads the object at b[i] == '{', matching its keys against n's children, and returns
// the offset after it. Because a later duplicate key overrides an earlier one, it reads the
// whole object, and descends into each value that a path goes through: every byte is read
// once, whatever the number and depth of the paths.
func (n *node) object(b []byte, i int, vals []Value) int {
	i = jsonraw.WS(b, i+1)
	for i < len(b) && b[i] == '"' {
		k, esc := jsonraw.StrEnd(b, i)
		if k >= len(b) {
			return k // an unterminated key, in invalid input
		}
		key := b[i+1 : k]
		v := k + 2
		if v >= len(b) || b[k+1] != ':' || b[v] <= ' ' { // not the compact "key":value
			if i = jsonraw.WS(b, k+1); i >= len(b) || b[i] != ':' {
				return i
			}
			if v = jsonraw.WS(b, i+1); v >= len(b) {
				return v
			}
		}
		// Most keys name no child; unless escapes hide it, their length tells without a call.
		var kid *node
		if esc || n.lens>>min(len(key), 63)&1 != 0 {
			kid = n.kid(key, esc)
		}
		switch {
		case kid != nil:
			// A later duplicate key voids all that an earlier one held.
			for _, o := range kid.sub {
				vals[o] = Value{}
			}
			if len(kid.kids) > 0 && b[v] == '{' {
				i = kid.object(b, v, vals)
			} else {
				i = jsonraw.Skip(b, v)
			}
			for _, o := range kid.outs {
				vals[o] = Value{Raw: b[v:i], Kind: kindOf[b[v]]}
			}
		case b[v] == '"': // most skipped values are strings
			i = min(len(b), jsonraw.StrClose(b, v)+1)
		default:
			i = jsonraw.Skip(b, v)
		}
		if i+1 < len(b) && b[i] == ',' && b[i+1] == '"' {
			i++ // the compact ,"key"
			continue
		}
		if i = jsonraw.WS(b, i); i >= len(b) || b[i] != ',' {
			break
		}
		i = jsonraw.WS(b, i+1)
	}
	if i < len(b) && b[i] == '}' {
		i++
	}
	return i
}

// kid returns the child named by the raw key, which holds escapes if esc, or nil.
func (n *node) kid(key []byte, esc bool) *node {
	if !esc { // the common case, kept out of the loop below
		for _, k := range n.kids {
			if string(key) == k.seg {
				return k
			}
		}
		return nil
	}
	for _, k := range n.kids {
		// An escape always decodes to fewer bytes than it takes, so only a longer key can
		// match through escapes.
		if len(key) > len(k.seg) && compareEscaped(key, k.seg) == 0 {
			return k
		}
	}
	return nil
}

// KindOf returns the kind of the JSON value whose first byte is c, or 0 when no value starts
// with c.
func KindOf(c byte) Kind { return kindOf[c] }

var kindOf = [256]Kind{
	'"': String, '{': Object, '[': Array, 't': Bool, 'f': Bool, 'n': Null,
	'-': Number, '0': Number, '1': Number, '2': Number, '3': Number, '4': Number,
	'5': Number, '6': Number, '7': Number, '8': Number, '9': Number,
}
