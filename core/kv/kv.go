// Package kv turns key=value text, such as the logfmt line
//
//	level=info msg="user logged in" user=bob latency=12ms
//
// into a JSON object whose values are all strings:
//
//	{"level":"info","msg":"user logged in","user":"bob","latency":"12ms"}
//
// It is the `parse` processor's `format: kv`. No value is guessed into a number or a boolean:
// "12ms", "007" and "true" stay the strings they were, so a later condition sees exactly what
// the application wrote.
//
// # Grammar
//
// A line is a sequence of pairs split by the pair separator; a run of separators counts as one.
// When the pair separator is " ", any run of spaces, tabs, CRs and LFs splits pairs. Otherwise
// spaces, tabs, CRs and LFs around keys and unquoted values are trimmed ("a=1, b=2" with the
// separator "," gives "a" and "b"), so a value with such blanks at its ends must be quoted.
//
// A pair is a key, the value separator, then a value. A key ends at the first value separator;
// a value ends at the next pair separator, so "url=http://h/?a=b" is the key "url" with the
// value "http://h/?a=b". An empty value ("a=") is the empty string.
//
// With Options.Quotes, a key or a value may be quoted. In "double quotes", \" stands for " and
// \\ for \; any other backslash is kept as it is, so "C:\temp" means C:\temp. In 'single
// quotes', every byte up to the next ' is taken literally. A quote inside an unquoted word is an
// ordinary byte (don't=1 is the key `don't`).
//
// # Errors
//
// The whole line is refused, and nothing is appended, when:
//   - a token has no value separator: `kv: token 3 'foo' has no '='`;
//   - a key is empty: `kv: token 2 at byte 5 has an empty key`;
//   - a quote is not closed: `kv: token 2: the quote at byte 7 is not closed`;
//   - a closing quote is followed by more than a pair separator:
//     `kv: token 1: unexpected 'x' after the closing quote at byte 9`;
//   - the line holds more than MaxPairs pairs.
//
// Tokens are counted from 1 and bytes from 0.
//
// # Duplicates and output
//
// When a key appears more than once the last pair wins and only it is written, in its place, so
// the output never repeats a member name. Keys count as equal when their JSON text is equal,
// which is after unquoting and after replacing invalid UTF-8 bytes with U+FFFD. The output is
// valid JSON: quotes, backslashes and control characters are escaped and every byte of invalid
// UTF-8 becomes U+FFFD, as encoding/json does when it decodes such bytes.
package kv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxPairs bounds the pairs of one line, so that a line's bookkeeping fits one pooled scratch
// area and never grows.
const MaxPairs = 256

// Options configures a Parser. Start from DefaultOptions: the zero Options has no separators,
// which New refuses.
type Options struct {
	PairSeparator  string // between pairs; " " means any run of spaces, tabs, CRs and LFs
	ValueSeparator string // between a key and its value
	Quotes         bool   // keys and values may be "double" or 'single' quoted
}

// DefaultOptions returns logfmt's options: pairs split by blanks, "=", quotes allowed.
func DefaultOptions() Options {
	return Options{PairSeparator: " ", ValueSeparator: "=", Quotes: true}
}

// Parser parses key=value text. It is immutable after New and safe for concurrent use.
type Parser struct {
	pair, val string
	blanks    bool // pair is " ": any run of blank bytes separates pairs
	valFirst  bool // val is longer than pair, so a key scan tries it first
	quotes    bool
	// Bytes that may start the end of an unquoted key (keyStop) or value (valueStop), so the
	// scans skip ordinary bytes with one table lookup each.
	keyStop, valueStop [256]bool
}

// New returns a Parser for o. The separators must be non-empty and different, and with the
// pair separator " " the value separator may not contain a blank, which would split the pair.
func New(o Options) (*Parser, error) {
	switch {
	case o.PairSeparator == "":
		return nil, errors.New("kv: the pair separator is empty")
	case o.ValueSeparator == "":
		return nil, errors.New("kv: the value separator is empty")
	case o.PairSeparator == o.ValueSeparator:
		return nil, fmt.Errorf("kv: the pair and value separators are both %q", o.PairSeparator)
	}
	p := &Parser{
		pair:     o.PairSeparator,
		val:      o.ValueSeparator,
		blanks:   o.PairSeparator == " ",
		valFirst: len(o.ValueSeparator) > len(o.PairSeparator),
		quotes:   o.Quotes,
	}
	if p.blanks {
		for i := 0; i < len(p.val); i++ {
			if isBlank(p.val[i]) {
				return nil, fmt.Errorf("kv: the value separator %q holds a blank, which separates pairs when the pair separator is \" \"", p.val)
			}
		}
		for _, c := range []byte{' ', '\t', '\r', '\n'} {
			p.keyStop[c], p.valueStop[c] = true, true
		}
	}
	p.keyStop[p.pair[0]], p.valueStop[p.pair[0]] = true, true
	p.keyStop[p.val[0]] = true
	return p, nil
}

// pair locates one key and value in the input: content offsets, inside any quotes.
type pair struct {
	ks, ke, vs, ve int
	kesc, vesc     bool // double-quoted content, where \" and \\ are escapes
	dup            bool // a later pair has the same key
	hash           uint32
}

// scratch is one line's bookkeeping. It is pooled, not on the stack, because a stack array of
// MaxPairs pairs would be zeroed on every call and grow the worker's stack.
type scratch struct {
	pairs [MaxPairs]pair
	table [2 * MaxPairs]uint16 // open addressing over pairs, index+1, 0 = empty
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// AppendJSON appends the JSON object holding the pairs of s to dst and returns the extended
// buffer. On error dst is returned unchanged, its length as it came in.
func (p *Parser) AppendJSON(dst, s []byte) ([]byte, error) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	n, err := p.scan(s, &sc.pairs)
	if err != nil {
		return dst, err
	}
	sc.markDuplicates(s, n)
	dst = append(dst, '{')
	comma := false
	for i := range n {
		pr := &sc.pairs[i]
		if pr.dup {
			continue
		}
		if comma {
			dst = append(dst, ',')
		}
		comma = true
		dst = appendString(dst, s[pr.ks:pr.ke], pr.kesc)
		dst = append(dst, ':')
		dst = appendString(dst, s[pr.vs:pr.ve], pr.vesc)
	}
	return append(dst, '}'), nil
}

// scan records the pairs of s and returns how many there are.
func (p *Parser) scan(s []byte, pairs *[MaxPairs]pair) (int, error) {
	n := 0
	for i := p.skipSeparators(s, 0); i < len(s); i = p.skipSeparators(s, i) {
		if n == MaxPairs {
			return 0, fmt.Errorf("kv: more than %d pairs", MaxPairs)
		}
		tok := n + 1
		pr := &pairs[n]
		start := i
		if p.quotes && isQuote(s[i]) {
			end, esc, ok := closeQuote(s, i)
			if !ok {
				return 0, fmt.Errorf("kv: token %d: the quote at byte %d is not closed", tok, i)
			}
			pr.ks, pr.ke, pr.kesc = i+1, end, esc
			i = end + 1
			if !p.blanks && !p.hasVal(s, i) {
				i = skipBlanks(s, i)
			}
			if !p.hasVal(s, i) {
				return 0, p.noValErr(tok, s[start:p.valueEnd(s, i)])
			}
		} else {
			j, found := p.keyEnd(s, i)
			if !found {
				return 0, p.noValErr(tok, trimBlanks(s[start:j]))
			}
			pr.ks, pr.ke, pr.kesc = i, i+len(trimBlanks(s[i:j])), false
			i = j
		}
		if pr.ks == pr.ke {
			return 0, fmt.Errorf("kv: token %d at byte %d has an empty key", tok, start)
		}
		i += len(p.val)
		if !p.blanks {
			i = skipBlanks(s, i)
		}
		if p.quotes && i < len(s) && isQuote(s[i]) {
			end, esc, ok := closeQuote(s, i)
			if !ok {
				return 0, fmt.Errorf("kv: token %d: the quote at byte %d is not closed", tok, i)
			}
			pr.vs, pr.ve, pr.vesc = i+1, end, esc
			i = end + 1
			if !p.blanks {
				i = skipBlanks(s, i)
			}
			if i < len(s) && !p.isPair(s, i) {
				return 0, fmt.Errorf("kv: token %d: unexpected %s after the closing quote at byte %d", tok, show(s[i:i+1]), end)
			}
		} else {
			j := p.valueEnd(s, i)
			pr.vs, pr.ve, pr.vesc = i, i+len(trimBlanks(s[i:j])), false
			i = j
		}
		n++
	}
	return n, nil
}

func (p *Parser) noValErr(tok int, word []byte) error {
	return fmt.Errorf("kv: token %d %s has no %s", tok, show(word), show([]byte(p.val)))
}

// show renders a piece of input for an error sentence: in single quotes, with Go escapes for
// what is not printable, cut at 40 bytes.
func show(b []byte) string {
	const limit = 40
	more := ""
	if len(b) > limit {
		b, more = b[:limit], "..."
	}
	q := strconv.Quote(string(b))
	return "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + more + "'"
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isQuote(c byte) bool { return c == '"' || c == '\'' }

func skipBlanks(s []byte, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

// trimBlanks drops trailing blanks, which belong to no unquoted key or value. (When the pair
// separator is blank, there are none to drop.)
func trimBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func (p *Parser) isPair(s []byte, i int) bool {
	if p.blanks {
		return isBlank(s[i])
	}
	return s[i] == p.pair[0] && len(s)-i >= len(p.pair) && string(s[i:i+len(p.pair)]) == p.pair
}

func (p *Parser) hasVal(s []byte, i int) bool {
	return i < len(s) && s[i] == p.val[0] && len(s)-i >= len(p.val) && string(s[i:i+len(p.val)]) == p.val
}

// skipSeparators skips a run of pair separators and, unless they are the separators, blanks.
func (p *Parser) skipSeparators(s []byte, i int) int {
	for i < len(s) {
		switch {
		case p.isPair(s, i):
			i += len(p.pair)
		case isBlank(s[i]):
			i++
		default:
			return i
		}
	}
	return i
}

// keyEnd finds the value separator ending an unquoted key at i. It returns found false, and
// where the token ends, when a pair separator or the end of s comes first. Where one separator
// holds the other, the longer is tried first, so "==" between pairs and "=" inside them works.
func (p *Parser) keyEnd(s []byte, i int) (int, bool) {
	for ; i < len(s); i++ {
		if !p.keyStop[s[i]] {
			continue
		}
		if p.valFirst && p.hasVal(s, i) {
			return i, true
		}
		if p.isPair(s, i) {
			return i, false
		}
		if p.hasVal(s, i) {
			return i, true
		}
	}
	return i, false
}

// valueEnd finds the pair separator or the end of s that ends an unquoted value at i.
func (p *Parser) valueEnd(s []byte, i int) int {
	for i < len(s) && (!p.valueStop[s[i]] || !p.isPair(s, i)) {
		i++
	}
	return i
}

// closeQuote finds the quote closing the one at s[i]. esc reports a double-quoted content that
// holds \" or \\.
func closeQuote(s []byte, i int) (end int, esc, ok bool) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == q:
			return j, esc, true
		case q == '"' && s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\'):
			esc = true
			j++
		}
	}
	return 0, false, false
}

// nextRune decodes the character at b[i] as the output will show it: escapes undone when esc,
// invalid UTF-8 as utf8.RuneError one byte at a time. It returns the rune and the next index.
func nextRune(b []byte, i int, esc bool) (rune, int) {
	c := b[i]
	switch {
	case esc && c == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\'):
		return rune(b[i+1]), i + 2
	case c < utf8.RuneSelf:
		return rune(c), i + 1
	}
	r, size := utf8.DecodeRune(b[i:])
	return r, i + size
}

// markDuplicates sets dup on every pair whose key a later pair repeats. It walks the pairs
// from the last, so the first sighting of a key in the walk is the one that is written.
func (sc *scratch) markDuplicates(s []byte, n int) {
	size := 8
	for size < 2*n {
		size *= 2
	}
	table := sc.table[:size]
	clear(table)
	for i := n - 1; i >= 0; i-- {
		pr := &sc.pairs[i]
		pr.dup = false
		pr.hash = keyHash(s[pr.ks:pr.ke], pr.kesc)
		for h := int(pr.hash) & (size - 1); ; h = (h + 1) & (size - 1) {
			if table[h] == 0 {
				table[h] = uint16(i + 1)
				break
			}
			if o := &sc.pairs[table[h]-1]; o.hash == pr.hash && sameKey(s, o, pr) {
				pr.dup = true
				break
			}
		}
	}
}

// keyHash is FNV-1a over the key's runes as the output shows them.
func keyHash(b []byte, esc bool) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(b); {
		r := rune(b[i])
		if r < utf8.RuneSelf && r != '\\' {
			i++
		} else {
			r, i = nextRune(b, i, esc)
		}
		h = (h ^ uint32(r)) * 16777619
	}
	return h
}

func sameKey(s []byte, a, b *pair) bool {
	x, y := s[a.ks:a.ke], s[b.ks:b.ke]
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		var r1, r2 rune
		r1, i = nextRune(x, i, a.kesc)
		r2, j = nextRune(y, j, b.kesc)
		if r1 != r2 {
			return false
		}
	}
	return i == len(x) && j == len(y)
}

const hexDigits = "0123456789abcdef"

// plain marks the bytes a JSON string holds as they are: printable ASCII but " and \.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends b as a JSON string. With esc, b's \" and \\ are already JSON escapes
// and are copied as they are.
func appendString(dst, b []byte, esc bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(b); {
		c := b[i]
		if plain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, b[start:i]...)
		switch {
		case c == '\\' && esc && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\'):
			dst = append(dst, '\\', b[i+1])
			i++
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, "\ufffd"...)
		}
		i++
		start = i
	}
	dst = append(dst, b[start:]...)
	return append(dst, '"')
}
