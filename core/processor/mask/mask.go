// Package mask is the `mask` processor: it hides sensitive data in chosen fields of each event,
// with the detectors and modes of package core/mask.
//
// # Fields
//
// Each of `fields` is a path. A field holding a string is masked; one holding an object or an
// array has every string under it masked, at any depth. Numbers are masked too, by their text:
// card and phone numbers often arrive as JSON numbers ("card": 4111111111111111), and a number
// that masking changes is written as a JSON string, since "[REDACTED]" is not a number. Keys,
// true, false and null are left alone, and so is a missing field. Fields may not overlap: a
// field inside another one is already masked by it.
//
// # What is masked
//
// With `detectors` (built-in names) or `patterns` (RE2 expressions), only the parts of each
// value that they match change: "mail bob@example.com now" keeps "mail" and "now". Without
// either, each value is masked whole.
//
// # Modes
//
//   - redact (the default): each masked part becomes `replacement`, by default "[REDACTED]".
//   - partial: each character of a masked part but the last `keep_last` (default 4) becomes
//     '*'; a part no longer than that is starred whole.
//   - hash: each masked part becomes "hmac:" and 32 hex digits of HMAC-SHA256 with `key`, so
//     equal values stay joinable without being readable. The key (at least 16 bytes) belongs
//     in the environment: key: ${MASK_KEY}.
//   - remove: the masked parts are deleted; without detectors or patterns, the fields
//     themselves are.
//
// Process returns Unchanged when nothing was masked, so that events without sensitive data
// are not copied. Only patterns allocate per event, as regular expressions do.
package mask

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonedit"
	masking "github.com/ingestd/ingestd/core/mask"
	"github.com/ingestd/ingestd/core/processor"
)

// Options configures a mask step.
type Options struct {
	Fields      []string `yaml:"fields"`      // required: the paths of the fields to mask
	Detectors   []string `yaml:"detectors"`   // built-in detector names (masking.BuiltinNames)
	Patterns    []string `yaml:"patterns"`    // custom RE2 detectors
	Mode        string   `yaml:"mode"`        // redact | partial | hash | remove
	Replacement string   `yaml:"replacement"` // redact only; empty means "[REDACTED]"
	KeepLast    int      `yaml:"keep_last"`   // partial only; at least 1, default 4
	Key         string   `yaml:"key"`         // hash only: the HMAC key, >= 16 bytes
}

// keepLastUnset marks a keep_last the config did not give, so that an explicit 0 (which would
// otherwise silently mean the default and reveal 4 characters) or a keep_last given to another
// mode is reported. No config writes this value.
const keepLastUnset = math.MinInt

// NewOptions returns the defaults: mode redact, and no fields, which Compile refuses.
func NewOptions() *Options { return &Options{Mode: "redact", KeepLast: keepLastUnset} }

// Compile checks every option, reporting each mistake, and builds the step.
func (o *Options) Compile(*processor.Env) (processor.Processor, []processor.FieldError) {
	var errs []processor.FieldError
	fail := func(key, msg string) { errs = append(errs, processor.FieldError{Key: key, Msg: msg}) }

	paths := o.paths(fail)
	mo := masking.Options{Replacement: o.Replacement, Key: []byte(o.Key)}
	for i, name := range o.Detectors {
		d, ok := masking.Builtin(name)
		if !ok {
			fail(fmt.Sprintf("detectors[%d]", i), fmt.Sprintf("unknown detector %q; the built-in detectors are %s",
				name, strings.Join(masking.BuiltinNames(), ", ")))
			continue
		}
		mo.Detectors = append(mo.Detectors, d)
	}
	for i, expr := range o.Patterns {
		d, err := masking.Pattern(expr)
		if err != nil {
			fail(fmt.Sprintf("patterns[%d]", i), strings.TrimPrefix(err.Error(), "mask: "))
			continue
		}
		mo.Detectors = append(mo.Detectors, d)
	}
	mode, known := masking.ParseMode(o.Mode)
	if !known {
		fail("mode", fmt.Sprintf("unknown mode %q; the modes are redact, partial, hash, remove", o.Mode))
	}
	mo.Mode = mode
	// Each mode's own setting is checked only once the mode is known, to say which mode is
	// wrong for it. Messages about the key give its length at most, never its bytes.
	if known {
		switch {
		case mode == masking.Hash && o.Key == "":
			fail("key", fmt.Sprintf("required by mode hash: an HMAC key of at least %d bytes, best from the environment (key: ${MASK_KEY})", masking.MinKeyLen))
		case mode == masking.Hash && len(o.Key) < masking.MinKeyLen:
			fail("key", fmt.Sprintf("too short: %d bytes; mode hash needs at least %d", len(o.Key), masking.MinKeyLen))
		case mode != masking.Hash && o.Key != "":
			fail("key", "only used by mode hash, not "+o.Mode)
		}
		switch {
		case mode != masking.Redact && o.Replacement != "":
			fail("replacement", "only used by mode redact, not "+o.Mode)
		case !utf8.ValidString(o.Replacement):
			fail("replacement", "not valid UTF-8")
		}
		switch {
		case o.KeepLast == keepLastUnset:
		case mode != masking.Partial:
			fail("keep_last", "only used by mode partial, not "+o.Mode)
		case o.KeepLast < 1:
			fail("keep_last", fmt.Sprintf("must be at least 1, not %d (to reveal nothing, use mode redact)", o.KeepLast))
		default:
			mo.KeepLast = o.KeepLast
		}
	}
	if errs != nil {
		return nil, errs
	}

	s := &step{paths: paths}
	b := jsonedit.NewBuilder()
	if mode == masking.Remove && len(mo.Detectors) == 0 {
		// Masker.Apply would leave an empty string where the field itself is to go.
		for _, p := range paths {
			b.Delete(p)
		}
	} else {
		m, err := masking.New(mo)
		if err != nil {
			// Every option New checks has been checked above; this is a disagreement between them.
			return nil, []processor.FieldError{{Key: "", Msg: err.Error()}}
		}
		s.masker = m
		for _, p := range paths {
			s.slots = append(s.slots, b.MapStringsAndNumbers(p))
		}
	}
	prog, err := b.Compile()
	if err != nil {
		return nil, []processor.FieldError{{Key: "fields", Msg: err.Error()}}
	}
	s.prog = prog
	return s, nil
}

// paths parses the fields, reporting bad and overlapping paths; it returns them when all are
// good.
func (o *Options) paths(fail func(key, msg string)) []*fieldpath.Path {
	if len(o.Fields) == 0 {
		fail("fields", "required: the paths of the fields to mask")
		return nil
	}
	paths := make([]*fieldpath.Path, len(o.Fields))
	ok := true
	for i, f := range o.Fields {
		p, err := fieldpath.Parse(f)
		if err != nil {
			fail(fmt.Sprintf("fields[%d]", i), err.Error())
			ok = false
			continue
		}
		for j, q := range paths[:i] {
			switch {
			case q == nil:
			case inside(p, q) && inside(q, p):
				fail(fmt.Sprintf("fields[%d]", i), fmt.Sprintf("repeats fields[%d]", j))
				ok = false
			case inside(p, q):
				fail(fmt.Sprintf("fields[%d]", i), fmt.Sprintf("lies inside fields[%d] (%s), which masks all of it already", j, q))
				ok = false
			case inside(q, p):
				fail(fmt.Sprintf("fields[%d]", j), fmt.Sprintf("lies inside fields[%d] (%s), which masks all of it already", i, p))
				ok = false
			}
		}
		paths[i] = p
	}
	if !ok {
		return nil
	}
	return paths
}

// inside reports whether p is a or lies below it.
func inside(p, a *fieldpath.Path) bool {
	ps, as := p.Segments(), a.Segments()
	return len(ps) >= len(as) && slices.Equal(ps[:len(as)], as)
}

// step is a compiled mask step: one edit program with a mapping (or, for remove without
// detectors, a delete) per field, and one Masker shared by every state.
type step struct {
	prog   *jsonedit.Program
	masker *masking.Masker   // nil when the fields are deleted
	slots  []int             // the mapping of each field
	paths  []*fieldpath.Path // the fields
}

// MappedPaths returns the fields whose strings and numbers the step masks, or nil when it
// deletes them instead (mode remove without detectors). The pipeline may then find the fields
// itself and call the state's MapValue on each, rather than running Process.
func (s *step) MappedPaths() []*fieldpath.Path {
	if s.masker == nil {
		return nil
	}
	return s.paths
}

// NewState returns a state with its own edits, mapper and scratch buffer.
func (s *step) NewState() processor.State {
	st := &state{s: s, edits: s.prog.NewEdits()}
	st.mapper.m = s.masker
	for _, slot := range s.slots {
		st.edits.SetMapper(slot, &st.mapper)
	}
	return st
}

type state struct {
	s      *step
	edits  *jsonedit.Edits
	mapper mapper
	// buf takes Apply's output first: until it is known whether anything was masked, dst is
	// not to be written.
	buf []byte
}

// mapper is the Masker seen as a jsonedit.StringMapper; it notes whether it masked anything in
// the current event.
type mapper struct {
	m      *masking.Masker
	masked bool
}

func (m *mapper) MapString(dst, content []byte) ([]byte, bool) {
	out, changed := m.m.Mask(dst, content)
	m.masked = m.masked || changed
	return out, changed
}

// MapValue masks one value of a mapped field: the decoded content of a string, or the text of
// a number. It reports whether anything was masked, and then appends the masked text to dst;
// otherwise it appends nothing.
func (st *state) MapValue(dst, content []byte) ([]byte, bool) {
	return st.s.masker.Mask(dst, content)
}

// Process masks the fields of event in one copying pass.
func (st *state) Process(dst, event []byte, _ *processor.Facts) ([]byte, processor.Outcome) {
	st.mapper.masked = false
	st.buf = st.s.prog.Apply(st.buf[:0], event, st.edits)
	changed := st.mapper.masked
	if st.s.masker == nil {
		// Deleting a field that is there shortens the event; without one, Apply copies it as
		// it is, whitespace aside. Comparing also covers duplicate keys, where a lookup would
		// see only the last one.
		changed = !bytes.Equal(st.buf, event)
	}
	if !changed {
		return event, processor.Unchanged
	}
	return append(dst, st.buf...), processor.Changed
}
