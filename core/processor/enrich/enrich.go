// Package enrich is the `enrich` processor: it sets, renames, copies and removes fields, keeps
// an allow-list of them, writes what the engine knows about an event (its facts), and adds the
// columns of a CSV table's row found by one of the event's fields.
//
// # One pass
//
// Every operation of a step reads the event as it came into the step, and all of them are
// applied together in one copying pass (a jsonedit Program). So `copy: {a: b}` with
// `set: {a: 1}` copies the old a, and `rename: {a: b}` with `rename: {b: c}` cannot work in one
// step. Two operations conflict when they write or delete the same path or one inside the
// other ("metadata" and "metadata.region"); Compile reports the later one, in the order set,
// rename, copy, remove, facts, lookup, and the edits then belong in two enrich steps.
//
// # Operations
//
//   - set: path → JSON value, written compact (replacing the member, or creating it and the
//     objects leading to it).
//   - rename: from → to. When from is present, to gets its value and from is deleted; when it
//     is missing, nothing happens. Renaming a field to a path inside it is refused; renaming
//     it to one of its ancestors (event.payload → event) replaces the ancestor with it.
//   - copy: from → to, like rename without the delete.
//   - remove: paths to delete, every occurrence of a duplicated key; missing ones are fine.
//   - keep: an allow-list of paths. It applies before everything else, so only kept members
//     survive, plus what this step's set, rename, copy, facts and lookup write; values are
//     still read from the whole event.
//   - facts: path → host | token | stream | stream_id, written as JSON strings; an empty fact
//     writes nothing.
//   - lookup: a CSV table with a header row, loaded at Compile (so at start and on each
//     reload). The event's `key` field, a string or a number by its text (42 matches "42",
//     42.0 does not), is looked up in `column` (by default the first); on a hit, each other
//     column c of the row is set at `into`.c as a JSON string. A miss, or a key of another
//     kind, writes nothing. The table holds at most 64 MiB, 1,000,000 rows and 64 columns;
//     its keys are unique, and the names of the columns it sets are field path segments.
//
// Process returns Unchanged when the step has nothing to do: no set, remove or keep, and every
// rename, copy and lookup missing its source and every fact empty.
package enrich

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/processor"
)

// Options configures an enrich step.
type Options struct {
	Set    []processor.Assignment `yaml:"set"`    // path → JSON value
	Rename []processor.Pair       `yaml:"rename"` // from path → to path
	Copy   []processor.Pair       `yaml:"copy"`   // from path → to path
	Remove []string               `yaml:"remove"` // paths to delete
	Keep   []string               `yaml:"keep"`   // allow-list of paths
	Facts  []processor.Pair       `yaml:"facts"`  // target path → host | token | stream | stream_id
	Lookup *Lookup                `yaml:"lookup"`
}

// Lookup adds the columns of the CSV row whose key matches one of the event's fields.
type Lookup struct {
	File   string `yaml:"file"`   // CSV with a header row; relative to the config file's directory
	Key    string `yaml:"key"`    // the event field looked up (string, or number by its text)
	Column string `yaml:"column"` // the column matched against it; default the first column
	Into   string `yaml:"into"`   // required: each other column c is set at Into.c
}

// NewOptions returns the defaults: no operation, which Compile refuses until one is given.
func NewOptions() *Options { return &Options{} }

// fact is one of processor.Facts.
type fact uint8

const (
	factHost fact = iota
	factToken
	factStream
	factStreamID
)

var factNames = map[string]fact{"host": factHost, "token": factToken, "stream": factStream, "stream_id": factStreamID}

func (f fact) of(fs *processor.Facts) []byte {
	switch f {
	case factHost:
		return fs.Host
	case factToken:
		return fs.Token
	case factStream:
		return fs.Stream
	}
	return fs.StreamID
}

// Compile checks every operation, loads the lookup table and builds the step's one edit
// program.
func (o *Options) Compile(env *processor.Env) (processor.Processor, []processor.FieldError) {
	if len(o.Set)+len(o.Rename)+len(o.Copy)+len(o.Remove)+len(o.Keep)+len(o.Facts) == 0 && o.Lookup == nil {
		return nil, []processor.FieldError{{Key: "", Msg: "enrich needs at least one of set, rename, copy, remove, keep, facts, lookup"}}
	}
	c := &compiler{b: jsonedit.NewBuilder(), p: &program{}}
	for _, a := range o.Set {
		c.set(a)
	}
	for _, r := range o.Rename {
		c.move("rename."+r.Key, r, true)
	}
	for _, r := range o.Copy {
		c.move("copy."+r.Key, r, false)
	}
	for i, s := range o.Remove {
		key := fmt.Sprintf("remove[%d]", i)
		if p := c.path(key, s); p != nil && c.claim(key, p) {
			c.b.Delete(p)
			c.p.always = true
			c.p.removes = append(c.p.removes, p)
		}
	}
	if len(o.Keep) > 0 {
		keep := make([]*fieldpath.Path, 0, len(o.Keep))
		for i, s := range o.Keep {
			if p := c.path(fmt.Sprintf("keep[%d]", i), s); p != nil {
				keep = append(keep, p)
			}
		}
		c.b.Keep(keep...)
		c.p.always = true
	}
	for _, f := range o.Facts {
		c.fact(f)
	}
	if o.Lookup != nil {
		dir := ""
		if env != nil {
			dir = env.Dir
		}
		c.lookup(o.Lookup, dir)
	}
	if c.errs != nil {
		return nil, c.errs
	}
	prog, err := c.b.Compile()
	if err != nil {
		// claim has checked the rules jsonedit applies; this is a disagreement between them.
		return nil, []processor.FieldError{{Key: "", Msg: err.Error()}}
	}
	c.p.prog = prog
	if len(o.Keep) == 0 && o.Lookup == nil {
		c.p.spliceable = true
		// The sets in the order of their slots, which is the order jsonedit creates members in.
		type set struct {
			slot int
			path *fieldpath.Path
			ref  setRef
		}
		var sets []set
		for i, st := range c.p.statics {
			sets = append(sets, set{st.slot, st.path, setRef{refStatic, i}})
		}
		for i, m := range c.p.moves {
			sets = append(sets, set{m.set, m.to, setRef{refMove, i}})
		}
		for i, f := range c.p.facts {
			sets = append(sets, set{f.slot, f.path, setRef{refFact, i}})
		}
		slices.SortFunc(sets, func(a, b set) int { return a.slot - b.slot })
		for _, st := range sets {
			c.p.setPaths = append(c.p.setPaths, st.path)
			c.p.setRefs = append(c.p.setRefs, st.ref)
		}
	}
	if len(c.reads) > 0 {
		c.p.reads = fieldpath.NewSet(c.reads...)
	}
	return c.p, nil
}

// compiler gathers the edits, the paths to read and the errors of one Compile.
type compiler struct {
	b     *jsonedit.Builder
	p     *program
	errs  []processor.FieldError
	owned []owned           // the paths edited so far, to report conflicts by option
	reads []*fieldpath.Path // the paths whose values Process reads, by index
}

type owned struct {
	path *fieldpath.Path
	key  string
}

func (c *compiler) fail(key, msg string) {
	c.errs = append(c.errs, processor.FieldError{Key: key, Msg: msg})
}

// path parses s, reporting a bad path under key; it returns nil then.
func (c *compiler) path(key, s string) *fieldpath.Path {
	p, err := fieldpath.Parse(s)
	if err != nil {
		c.fail(key, err.Error())
	}
	return p
}

// claim records that the option at key edits p, unless an earlier edit already owns p, a path
// inside it or one of its ancestors: jsonedit allows one edit per subtree.
func (c *compiler) claim(key string, p *fieldpath.Path) bool {
	for _, o := range c.owned {
		if inside(p, o.path) || inside(o.path, p) {
			c.fail(key, fmt.Sprintf("conflicts with %s; split the edits into two enrich steps", o.key))
			return false
		}
	}
	c.owned = append(c.owned, owned{p, key})
	return true
}

// inside reports whether p is a or lies below it.
func inside(p, a *fieldpath.Path) bool {
	ps, as := p.Segments(), a.Segments()
	if len(ps) < len(as) {
		return false
	}
	for i, s := range as {
		if ps[i] != s {
			return false
		}
	}
	return true
}

// read returns the index of p among the values Process reads.
func (c *compiler) read(p *fieldpath.Path) int {
	c.reads = append(c.reads, p)
	return len(c.reads) - 1
}

func (c *compiler) set(a processor.Assignment) {
	key := "set." + a.Path
	p := c.path(key, a.Path)
	// Compacting checks the value and keeps the event on one line whatever the value's layout.
	var raw bytes.Buffer
	if err := json.Compact(&raw, a.Value); err != nil {
		c.fail(key, "the value is not valid JSON: "+err.Error())
		return
	}
	if p != nil && c.claim(key, p) {
		c.p.statics = append(c.p.statics, static{slot: c.b.Set(p), path: p, raw: raw.Bytes()})
		c.p.always = true
	}
}

// move compiles a rename (del) or a copy.
func (c *compiler) move(key string, r processor.Pair, del bool) {
	from, to := c.path(key, r.Key), c.path(key, r.Value)
	if from == nil || to == nil {
		return
	}
	if del && inside(to, from) {
		c.fail(key, fmt.Sprintf("cannot rename %s to %s: the target is the field itself or lies inside it", from, to))
		return
	}
	if !c.claim(key, to) {
		return
	}
	m := move{set: c.b.Set(to), src: c.read(from), del: -1, from: from, to: to}
	// Setting an ancestor of from replaces from with the rest of it: no delete is needed,
	// and jsonedit would refuse one inside a set.
	if del && !inside(from, to) {
		if !c.claim(key, from) {
			return
		}
		m.del = c.b.Delete(from)
		c.p.removes = append(c.p.removes, from)
	}
	c.p.moves = append(c.p.moves, m)
}

func (c *compiler) fact(f processor.Pair) {
	key := "facts." + f.Key
	p := c.path(key, f.Key)
	which, ok := factNames[f.Value]
	if !ok {
		c.fail(key, fmt.Sprintf("unknown fact %q; the facts are host, token, stream, stream_id", f.Value))
		return
	}
	if p != nil && c.claim(key, p) {
		c.p.facts = append(c.p.facts, factSet{slot: c.b.Set(p), path: p, fact: which})
	}
}

func (c *compiler) lookup(l *Lookup, dir string) {
	var key, into *fieldpath.Path
	if l.Key == "" {
		c.fail("lookup.key", "required: the event field whose value is looked up")
	} else {
		key = c.path("lookup.key", l.Key)
	}
	if l.Into == "" {
		c.fail("lookup.into", "required: the object the row's columns are set in")
	} else {
		into = c.path("lookup.into", l.Into)
	}
	if l.File == "" {
		c.fail("lookup.file", "required: the CSV table")
		return
	}
	file := l.File
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	t, cols, ferr := loadTable(l.File, file, l.Column)
	if ferr != nil {
		c.errs = append(c.errs, *ferr)
		return
	}
	if key == nil || into == nil {
		return
	}
	for _, col := range cols {
		p, err := fieldpath.Parse(l.Into + "." + col)
		if err != nil {
			c.fail("lookup.into", err.Error())
			return
		}
		if !c.claim("lookup.into", p) {
			return
		}
		t.slots = append(t.slots, c.b.Set(p))
	}
	t.src = c.read(key)
	c.p.table = t
}

// program is a compiled enrich step.
type program struct {
	prog    *jsonedit.Program
	reads   *fieldpath.Set // the sources of moves and the lookup key; nil without any
	always  bool           // a set, a remove or a keep: Process always edits
	statics []static
	moves   []move
	facts   []factSet
	table   *table // nil without lookup
	removes []*fieldpath.Path
	// spliceable: the step only sets (set, facts, the targets of rename and copy) and removes
	// (remove, the sources of rename), so that the pipeline may make those edits itself as it
	// copies the event (see package pipeline), rather than running Process. setPaths and
	// setRefs then list the sets in slot order.
	spliceable bool
	setPaths   []*fieldpath.Path
	setRefs    []setRef
}

// setRef names the static, move or fact behind one set.
type setRef struct {
	kind uint8
	i    int
}

const (
	refStatic uint8 = iota
	refMove
	refFact
)

// Spliceable reports whether the step only sets and removes fields (set, facts, rename, copy,
// remove; no keep or lookup), which SetPaths, SetValue, SetSource and RemovePaths then
// describe.
func (p *program) Spliceable() bool { return p.spliceable }

// SetPaths returns the paths a spliceable step sets, in the order it sets them.
func (p *program) SetPaths() []*fieldpath.Path { return p.setPaths }

// SetSource returns, for SetPaths()[i] set by a rename or copy, the field whose value it takes
// (nothing is set when the event lacks it); nil for other sets.
func (p *program) SetSource(i int) *fieldpath.Path {
	if r := p.setRefs[i]; r.kind == refMove {
		return p.moves[r.i].from
	}
	return nil
}

// RemovePaths returns the paths a spliceable step removes: its removes and the sources of its
// renames.
func (p *program) RemovePaths() []*fieldpath.Path { return p.removes }

// SetValue returns the JSON value the step sets at SetPaths()[i] for an event with the given
// facts, or nil when it sets nothing there (a fact the engine does not know).
func (p *program) SetValue(i int, facts *processor.Facts) []byte {
	switch r := p.setRefs[i]; {
	case r.kind == refStatic:
		return p.statics[r.i].raw
	case r.kind == refFact && facts != nil:
		if raw := p.facts[r.i].fact.of(facts); len(raw) > 0 {
			return raw
		}
	}
	return nil
}

type static struct {
	slot int
	path *fieldpath.Path
	raw  []byte
}

// move is a rename or a copy: the value read at src goes to the set slot, and the delete
// slot, if not -1, removes the source.
type move struct {
	set, src, del int
	from, to      *fieldpath.Path
}

type factSet struct {
	slot int
	path *fieldpath.Path
	fact fact
}

// NewState returns a state with its own edits and scratch space.
func (p *program) NewState() processor.State {
	s := &state{p: p, edits: p.prog.NewEdits()}
	if p.reads != nil {
		s.vals = make([]fieldpath.Value, p.reads.Len())
	}
	return s
}

type state struct {
	p     *program
	edits *jsonedit.Edits
	vals  []fieldpath.Value // the values of p.reads in the current event
	key   []byte            // the unescaped lookup key
}

// Process reads every source in one pass over event, then applies every edit in another.
func (s *state) Process(dst, event []byte, facts *processor.Facts) ([]byte, processor.Outcome) {
	p, e := s.p, s.edits
	e.Reset()
	changed := p.always
	for _, st := range p.statics {
		e.SetRaw(st.slot, st.raw)
	}
	if p.reads != nil {
		p.reads.Lookup(event, s.vals)
	}
	for _, m := range p.moves {
		v := s.vals[m.src]
		if v.Kind == 0 {
			if m.del >= 0 {
				e.Activate(m.del, false)
			}
			continue
		}
		e.SetRaw(m.set, v.Raw)
		changed = true
	}
	if facts != nil {
		for _, f := range p.facts {
			if raw := f.fact.of(facts); len(raw) > 0 {
				e.SetRaw(f.slot, raw)
				changed = true
			}
		}
	}
	if t := p.table; t != nil {
		if row, ok := s.row(t, s.vals[t.src]); ok {
			t.load(e, row)
			changed = true
		}
	}
	if !changed {
		return event, processor.Unchanged
	}
	return p.prog.Apply(dst, event, e), processor.Changed
}
