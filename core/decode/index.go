package decode

// The member index ("tape"). With Scanner.Index set, Scan records where the members of each
// event's objects lie while it validates them, so that the stages after it can jump to a field
// instead of scanning the event again. These functions mirror event and object, and fail in
// exactly the same places, so that the plain scan pays nothing for the index.

// IndexDepth is how deep an indexing Scan records members: the event object is level 1, so
// members of objects at levels 1..3 are recorded (event.card.number is the deepest).
const IndexDepth = 3

// Member is one member of an object that an indexing Scan recorded.
//
// The indexed objects are the event object and every object that is the value of a member of
// an indexed object, down to level IndexDepth; objects inside arrays are not indexed. Members
// are recorded depth-first, each before the members of its value, so a non-zero Kids is the
// member's own index + 1. Index 0 is the first member of the first event, which is no object's
// next or first member, so 0 can mean "none" in Next and Kids. Duplicate keys and the members
// that Event.Cut covers are recorded like any other.
type Member struct {
	Key        Span  // the key's text between its quotes, escapes as written
	Value      Span  // the value, quotes included for a string
	Next       int32 // index in Scanner.Members of the next member of the same object; 0 after the last
	Kids       int32 // for an object value that was indexed and has members: index of its first member; else 0
	KeyEscaped bool  // Key holds a backslash escape
}

// eventIdx is event that also records the members of the event object and of the objects
// below it into s.Members.
func (s *Scanner) eventIdx(b []byte, i int, ev *Event) int {
	ev.Members = int32(len(s.Members))
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	ncut := 0
	prevComma, commaTaken := -1, false
	prev := -1
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
		m := s.addMember(keyStart, end, esc, prev)
		prev = m
		vStart := s.ws(b, i+1)
		vEnd := s.memberValue(b, vStart, 1, m)
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

// objectIdx is object that also records the object's members, and those of the objects below
// it, into s.Members. depth is at most IndexDepth.
func (s *Scanner) objectIdx(b []byte, i, depth int) int {
	if depth > s.maxDepth {
		return s.fail(ekDepth, i)
	}
	i = s.ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	prev := -1
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
		m := s.addMember(keyStart, end, esc, prev)
		prev = m
		if i = s.memberValue(b, s.ws(b, i+1), depth, m); i < 0 {
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

// addMember appends the member whose key string is b[keyStart:keyEnd], links it after the
// member at index prev of the same object (-1 for none), and returns its index.
func (s *Scanner) addMember(keyStart, keyEnd int, esc bool, prev int) int {
	m := len(s.Members)
	s.Members = append(s.Members, Member{Key: Span{int32(keyStart + 1), int32(keyEnd - 1)}, KeyEscaped: esc})
	if prev >= 0 {
		s.Members[prev].Next = int32(m)
	}
	return m
}

// memberValue scans the value at b[i] of member m of an indexed object at level depth, and
// records it. s.Members may grow meanwhile, so m is an index, not a pointer.
func (s *Scanner) memberValue(b []byte, i, depth, m int) int {
	var end int
	if depth < IndexDepth && i < len(b) && b[i] == '{' {
		if end = s.objectIdx(b, i, depth+1); end >= 0 && len(s.Members) > m+1 {
			s.Members[m].Kids = int32(m + 1)
		}
	} else {
		end = s.value(b, i, depth)
	}
	if end >= 0 {
		s.Members[m].Value = Span{int32(i), int32(end)}
	}
	return end
}
