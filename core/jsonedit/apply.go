package jsonedit

import "github.com/ingestd/ingestd/core/jsonraw"

// Apply appends obj, one JSON object, to dst with the edits of p applied as e says, and returns
// the extended buffer. e must come from p.NewEdits, and dst must not overlap obj (set values
// may be views into obj, as fieldpath.Lookup returns them). Without an active edit or a Keep,
// obj is copied as it is.
//
// Apply trusts obj to be valid JSON, as events are once the ingest path has checked them; on
// invalid input it returns nonsense rather than panicking.
func (p *Program) Apply(dst, obj []byte, e *Edits) []byte {
	if e.p != p {
		panic("jsonedit: Apply with the Edits of another Program")
	}
	i := jsonraw.WS(obj, 0)
	if !e.prepare() && !p.keep || i >= len(obj) || obj[i] != '{' {
		return append(dst, obj...)
	}
	dst = append(dst, obj[:i]...)
	dst, i = e.object(dst, obj, i, p.root, p.keep, mapping{})
	return append(dst, obj[i:]...)
}

// mapping is the mapping in force in the subtree Apply is walking; mappings do not nest.
type mapping struct {
	m       StringMapper // nil outside a mapped subtree
	numbers bool         // numbers go through m too
}

// value appends the value at b[i], i < len(b), with the edits below n applied (n is nil
// outside the trie), and returns the offset after it. filter says whether the members of an
// object at n are filtered by Keep; m, when it has a mapper, maps every string (and number).
func (e *Edits) value(dst, b []byte, i int, n *node, filter bool, m mapping) ([]byte, int) {
	switch b[i] {
	case '{':
		if filter || m.m != nil || n != nil && e.active[n.id] > 0 {
			return e.object(dst, b, i, n, filter, m)
		}
	case '[':
		if m.m != nil {
			return e.array(dst, b, i, m)
		}
	case '"':
		if m.m != nil {
			return e.mapString(dst, b, i, m.m)
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if m.numbers {
			return e.mapNumber(dst, b, i, m.m)
		}
	}
	j := jsonraw.Skip(b, i)
	return append(dst, b[i:j]...), j
}

// object walks the object at b[i] == '{' for value.
func (e *Edits) object(dst, b []byte, i int, n *node, filter bool, m mapping) ([]byte, int) {
	dst = append(dst, '{')
	if n != nil {
		for _, k := range n.kids {
			e.seen[k.id] = false
		}
	}
	first := true
	// pos is where the next member's text starts: after the brace or the comma, before the
	// whitespace that leads to the key.
	pos := i + 1
	// run, when not negative, starts the members copied as they are, up to runEnd, that
	// are yet to be written.
	run, runEnd := -1, 0
	for {
		k := jsonraw.WS(b, pos)
		if k >= len(b) || b[k] != '"' {
			break
		}
		ke, esc := jsonraw.StrEnd(b, k)
		c := jsonraw.WS(b, ke+1)
		if c >= len(b) || b[c] != ':' {
			return append(dst, b[pos:]...), len(b)
		}
		vs := jsonraw.WS(b, c+1)
		if vs >= len(b) {
			return append(dst, b[pos:]...), len(b)
		}
		var kid *node
		if n != nil {
			kid = e.kid(n, b[k+1:ke], esc)
		}
		// lead is the member up to its value: whitespace, key, colon.
		lead := b[pos:vs]
		var ve int
		switch {
		case kid == nil && filter:
			ve = jsonraw.Skip(b, vs) // not kept
		case kid == nil && m.m == nil:
			// Copied as it is, with the members around it that are too, commas included.
			ve = jsonraw.Skip(b, vs)
			if run < 0 {
				run = pos
			}
			runEnd = ve
		default:
			if run >= 0 {
				dst, first = member(dst, first, b[run:runEnd])
				run = -1
			}
			if kid == nil {
				dst, first = member(dst, first, lead)
				dst, ve = e.value(dst, b, vs, nil, false, m)
				break
			}
			e.seen[kid.id] = true
			dst, first, ve = e.known(dst, first, lead, b, vs, kid, filter, m)
		}
		if ve <= vs {
			// Only invalid input has a value that takes no bytes.
			return append(dst, b[ve:]...), len(b)
		}
		if j := jsonraw.WS(b, ve); j < len(b) && b[j] == ',' {
			pos = j + 1
		} else {
			pos = ve
		}
	}
	if run >= 0 {
		dst, first = member(dst, first, b[run:runEnd])
	}
	if n != nil {
		for _, kid := range n.kids {
			if !e.seen[kid.id] && e.live[kid.id] > 0 {
				dst, first = member(dst, first, nil)
				dst = append(dst, kid.key...)
				dst = e.build(dst, kid)
			}
		}
	}
	k := jsonraw.WS(b, pos)
	if k >= len(b) || b[k] != '}' {
		return append(dst, b[pos:]...), len(b)
	}
	return append(dst, b[pos:k+1]...), k + 1
}

// known appends the member of the object being walked whose key names kid, the value of which
// starts at b[vs], unless the member goes. It returns the offset after the value.
func (e *Edits) known(dst []byte, first bool, lead, b []byte, vs int, kid *node, filter bool, m mapping) ([]byte, bool, int) {
	switch s := kid.slot; kid.op {
	case opSet:
		if raw := e.raws[s]; raw != nil {
			dst, first = member(dst, first, lead)
			return append(dst, raw...), first, jsonraw.Skip(b, vs)
		}
	case opDelete:
		if e.on[s] {
			return dst, first, jsonraw.Skip(b, vs)
		}
	case opMap:
		if e.on[s] && e.mappers[s] != nil {
			m = mapping{e.mappers[s], e.p.slots[s].numbers}
		}
	}
	sub := filter && !kid.keepAll
	switch {
	case sub && !kid.keepAnc && e.live[kid.id] == 0:
		return dst, first, jsonraw.Skip(b, vs) // not kept
	case b[vs] == '{':
		dst, first = member(dst, first, lead)
		dst, ve := e.value(dst, b, vs, kid, sub, m)
		return dst, first, ve
	case e.live[kid.id] > 0:
		// Sets go below a value that is not an object: it becomes one.
		dst, first = member(dst, first, lead)
		return e.build(dst, kid), first, jsonraw.Skip(b, vs)
	case sub:
		// A kept path's ancestor that is not an object: its structure is an empty one.
		dst, first = member(dst, first, lead)
		return append(dst, '{', '}'), first, jsonraw.Skip(b, vs)
	}
	dst, first = member(dst, first, lead)
	dst, ve := e.value(dst, b, vs, nil, false, m)
	return dst, first, ve
}

// member starts a member in the output: a comma unless it is the first, then lead.
func member(dst []byte, first bool, lead []byte) ([]byte, bool) {
	if !first {
		dst = append(dst, ',')
	}
	return append(dst, lead...), false
}

// build appends the value that the active sets at or below n create where n is missing.
func (e *Edits) build(dst []byte, n *node) []byte {
	if n.op == opSet && e.raws[n.slot] != nil {
		return append(dst, e.raws[n.slot]...)
	}
	dst = append(dst, '{')
	first := true
	for _, k := range n.kids {
		if e.live[k.id] > 0 {
			dst, first = member(dst, first, nil)
			dst = append(dst, k.key...)
			dst = e.build(dst, k)
		}
	}
	return append(dst, '}')
}

// kid returns n's child that the raw key names, or nil; the key holds escapes if esc.
func (e *Edits) kid(n *node, key []byte, esc bool) *node {
	if esc {
		e.dec = jsonraw.AppendUnescaped(e.dec[:0], key)
		key = e.dec
	}
	for _, k := range n.kids {
		if string(key) == k.seg {
			return k
		}
	}
	return nil
}

// array maps the strings (and numbers) of the array at b[i] == '['; nothing else in it changes.
func (e *Edits) array(dst, b []byte, i int, m mapping) ([]byte, int) {
	dst = append(dst, '[')
	pos := i + 1
	for {
		k := jsonraw.WS(b, pos)
		if k >= len(b) {
			return append(dst, b[pos:]...), len(b)
		}
		if b[k] == ']' {
			return append(dst, b[pos:k+1]...), k + 1
		}
		dst = append(dst, b[pos:k]...)
		var ve int
		dst, ve = e.value(dst, b, k, nil, false, m)
		if ve <= k {
			return append(dst, b[ve:]...), len(b)
		}
		if j := jsonraw.WS(b, ve); j < len(b) && b[j] == ',' {
			dst = append(dst, b[ve:j+1]...)
			pos = j + 1
		} else {
			pos = ve
		}
	}
}

// mapString passes the content of the string at b[i] == '"' through m.
func (e *Edits) mapString(dst, b []byte, i int, m StringMapper) ([]byte, int) {
	end, esc := jsonraw.StrEnd(b, i)
	if end >= len(b) {
		return append(dst, b[i:]...), len(b)
	}
	content := b[i+1 : end]
	if esc {
		e.dec = jsonraw.AppendUnescaped(e.dec[:0], content)
		content = e.dec
	}
	out, changed := m.MapString(e.out[:0], content)
	e.out = out[:0]
	if !changed {
		return append(dst, b[i:end+1]...), end + 1
	}
	return AppendString(dst, out), end + 1
}

// mapNumber passes the text of the number at b[i] through m; a changed number becomes a string.
func (e *Edits) mapNumber(dst, b []byte, i int, m StringMapper) ([]byte, int) {
	end := jsonraw.Skip(b, i) // past b[i], which is no delimiter
	out, changed := m.MapString(e.out[:0], b[i:end])
	e.out = out[:0]
	if !changed {
		return append(dst, b[i:end]...), end
	}
	return AppendString(dst, out), end
}
