package decode

import "encoding/binary"

// Field finding. With Scanner.Fields set, Scan looks up a fixed set of dotted paths in each
// event while it validates it and records only where their values lie, so that later stages
// reach those fields without searching the event again. eventFields and objectFields mirror
// event and object and fail in exactly the same places; everything off the paths goes through
// the plain functions, and a Scan without Fields pays one check per event.

// Fields is a set of dotted field paths that a Scan finds in every event as it validates it,
// so that later stages need not search the event again. Build it once with Add; it is then
// read-only and safe to share between Scanners on several goroutines.
type Fields struct {
	root   fieldNode // holds the first segments; it has no segment or slot of its own
	n      int       // slots handed out
	maxLen int       // the longest segment, which bounds the keys worth unescaping
	// known holds the root's kids named like the members the scanner knows (source, event,
	// metadata...), which it has identified already by the time it would match them.
	known [len(fieldNames)]*fieldNode
}

// fieldNode is one segment of the paths of a Fields, a trie.
type fieldNode struct {
	seg   string
	slot  int
	lens  uint64 // lenBit of each kid's segment: most keys are turned away by one test
	kids  []*fieldNode
	heads []kidHead // per kid: what match compares first, without following the pointer
}

// kidHead is a kid's segment length and its first eight bytes, little-endian, zero-padded.
// Keys cannot hold a raw zero byte, so for segments of up to eight bytes equal heads and
// lengths mean equal segments.
type kidHead struct {
	head uint64
	n    int
}

// headOf packs the first eight bytes of s as kidHead.head does. A key is a slice of the body,
// so the bytes after a short one can most often be loaded with it and masked off.
func headOf(s []byte) uint64 {
	switch {
	case len(s) >= 8:
		return binary.LittleEndian.Uint64(s)
	case cap(s) >= 8:
		return binary.LittleEndian.Uint64(s[:8]) & (1<<(8*len(s)) - 1)
	}
	var h uint64
	for i := len(s) - 1; i >= 0; i-- {
		h = h<<8 | uint64(s[i])
	}
	return h
}

// NewFields returns an empty set.
func NewFields() *Fields { return &Fields{} }

// Add adds the path made of segs (each segment is a member name, matched after unescaping
// the key; segments are ASCII letters, digits and _ @ $ -) and every prefix of it, and
// returns the path's slot. Adding a path again returns the same slot. Prefixes get their own
// slots (Add(segs[:k]...) returns them). Add panics if segs is empty or a segment breaks those
// rules: paths come from configuration that has already checked them.
func (f *Fields) Add(segs ...string) int {
	if len(segs) == 0 {
		panic("decode: Fields.Add of an empty path")
	}
	for _, seg := range segs {
		if !validSegment(seg) {
			panic("decode: Fields.Add of an invalid segment " + seg)
		}
	}
	n := &f.root
	for _, seg := range segs {
		n = f.child(n, seg)
	}
	return n.slot
}

// child returns the kid of n named seg, adding it first if need be.
func (f *Fields) child(n *fieldNode, seg string) *fieldNode {
	for _, k := range n.kids {
		if k.seg == seg {
			return k
		}
	}
	k := &fieldNode{seg: seg, slot: f.n}
	f.n++
	if fd := fieldOf([]byte(seg)); n == &f.root && fd != fOther {
		f.known[fd] = k
	}
	n.kids = append(n.kids, k)
	n.heads = append(n.heads, kidHead{headOf([]byte(seg)), len(seg)})
	n.lens |= lenBit(len(seg))
	f.maxLen = max(f.maxLen, len(seg))
	return k
}

// validSegment reports whether seg is a non-empty run of ASCII letters, digits and _ @ $ -,
// the bytes for which matching after unescapeASCII is exact.
func validSegment(seg string) bool {
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c-'0' <= 9, (c|0x20)-'a' <= 25, c == '_', c == '@', c == '$', c == '-':
		default:
			return false
		}
	}
	return seg != ""
}

// Len returns the number of slots.
func (f *Fields) Len() int { return f.n }

// lenBit stands for a key length in fieldNode.lens; lengths from 63 up share a bit.
func lenBit(n int) uint64 { return 1 << min(n, 63) }

// match returns the kid of n named key, or nil. Callers test n.lens first.
func (n *fieldNode) match(key []byte) *fieldNode {
	h := headOf(key)
	for i, kh := range n.heads {
		if kh.head == h && kh.n == len(key) && (len(key) <= 8 || n.kids[i].seg[8:] == string(key[8:])) {
			return n.kids[i]
		}
	}
	return nil
}

// Found returns, for event k of the last successful Scan with Fields set, the value span of
// each slot (quotes included for strings): the zero Span when the event lacks the field, or
// when a value on the way is not an object. Objects inside arrays are not searched (a path
// never goes through an array). The slice is the Scanner's; valid until the next Scan. It is
// nil when that Scan had no Fields, or Fields without paths.
func (s *Scanner) Found(k int) []Span {
	if s.nSlots == 0 {
		return nil
	}
	i := k * s.nSlots
	return s.spans[i : i+s.nSlots : i+s.nSlots]
}

// mayName reports whether key, the raw text of a string, might name a kid of n: a key with
// escapes might, otherwise its length must be one of theirs. It inlines, so that the many keys
// it turns away cost no call.
func (n *fieldNode) mayName(key []byte, esc bool) bool {
	return esc || n.lens&lenBit(len(key)) != 0
}

// kidOf returns the kid of n that key, the raw text of a string, names, or nil; esc tells
// that key holds escapes.
func (s *Scanner) kidOf(n *fieldNode, key []byte, esc bool) *fieldNode {
	if esc {
		// An escape spells one byte in at most 6, so a longer key decodes too long to match.
		if len(key) > 6*s.Fields.maxLen {
			return nil
		}
		s.scratch = unescapeASCII(s.scratch[:0], key)
		key = s.scratch
	}
	if n.lens&lenBit(len(key)) == 0 {
		return nil
	}
	return n.match(key)
}

// eventFields is event that also finds s.Fields in the event object.
func (s *Scanner) eventFields(b []byte, i int, ev *Event) int {
	root := &s.Fields.root
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	ncut := 0
	prevComma, commaTaken := -1, false
	for {
		if i >= len(b) || b[i] != '"' {
			return s.fail(ekKey, i)
		}
		keyStart := i
		end, esc := s.str(b, i)
		if end < 0 {
			return -1
		}
		key := b[keyStart+1 : end-1]
		f := fieldOf(key)
		if esc {
			f = fieldOfEscaped(key)
		}
		if i = s.ws(b, end); i >= len(b) || b[i] != ':' {
			return s.fail(ekColon, i)
		}
		vStart := s.ws(b, i+1)
		var k *fieldNode
		switch {
		case f != fOther:
			k = s.Fields.known[f]
		case root.mayName(key, esc):
			k = s.kidOf(root, key, esc)
		}
		var vEnd int
		if k != nil {
			vEnd = s.findValue(b, vStart, 1, k)
		} else {
			vEnd = s.value(b, vStart, 1)
		}
		if vEnd < 0 {
			return -1
		}
		if f != fOther {
			s.member(ev, f, b, Span{int32(vStart), int32(vEnd)})
		}
		if i = s.ws(b, vEnd); i >= len(b) || (b[i] != ',' && b[i] != '}') {
			return s.fail(ekObjEnd, i)
		}
		took := false
		if isCut(f) && ncut < len(ev.Cut) {
			ev.Cut[ncut], took = cutSpan(b, keyStart, vEnd, i, prevComma, commaTaken)
			ncut++
		}
		if b[i] == '}' {
			return i + 1
		}
		prevComma, commaTaken = i, took
		i = s.ws(b, i+1)
	}
}

// objectFields is object that also finds the paths below node n in the object.
func (s *Scanner) objectFields(b []byte, i, depth int, n *fieldNode) int {
	if depth > s.maxDepth {
		return s.fail(ekDepth, i)
	}
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	lens := n.lens // kept in a register across the calls below
	for {
		if i >= len(b) || b[i] != '"' {
			return s.fail(ekKey, i)
		}
		keyStart := i
		end, esc := s.str(b, i)
		if end < 0 {
			return -1
		}
		if i = s.ws(b, end); i >= len(b) || b[i] != ':' {
			return s.fail(ekColon, i)
		}
		i = s.ws(b, i+1)
		var k *fieldNode
		switch key := b[keyStart+1 : end-1]; {
		case esc:
			k = s.kidOf(n, key, esc)
		case lens&lenBit(len(key)) != 0:
			k = n.match(key)
		}
		switch {
		case k == nil:
			i = s.value(b, i, depth)
		case len(k.kids) == 0:
			// A leaf, the most common find, recorded here rather than in findValue.
			v := i
			if i = s.value(b, i, depth); i >= 0 {
				s.dup = s.dup || s.cur[k.slot] != (Span{})
				s.cur[k.slot] = Span{int32(v), int32(i)}
			}
		default:
			i = s.findValue(b, i, depth, k)
		}
		if i < 0 {
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

// findValue scans the value at b[i] of a member that node k names, in an object at level
// depth, records its span in k's slot, and searches it when it is an object and k leads on.
func (s *Scanner) findValue(b []byte, i, depth int, k *fieldNode) int {
	if s.cur[k.slot] != (Span{}) {
		s.dup = true
	}
	var end int
	if len(k.kids) > 0 && i < len(b) && b[i] == '{' {
		end = s.objectFields(b, i, depth+1, k)
	} else {
		end = s.value(b, i, depth)
	}
	if end >= 0 {
		s.cur[k.slot] = Span{int32(i), int32(end)}
	}
	return end
}
