package condition

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// Compile parses src and compiles it into a Cond. Errors name the condition and the place of
// the problem: condition 'event.a ==': column 10: the condition ends too early.
func Compile(src string) (*Cond, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		at, msg := 0, err.Error()
		var fe *file.Error
		if errors.As(err, &fe) {
			at, msg = fe.From, fe.Message
		}
		if msg == "unexpected token EOF" {
			msg = "the condition ends too early"
		}
		return nil, fmt.Errorf("condition '%s': %s: %s", src, where(src, at), msg)
	}
	c := compiler{index: map[string]int{}}
	root, ce := c.cond(tree.Node)
	if ce != nil {
		return nil, fmt.Errorf("condition '%s': %s: %s", src, where(src, ce.at.Location().From), ce.msg)
	}
	return &Cond{src: src, paths: c.paths, fields: fieldpath.NewSet(c.paths...), nf: len(c.paths), root: root}, nil
}

// where describes the position of the rune at index from (what expr's locations count) as
// "column N", or "line L, column N" in a condition of several lines.
func where(src string, from int) string {
	line, col, n := 1, 1, 0
	multi := strings.Contains(src, "\n")
	for _, r := range src {
		if n == from {
			break
		}
		n++
		if col++; r == '\n' {
			line, col = line+1, 1
		}
	}
	if multi {
		return fmt.Sprintf("line %d, column %d", line, col)
	}
	return fmt.Sprintf("column %d", col)
}

// compileError is a problem with one node of the tree.
type compileError struct {
	at  ast.Node
	msg string
}

func errorAt(at ast.Node, format string, args ...any) *compileError {
	return &compileError{at: at, msg: fmt.Sprintf(format, args...)}
}

type compiler struct {
	paths []*fieldpath.Path
	index map[string]int // path -> its index in paths
}

// cond compiles a node that has to be a condition.
func (c *compiler) cond(n ast.Node) (*node, *compileError) {
	switch n := n.(type) {
	case *ast.BinaryNode:
		return c.binary(n)
	case *ast.UnaryNode:
		switch n.Operator {
		case "!", "not":
			if isField(n.Node) {
				return nil, unsupported(n)
			}
			inner, err := c.cond(n.Node)
			if err != nil {
				return nil, err
			}
			return &node{op: opNot, l: inner}, nil
		}
	case *ast.BoolNode:
		return &node{op: opConst, val: n.Value}, nil
	case *ast.CallNode:
		return c.call(n)
	}
	if isField(n) {
		return nil, errorAt(n, "%s is a field, not a condition: compare it (%s == true) or test exists(%s)", n, n, n)
	}
	if _, err := literalOf(n); err != nil {
		return nil, err
	}
	return nil, errorAt(n, "%s is a value, not a condition", n)
}

func (c *compiler) binary(n *ast.BinaryNode) (*node, *compileError) {
	switch n.Operator {
	case "&&", "and", "||", "or":
		l, err := c.cond(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := c.cond(n.Right)
		if err != nil {
			return nil, err
		}
		if n.Operator == "&&" || n.Operator == "and" {
			return &node{op: opAnd, l: l, r: r}, nil
		}
		return &node{op: opOr, l: l, r: r}, nil
	case "==", "!=", "<", "<=", ">", ">=":
		return c.comparison(n)
	case "in":
		return c.in(n)
	case "contains", "startsWith", "endsWith":
		return c.stringOp(n)
	case "matches":
		return c.matches(n)
	}
	return nil, unsupported(n)
}

func (c *compiler) comparison(n *ast.BinaryNode) (*node, *compileError) {
	a, b, err := c.operands(n)
	if err != nil {
		return nil, err
	}
	o := binaryOps[n.Operator]
	if a.field < 0 {
		// Keep the field on the left: 1000 < x is x > 1000.
		a, b = b, a
		o = mirrored[o]
	}
	if o != opEq && b.field < 0 && b.lit.kind != fieldpath.Number && b.lit.kind != fieldpath.String {
		lit := n.Right
		if isField(n.Right) {
			lit = n.Left
		}
		return nil, errorAt(lit, "%s orders numbers and strings, and %s is a %s", n.Operator, lit, b.lit.kind)
	}
	eq := &node{op: o, a: a, b: b}
	if n.Operator == "!=" {
		return &node{op: opNot, l: eq}, nil
	}
	return eq, nil
}

func (c *compiler) in(n *ast.BinaryNode) (*node, *compileError) {
	if !isField(n.Left) {
		return nil, errorAt(n.Left, "the left side of in must be a field, not %s", n.Left)
	}
	a, err := c.operand(n.Left)
	if err != nil {
		return nil, err
	}
	arr, ok := n.Right.(*ast.ArrayNode)
	if !ok {
		return nil, errorAt(n.Right, "the right side of in must be a list of literals, as in [\"a\", 1]")
	}
	list := make([]literal, len(arr.Nodes))
	for i, e := range arr.Nodes {
		if list[i], err = literalOf(e); err != nil {
			return nil, errorAt(e, "the elements of an in list must be literals, not %s", e)
		}
	}
	return &node{op: opIn, a: a, list: list}, nil
}

func (c *compiler) stringOp(n *ast.BinaryNode) (*node, *compileError) {
	a, b, err := c.operands(n)
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		o operand
		n ast.Node
	}{{a, n.Left}, {b, n.Right}} {
		if s.o.field < 0 && s.o.lit.kind != fieldpath.String {
			return nil, errorAt(s.n, "%s works on strings, and %s is a %s", n.Operator, s.n, s.o.lit.kind)
		}
	}
	return &node{op: binaryOps[n.Operator], a: a, b: b}, nil
}

// binaryOps maps the comparison and string operators to their ops; != is compiled as !(==).
var binaryOps = map[string]op{
	"==": opEq, "!=": opEq, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"contains": opContains, "startsWith": opStartsWith, "endsWith": opEndsWith,
}

// mirrored gives the comparison that holds with its operands swapped.
var mirrored = map[op]op{opEq: opEq, opLt: opGt, opLe: opGe, opGt: opLt, opGe: opLe}

func (c *compiler) matches(n *ast.BinaryNode) (*node, *compileError) {
	if !isField(n.Left) {
		return nil, errorAt(n.Left, "the left side of matches must be a field, not %s", n.Left)
	}
	a, err := c.operand(n.Left)
	if err != nil {
		return nil, err
	}
	pat, ok := n.Right.(*ast.StringNode)
	if !ok {
		return nil, errorAt(n.Right, "the pattern of matches must be a string literal, not %s", n.Right)
	}
	re, rerr := regexp.Compile(pat.Value)
	if rerr != nil {
		return nil, errorAt(n.Right, "bad regular expression %s: %v", strconv.Quote(pat.Value), rerr)
	}
	// b is a placeholder string literal: the pattern lives in re.
	return &node{op: opMatches, a: a, b: operand{field: -1, lit: literal{kind: fieldpath.String}}, re: re}, nil
}

func (c *compiler) call(n *ast.CallNode) (*node, *compileError) {
	if id, ok := n.Callee.(*ast.IdentifierNode); !ok || id.Value != "exists" {
		return nil, unsupported(n)
	}
	if len(n.Arguments) != 1 || !isField(n.Arguments[0]) {
		return nil, errorAt(n, "exists takes one field, as in exists(event.card)")
	}
	a, err := c.operand(n.Arguments[0])
	if err != nil {
		return nil, err
	}
	return &node{op: opExists, a: a}, nil
}

// operands compiles both sides of a binary operator, of which at least one is a field.
func (c *compiler) operands(n *ast.BinaryNode) (a, b operand, err *compileError) {
	if a, err = c.operand(n.Left); err != nil {
		return a, b, err
	}
	if b, err = c.operand(n.Right); err != nil {
		return a, b, err
	}
	if a.field < 0 && b.field < 0 {
		return a, b, errorAt(n, "%s compares two literals; one side must be a field", n.Operator)
	}
	return a, b, nil
}

// operand compiles a field or a literal.
func (c *compiler) operand(n ast.Node) (operand, *compileError) {
	if !isField(n) {
		lit, err := literalOf(n)
		if err != nil {
			return operand{}, err
		}
		return operand{field: -1, lit: lit}, nil
	}
	s, err := pathOf(n)
	if err != nil {
		return operand{}, err
	}
	if i, ok := c.index[s]; ok {
		return operand{field: i}, nil
	}
	p, perr := fieldpath.Parse(s)
	if perr != nil {
		return operand{}, errorAt(rootOf(n), "%v", perr)
	}
	if len(c.paths) == maxFields {
		return operand{}, errorAt(n, "a condition reads at most %d different fields", maxFields)
	}
	c.index[s] = len(c.paths)
	c.paths = append(c.paths, p)
	return operand{field: len(c.paths) - 1}, nil
}

// isField reports whether n is written as a field path: a name, or a chain of member
// accesses, possibly malformed, starting from one.
func isField(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return true
	case *ast.MemberNode:
		return isField(n.Node)
	case *ast.ChainNode:
		return isField(n.Node)
	}
	return false
}

// pathOf returns the dotted path a field node spells.
func pathOf(n ast.Node) (string, *compileError) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value, nil
	case *ast.ChainNode:
		// The parser wraps every chain holding a ?. in one ChainNode.
		return "", errorAt(n, "the ?. operator is not supported; a missing field never fails a condition")
	}
	m := n.(*ast.MemberNode) // isField admits nothing else
	prefix, err := pathOf(m.Node)
	if err != nil {
		return "", err
	}
	name, ok := m.Property.(*ast.StringNode)
	if !ok {
		return "", errorAt(m.Property, "indexing with %s is not supported; fields are reached by name", m.Property)
	}
	if strings.Contains(name.Value, ".") {
		return "", errorAt(m.Property, "field name %s cannot be reached: field paths split names on '.'", strconv.Quote(name.Value))
	}
	return prefix + "." + name.Value, nil
}

// rootOf returns the identifier a field path starts from, where its errors point.
func rootOf(n ast.Node) ast.Node {
	for {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return n
		}
		n = m.Node
	}
}

// literalOf compiles a literal: a string, a number (negative ones included), true, false or
// nil.
func literalOf(n ast.Node) (literal, *compileError) {
	switch n := n.(type) {
	case *ast.StringNode:
		return literal{kind: fieldpath.String, str: n.Value, raw: []byte(n.Value)}, nil
	case *ast.IntegerNode:
		return literal{kind: fieldpath.Number, num: float64(n.Value)}, nil
	case *ast.FloatNode:
		return literal{kind: fieldpath.Number, num: n.Value}, nil
	case *ast.BoolNode:
		return literal{kind: fieldpath.Bool, b: n.Value}, nil
	case *ast.NilNode:
		return literal{kind: fieldpath.Null}, nil
	case *ast.UnaryNode:
		if n.Operator == "-" || n.Operator == "+" {
			lit, err := literalOf(n.Node)
			if err != nil || lit.kind != fieldpath.Number {
				return literal{}, errorAt(n, "arithmetic is not supported: %s", n)
			}
			if n.Operator == "-" {
				lit.num = -lit.num
			}
			return lit, nil
		}
	}
	return literal{}, unsupported(n)
}

// unsupported names a construct that conditions do not offer.
func unsupported(n ast.Node) *compileError {
	switch n := n.(type) {
	case *ast.CallNode:
		if m, ok := n.Callee.(*ast.MemberNode); ok {
			return errorAt(n, "method calls such as %s are not supported; use the operators contains, startsWith, endsWith, matches", m)
		}
		return errorAt(n, "function %s is not supported; the only function is exists(field)", n.Callee)
	case *ast.BuiltinNode:
		return errorAt(n, "function %s is not supported; the only function is exists(field)", n.Name)
	case *ast.BinaryNode:
		switch n.Operator {
		case "+", "-", "*", "/", "%", "**", "^":
			return errorAt(n, "arithmetic is not supported: %s", n)
		case "&&", "and", "||", "or", "==", "!=", "<", "<=", ">", ">=", "in", "contains", "startsWith", "endsWith", "matches":
			return errorAt(n, "%s is a condition, not a value", n)
		}
		return errorAt(n, "operator %s is not supported", n.Operator)
	case *ast.UnaryNode:
		if (n.Operator == "!" || n.Operator == "not") && isField(n.Node) {
			// ! and not bind tighter than comparisons: !a == 1 is (!a) == 1.
			return errorAt(n, "%s applies to %s alone, which is a field, not a condition: put the comparison in parentheses, as in %s(%s == ...), or test exists(%s)",
				n.Operator, n.Node, n.Operator, n.Node, n.Node)
		}
		return errorAt(n, "%s is a condition, not a value", n)
	case *ast.ConditionalNode:
		if n.Ternary {
			// The parser places a ternary at its end; its first branch is nearer the '?'.
			return errorAt(n.Exp1, "if/else and ?: are not supported")
		}
		return errorAt(n, "if/else and ?: are not supported")
	case *ast.VariableDeclaratorNode:
		return errorAt(n, "let is not supported")
	case *ast.SequenceNode:
		return errorAt(n, "a condition is one expression; ';' is not supported")
	case *ast.ArrayNode:
		return errorAt(n, "a list is only allowed on the right of in")
	case *ast.MapNode:
		return errorAt(n, "maps are not supported")
	case *ast.SliceNode:
		return errorAt(n, "slices are not supported")
	case *ast.BytesNode:
		return errorAt(n, "byte strings are not supported")
	}
	return errorAt(n, "%s is not supported", n)
}
