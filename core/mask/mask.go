// Package mask finds sensitive parts of strings and replaces them: the string-level engine of
// the mask processor.
//
// A Masker is built once from Options and applied to the decoded content of each string value.
// With detectors (payment cards, e-mail addresses, secrets, custom patterns) it replaces only
// the parts they match; without, it replaces the whole string. The modes are Redact (a fixed
// replacement), Partial (keep the last N characters), Hash (a keyed pseudonym, the same for
// the same input) and Remove. Apply allocates nothing once its pool has warmed up, except
// what regexp allocates for Pattern detectors.
package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"
	"unicode/utf8"
)

// Mode is how a Masker replaces what it masks. The zero Mode is Redact.
type Mode uint8

const (
	// Redact writes Options.Replacement in place of each masked part.
	Redact Mode = iota
	// Partial writes '*' for each character but the last Options.KeepLast.
	Partial
	// Hash writes "hmac:" and 32 hex digits, the first 16 bytes of HMAC-SHA256 with
	// Options.Key over the masked bytes: equal inputs give equal pseudonyms, which cannot be
	// reversed by trying candidate values without the key.
	Hash
	// Remove deletes the masked parts.
	Remove
)

var modeNames = [...]string{"redact", "partial", "hash", "remove"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// ParseMode returns the Mode named s: "redact", "partial", "hash" or "remove".
func ParseMode(s string) (Mode, bool) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), true
		}
	}
	return 0, false
}

const (
	// DefaultReplacement is what Redact writes when Options.Replacement is empty.
	DefaultReplacement = "[REDACTED]"
	// DefaultKeepLast is how many characters Partial keeps when Options.KeepLast is 0.
	DefaultKeepLast = 4
	// MinKeyLen is the shortest Hash key accepted, in bytes.
	MinKeyLen = 16
)

// hashPrefix marks a pseudonym as one; 16 bytes of the MAC keep collisions out of reach for
// any realistic number of distinct values while keeping pseudonyms short.
const (
	hashPrefix = "hmac:"
	hashBytes  = 16
)

// Options configures a Masker. Each field other than Detectors and Mode belongs to one mode;
// setting it for another mode is an error, so that a misplaced setting is not silently ignored.
type Options struct {
	// Detectors select the parts of a string to mask; none masks the whole string.
	Detectors []Detector
	Mode      Mode
	// Replacement is what Redact writes, valid UTF-8; empty means DefaultReplacement.
	Replacement string
	// KeepLast is how many characters (runes) Partial leaves at the end of each masked part;
	// 0 means DefaultKeepLast. A part no longer than that is masked whole, so that Partial
	// never reveals a complete value.
	KeepLast int
	// Key is the HMAC-SHA256 key of Hash, at least MinKeyLen bytes.
	Key []byte
}

// Masker masks strings as its Options say. It is safe for concurrent use and must not be
// copied after first use.
type Masker struct {
	dets []Detector
	mode Mode
	repl string
	keep int
	key  []byte
	// pool holds scratch states: the pending match of each detector and, for Hash, an HMAC
	// state made once and Reset for each use.
	pool sync.Pool
}

type scratch struct {
	next []match
	mac  hash.Hash
	sum  [sha256.Size]byte
}

type match struct {
	start, end int
	ok         bool
}

// New checks o and returns its Masker.
func New(o Options) (*Masker, error) {
	if int(o.Mode) >= len(modeNames) {
		return nil, fmt.Errorf("mask: unknown mode %d", o.Mode)
	}
	for k, d := range o.Detectors {
		if d == nil {
			return nil, fmt.Errorf("mask: detector %d is nil", k+1)
		}
	}
	if o.Replacement != "" && o.Mode != Redact {
		return nil, fmt.Errorf("mask: a replacement is only used by mode redact, not %s", o.Mode)
	}
	if !utf8.ValidString(o.Replacement) {
		return nil, errors.New("mask: the replacement is not valid UTF-8")
	}
	if o.KeepLast < 0 {
		return nil, fmt.Errorf("mask: keep_last is %d; it cannot be negative", o.KeepLast)
	}
	if o.KeepLast != 0 && o.Mode != Partial {
		return nil, fmt.Errorf("mask: keep_last is only used by mode partial, not %s", o.Mode)
	}
	switch {
	case o.Mode == Hash && len(o.Key) == 0:
		return nil, errors.New("mask: mode hash needs a key")
	case o.Mode == Hash && len(o.Key) < MinKeyLen:
		return nil, fmt.Errorf("mask: the hash key has %d bytes; at least %d are needed", len(o.Key), MinKeyLen)
	case o.Mode != Hash && len(o.Key) != 0:
		return nil, fmt.Errorf("mask: a key is only used by mode hash, not %s", o.Mode)
	}
	m := &Masker{
		dets: append([]Detector(nil), o.Detectors...),
		mode: o.Mode,
		repl: o.Replacement,
		keep: o.KeepLast,
		key:  append([]byte(nil), o.Key...),
	}
	if m.repl == "" {
		m.repl = DefaultReplacement
	}
	if m.keep == 0 {
		m.keep = DefaultKeepLast
	}
	m.pool.New = func() any {
		sc := &scratch{next: make([]match, len(m.dets))}
		if m.mode == Hash {
			sc.mac = hmac.New(sha256.New, m.key)
		}
		return sc
	}
	return m, nil
}

// Apply appends s, the decoded content of a string (not JSON-escaped), masked, to dst and
// reports whether anything was masked. Without a change, it appends s as it is.
//
// With detectors, only their matches are replaced, each overlapping or nested set of matches
// (from one or several detectors) as one part. Without detectors, the whole of s is one part,
// even when empty. The replacement of a part never splits a UTF-8 sequence that the detectors
// did not split, so valid UTF-8 in gives valid UTF-8 out.
//
// Remove without detectors appends nothing and reports true: the caller is to remove the
// field itself rather than store an empty string.
func (m *Masker) Apply(dst, s []byte) (out []byte, changed bool) {
	if out, changed = m.Mask(dst, s); !changed {
		out = append(out, s...)
	}
	return out, changed
}

// Mask is Apply for callers that keep s where nothing was masked: without a change it appends
// nothing, which spares copying the many strings that hold nothing to mask.
func (m *Masker) Mask(dst, s []byte) (out []byte, changed bool) {
	if len(m.dets) == 0 {
		if m.mode == Hash {
			sc := m.pool.Get().(*scratch)
			dst = m.replace(dst, s, sc)
			m.pool.Put(sc)
			return dst, true
		}
		return m.replace(dst, s, nil), true
	}
	// Most strings hold nothing to mask: find that out before taking scratch space.
	var firsts [4]match
	found := false
	for k, d := range m.dets {
		mt := find(d, s, 0)
		if k < len(firsts) {
			firsts[k] = mt
		}
		found = found || mt.ok
	}
	if !found {
		return dst, false
	}
	sc := m.pool.Get().(*scratch)
	next := sc.next
	for k, d := range m.dets {
		if k < len(firsts) {
			next[k] = firsts[k]
		} else {
			next[k] = find(d, s, 0)
		}
	}
	pos := 0
	for {
		first := -1
		for k := range next {
			if next[k].ok && (first < 0 || next[k].start < next[first].start) {
				first = k
			}
		}
		if first < 0 {
			break
		}
		start, end := next[first].start, next[first].end
		// Grow the part while any detector has a match that overlaps it; a detector whose
		// match is consumed searches on from that match's end.
		for grown := true; grown; {
			grown = false
			for k, d := range m.dets {
				for next[k].ok && next[k].start < end {
					if next[k].end > end {
						end, grown = next[k].end, true
					}
					next[k] = find(d, s, next[k].end)
				}
			}
		}
		dst = append(dst, s[pos:start]...)
		dst = m.replace(dst, s[start:end], sc)
		pos, changed = end, true
	}
	m.pool.Put(sc)
	return append(dst, s[pos:]...), changed
}

// find calls d and holds it to the Detector contract, which Apply's progress relies on.
func find(d Detector, s []byte, from int) match {
	start, end, ok := d.Find(s, from)
	if ok && (start < from || end <= start || end > len(s)) {
		panic(fmt.Sprintf("mask: detector %T returned [%d:%d] searching %d bytes from %d", d, start, end, len(s), from))
	}
	return match{start, end, ok}
}

// replace appends the replacement of one masked part.
func (m *Masker) replace(dst, part []byte, sc *scratch) []byte {
	switch m.mode {
	case Redact:
		return append(dst, m.repl...)
	case Partial:
		return partial(dst, part, m.keep)
	case Hash:
		sc.mac.Reset()
		sc.mac.Write(part)
		sum := sc.mac.Sum(sc.sum[:0])
		dst = append(dst, hashPrefix...)
		return hex.AppendEncode(dst, sum[:hashBytes])
	default: // Remove
		return dst
	}
}

// partial appends part with each rune but the last keep replaced by '*', or all of them when
// part has no more than keep runes. An invalid byte counts as one rune.
func partial(dst, part []byte, keep int) []byte {
	n := utf8.RuneCount(part)
	if n <= keep {
		keep = 0
	}
	cut := len(part)
	for range keep {
		_, size := utf8.DecodeLastRune(part[:cut])
		cut -= size
	}
	for range n - keep {
		dst = append(dst, '*')
	}
	return append(dst, part[cut:]...)
}
