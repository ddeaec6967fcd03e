package parse

import "fmt"

// maxDepth bounds the nesting of a parsed JSON value, as the decoder bounds events by default.
const maxDepth = 64

// compactJSON checks that b holds exactly one JSON value nesting at most maxDepth levels, and
// rewrites it in place without the blanks around it and without the CRs and LFs between its
// tokens, so that it fits on the event's one line. It returns the value's new length.
//
// Neither encoding/json.Valid (no depth bound, and a second pass would be needed to drop the
// line breaks) nor sonic.Valid (it accepts raw control bytes and unknown escapes in strings,
// which would put invalid JSON into events) does the job; this one pass is strict and allocates
// nothing. It trusts b to be valid UTF-8, as the unescaped content of a checked event is.
func compactJSON(b []byte) (int, error) {
	c := compactor{b: b}
	c.i = c.skipBlanks(0)
	c.from = c.i
	if err := c.value(); err != nil {
		return 0, err
	}
	end := c.i
	if c.i = c.skipBlanks(c.i); c.i < len(b) {
		return 0, c.unexpected()
	}
	return c.w + copy(b[c.w:], b[c.from:end]), nil
}

// compactor walks one value. The bytes it keeps move down to b[:w] lazily: b[from:i] is kept
// but not yet moved, so that a value without line breaks is never copied.
type compactor struct {
	b       []byte
	i, w    int
	from    int
	depth   int
	inArray uint64 // bit d-1 tells whether the container at depth d is an array
}

func (c *compactor) skipBlanks(i int) int {
	for i < len(c.b) && (c.b[i] == ' ' || c.b[i] == '\t' || c.b[i] == '\n' || c.b[i] == '\r') {
		i++
	}
	return i
}

// blanks skips the whitespace between tokens, dropping CRs and LFs and keeping the rest.
func (c *compactor) blanks() {
	for ; c.i < len(c.b); c.i++ {
		switch c.b[c.i] {
		case ' ', '\t':
		case '\n', '\r':
			c.w += copy(c.b[c.w:], c.b[c.from:c.i])
			c.from = c.i + 1
		default:
			return
		}
	}
}

func (c *compactor) unexpected() error {
	if c.i >= len(c.b) {
		return fmt.Errorf("invalid JSON: it ends early")
	}
	return fmt.Errorf("invalid JSON: unexpected %q at byte %d", c.b[c.i], c.i)
}

// value reads one value at c.i, containers included, with a loop and a bit stack rather than
// recursion.
func (c *compactor) value() error {
	for {
		// A value is expected at c.i.
		if c.i >= len(c.b) {
			return c.unexpected()
		}
		switch ch := c.b[c.i]; ch {
		case '{', '[':
			if c.depth == maxDepth {
				return fmt.Errorf("invalid JSON: nesting deeper than %d levels at byte %d", maxDepth, c.i)
			}
			c.depth++
			c.inArray &^= 1 << (c.depth - 1)
			if ch == '[' {
				c.inArray |= 1 << (c.depth - 1)
			}
			c.i++
			c.blanks()
			if c.i < len(c.b) && c.b[c.i] == ch+2 { // '{'+2 == '}', '['+2 == ']'
				c.i++
				c.depth--
				break
			}
			if ch == '{' {
				if err := c.key(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if err := c.str(); err != nil {
				return err
			}
		case 't':
			if err := c.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := c.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := c.literal("null"); err != nil {
				return err
			}
		default:
			if err := c.number(); err != nil {
				return err
			}
		}
		// A value ended: close the containers it ends, until a comma asks for another one.
		for {
			if c.depth == 0 {
				return nil
			}
			c.blanks()
			if c.i >= len(c.b) {
				return c.unexpected()
			}
			array := c.inArray>>(c.depth-1)&1 == 1
			ch := c.b[c.i]
			if ch == ',' {
				c.i++
				c.blanks()
				if !array {
					if err := c.key(); err != nil {
						return err
					}
				}
				break
			}
			if array && ch != ']' || !array && ch != '}' {
				return c.unexpected()
			}
			c.i++
			c.depth--
		}
	}
}

// key reads a member's key and colon, and the blanks up to its value.
func (c *compactor) key() error {
	if c.i >= len(c.b) || c.b[c.i] != '"' {
		return c.unexpected()
	}
	if err := c.str(); err != nil {
		return err
	}
	c.blanks()
	if c.i >= len(c.b) || c.b[c.i] != ':' {
		return c.unexpected()
	}
	c.i++
	c.blanks()
	return nil
}

// str reads the string at c.i == '"'.
func (c *compactor) str() error {
	for c.i++; c.i < len(c.b); c.i++ {
		switch ch := c.b[c.i]; {
		case ch == '"':
			c.i++
			return nil
		case ch < 0x20:
			return fmt.Errorf("invalid JSON: control byte %#02x in a string at byte %d", ch, c.i)
		case ch == '\\':
			if c.i+1 >= len(c.b) {
				c.i++
				return c.unexpected()
			}
			switch c.b[c.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i++
			case 'u':
				for k := c.i + 2; k < c.i+6; k++ {
					if k >= len(c.b) || !isHex(c.b[k]) {
						c.i = k
						return c.unexpected()
					}
				}
				c.i += 5
			default:
				c.i++
				return c.unexpected()
			}
		}
	}
	return c.unexpected()
}

func isHex(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F'
}

func (c *compactor) literal(word string) error {
	if string(c.b[c.i:min(len(c.b), c.i+len(word))]) != word {
		return c.unexpected()
	}
	c.i += len(word)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at c.i.
func (c *compactor) number() error {
	if c.b[c.i] == '-' {
		c.i++
	}
	if c.i < len(c.b) && c.b[c.i] == '0' {
		c.i++
	} else if !c.digits() {
		return c.unexpected()
	}
	if c.i < len(c.b) && c.b[c.i] == '.' {
		c.i++
		if !c.digits() {
			return c.unexpected()
		}
	}
	if c.i < len(c.b) && (c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		c.i++
		if c.i < len(c.b) && (c.b[c.i] == '+' || c.b[c.i] == '-') {
			c.i++
		}
		if !c.digits() {
			return c.unexpected()
		}
	}
	return nil
}

// digits reads one or more digits and reports whether there was one.
func (c *compactor) digits() bool {
	start := c.i
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		c.i++
	}
	return c.i > start
}
