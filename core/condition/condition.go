// Package condition compiles route and filter conditions, written in expr-lang's syntax
// (event.status == "declined" && event.amount > 1000 || metadata.env in ["prod", "staging"]),
// into predicates that read an event's JSON bytes directly and evaluate without allocating.
//
// Only a small, fully implemented subset of expr is accepted; Compile rejects the rest with
// the column of the offending construct:
//
//   - fields are fieldpath paths, rooted at the event's top-level object: source,
//     event.card.number, and event["user-agent"] for names that are not identifiers. At most
//     32 different fields per condition.
//   - comparisons == != < <= > >= between a field and a literal (string, number, true, false,
//     nil), in either order, or between two fields. Numbers compare as float64, strings in
//     byte order of their unescaped content; bools and nil compare only with == and !=.
//     A missing field or a type mismatch makes a comparison false, and != is !(==), so it is
//     then true. field == nil holds when the field is missing or null. Objects and arrays
//     equal nothing.
//   - field in [literals], field not in [literals]: == against each element.
//   - contains, startsWith, endsWith between strings (a field and a string literal, or two
//     fields); false when a field is missing or not a string.
//   - field matches "RE2 pattern", on the unescaped content of a string field.
//   - exists(field): the field is present, even if null.
//   - && || ! and or not, parentheses, and the constants true and false. As in expr, ! and
//     not bind tighter than comparisons: write !(a == 1), not !a == 1 (which Compile rejects).
//
// Numbers are float64 on both sides, so integers beyond 2^53 compare approximately.
package condition

import (
	"bytes"
	"regexp"
	"sync"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// maxFields bounds the distinct fields one condition reads, so that Eval can keep their
// values in a fixed array on its stack.
const maxFields = 32

// Cond is a compiled condition. It is immutable and safe for concurrent use.
type Cond struct {
	src    string
	paths  []*fieldpath.Path
	fields *fieldpath.Set
	nf     int
	root   *node
}

// String returns the condition's source.
func (c *Cond) String() string { return c.src }

// Eval reports whether obj, one JSON object (the event as stored), satisfies the condition.
// It reads every field the condition names in one pass over obj, then evaluates.
func (c *Cond) Eval(obj []byte) bool {
	var vals [maxFields]fieldpath.Value
	c.fields.Lookup(obj, vals[:c.nf])
	return c.root.eval(vals[:c.nf])
}

// Fields returns the paths the condition reads, in the order EvalValues takes their values.
// The slice must not be changed.
func (c *Cond) Fields() []*fieldpath.Path { return c.paths }

// EvalValues is Eval with the values of Fields already looked up by the caller (vals[i] holds
// the value of Fields()[i], the zero Value when missing), so that one pass over an event can
// serve several conditions.
func (c *Cond) EvalValues(vals []fieldpath.Value) bool {
	return c.root.eval(vals[:c.nf])
}

type op uint8

const (
	opConst op = iota
	opAnd
	opOr
	opNot
	opExists
	opEq
	opLt
	opLe
	opGt
	opGe
	opIn
	opContains
	opStartsWith
	opEndsWith
	opMatches
)

// node is one operation of the compiled tree. It is a single concrete type rather than an
// interface because values passed through interface calls escape to the heap, and Eval's
// field values live on its stack.
type node struct {
	op   op
	l, r *node // operands of && || !
	a, b operand
	list []literal      // the elements of in
	re   *regexp.Regexp // the pattern of matches
	val  bool           // the value of a constant
}

// operand is a field, by its index in Eval's values, or a literal.
type operand struct {
	field int // -1 for a literal
	lit   literal
}

type literal struct {
	kind fieldpath.Kind // String, Number, Bool or Null
	str  string
	raw  []byte // str, for the operators that work on byte slices
	num  float64
	b    bool
}

func (n *node) eval(vals []fieldpath.Value) bool {
	switch n.op {
	case opConst:
		return n.val
	case opAnd:
		return n.l.eval(vals) && n.r.eval(vals)
	case opOr:
		return n.l.eval(vals) || n.r.eval(vals)
	case opNot:
		return !n.l.eval(vals)
	case opExists:
		return vals[n.a.field].Kind != 0
	case opEq:
		if n.b.field < 0 {
			return equalLit(vals[n.a.field], &n.b.lit)
		}
		return equal(vals[n.a.field], vals[n.b.field])
	case opLt, opLe, opGt, opGe:
		c, ok := n.order(vals)
		switch {
		case !ok:
			return false
		case n.op == opLt:
			return c < 0
		case n.op == opLe:
			return c <= 0
		case n.op == opGt:
			return c > 0
		default:
			return c >= 0
		}
	case opIn:
		x := vals[n.a.field]
		for i := range n.list {
			if equalLit(x, &n.list[i]) {
				return true
			}
		}
		return false
	default:
		return n.text(vals)
	}
}

// equalLit is field == literal.
func equalLit(x fieldpath.Value, l *literal) bool {
	if l.kind == fieldpath.Null {
		return x.Kind == 0 || x.Kind == fieldpath.Null
	}
	if x.Kind != l.kind {
		return false
	}
	switch l.kind {
	case fieldpath.String:
		return x.EqualString(l.str)
	case fieldpath.Number:
		f, ok := x.Float()
		return ok && f == l.num
	default:
		b, ok := x.Bool()
		return ok && b == l.b
	}
}

// equal is field == field.
func equal(x, y fieldpath.Value) bool {
	if x.Kind == 0 || x.Kind != y.Kind {
		return false
	}
	switch x.Kind {
	case fieldpath.String:
		if bytes.Equal(x.Raw, y.Raw) {
			return true
		}
		var sx, sy *[]byte
		tx, ty := text(x, &sx), text(y, &sy)
		eq := bytes.Equal(tx, ty)
		release(sx, sy)
		return eq
	case fieldpath.Number:
		fx, okx := x.Float()
		fy, oky := y.Float()
		return okx && oky && fx == fy
	case fieldpath.Bool:
		return x.Raw[0] == y.Raw[0]
	case fieldpath.Null:
		return true
	default:
		return false
	}
}

// order compares the operands of < <= > >=; false means they are not two numbers or two
// strings.
func (n *node) order(vals []fieldpath.Value) (int, bool) {
	x := vals[n.a.field]
	if n.b.field < 0 {
		l := &n.b.lit
		if l.kind == fieldpath.String {
			return x.CompareString(l.str), x.Kind == fieldpath.String
		}
		f, ok := x.Float()
		return compareFloat(f, l.num), ok
	}
	y := vals[n.b.field]
	if x.Kind != y.Kind {
		return 0, false
	}
	switch x.Kind {
	case fieldpath.Number:
		fx, okx := x.Float()
		fy, oky := y.Float()
		return compareFloat(fx, fy), okx && oky
	case fieldpath.String:
		var sx, sy *[]byte
		c := bytes.Compare(text(x, &sx), text(y, &sy))
		release(sx, sy)
		return c, true
	default:
		return 0, false
	}
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	default:
		return 0
	}
}

// text evaluates contains, startsWith, endsWith and matches.
func (n *node) text(vals []fieldpath.Value) bool {
	var sa, sb *[]byte
	a, oka := n.a.text(vals, &sa)
	b, okb := n.b.text(vals, &sb)
	var r bool
	if oka && okb {
		switch n.op {
		case opContains:
			r = bytes.Contains(a, b)
		case opStartsWith:
			r = bytes.HasPrefix(a, b)
		case opEndsWith:
			r = bytes.HasSuffix(a, b)
		default:
			r = n.re.Match(a)
		}
	}
	release(sa, sb)
	return r
}

// text returns the unescaped content of a string operand; false for a field that is missing
// or not a string. It borrows a scratch buffer into *scratch only for a field with escapes.
func (o *operand) text(vals []fieldpath.Value, scratch **[]byte) ([]byte, bool) {
	if o.field < 0 {
		return o.lit.raw, true
	}
	x := vals[o.field]
	if x.Kind != fieldpath.String {
		return nil, false
	}
	return text(x, scratch), true
}

// text returns the unescaped content of the string x: a view into the event when x holds no
// escape, else x unescaped into a buffer borrowed from scratchPool into *scratch.
func text(x fieldpath.Value, scratch **[]byte) []byte {
	if len(x.Raw) < 2 {
		return nil // only for invalid JSON, which Eval need not understand
	}
	if c := x.Raw[1 : len(x.Raw)-1]; bytes.IndexByte(c, '\\') < 0 {
		return c
	}
	buf := scratchPool.Get().(*[]byte)
	*buf = x.Str((*buf)[:0])
	*scratch = buf
	return *buf
}

// scratchPool holds the buffers that escaped strings are unescaped into. Shard workers
// evaluate conditions concurrently, so a Cond cannot own one.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// release returns the buffers that text borrowed.
func release(a, b *[]byte) {
	if a != nil {
		scratchPool.Put(a)
	}
	if b != nil {
		scratchPool.Put(b)
	}
}
