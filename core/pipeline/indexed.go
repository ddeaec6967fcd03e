package pipeline

import (
	"bytes"
	"slices"

	"github.com/ingestd/ingestd/core/condition"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/jsonraw"
	"github.com/ingestd/ingestd/core/processor"
)

// The indexed way through a pipeline. Run reads and edits the stored event's bytes, and each
// step that edits copies the whole event: a pipeline of an enrich, a mask and two routes reads
// every byte of an event three times. RunIndexed instead starts from the spans of the fields
// the pipeline names, which the request decoder found while it validated the body
// (decode.Fields); the steps turn their edits into splices (replace this value, insert this
// member before that brace, cut that member out), and the event is copied once, splices
// applied, when it reaches a sink.
//
// It serves the pipelines whose steps say what they touch: enrich steps without keep or
// lookup, mask steps on named fields, and filters. Their written paths must not overlap each
// other, nor the paths a later step or route reads, so that every read sees the event as the
// client sent it; no path may name the members the engine adds (stream_id, received_at,
// event_id, timestamp) or write sample_rate, and removals stay below the event object. Per
// event, it gives up (and the caller runs Run) on what the splices cannot express the way
// Run's edits would write it: whitespace in the event, a duplicate key on a field's way, a set
// below a missing or non-object parent, a mask on an object or array, a removed key written
// with escapes. It produces the same bytes as Run (a fuzz test holds it to that).

// Source is an event as the request decoder found its fields, for RunIndexed.
type Source struct {
	Body  []byte        // the body the decoder scanned
	Event *decode.Event // the event, scanned with decode.Scanner.Fields set to ScanFields()
	Found []decode.Span // the scanner's Found for the event
	// Tail is what the engine appends to the event's object when it stores it (`,"stream_id":
	// ...`, without the closing brace); the event's own stream_id, received_at and event_id
	// members (Event.Cut) are left out.
	Tail []byte
}

// The steps RunIndexed knows, each told apart by the methods it has.
type (
	// setter sets fields to values and removes fields: enrich without keep or lookup
	// (Spliceable). SetValue with nil facts gives the values that do not depend on them, and
	// nil for the others; SetSource names the field a rename or copy takes its value from.
	setter interface {
		Spliceable() bool
		SetPaths() []*fieldpath.Path
		SetValue(i int, facts *processor.Facts) []byte
		SetSource(i int) *fieldpath.Path
		RemovePaths() []*fieldpath.Path
	}
	// fieldMapper maps the strings and numbers of named fields: mask.
	fieldMapper interface {
		MappedPaths() []*fieldpath.Path
	}
	// valueMapper is a fieldMapper's state.
	valueMapper interface {
		MapValue(dst, content []byte) ([]byte, bool)
	}
	// conditional drops the events its condition holds for: filter.
	conditional interface {
		Condition() *condition.Cond
	}
)

type stepKind uint8

const (
	kindSet stepKind = iota
	kindMap
	kindFilter
)

// indexedPlan is a pipeline compiled for RunIndexed.
type indexedPlan struct {
	scan    *decode.Fields // every path the plan reads or writes, which the decoder finds
	steps   []indexedStep
	filters []indexedFilter // the filter steps, in order
	checks  []check         // what fits tests, gathered from the steps
	conds   []int           // per value of Worker.cvals: its slot
	keys    []int           // the indexes in Pipeline.fields of the sampling keys and sample_rate
	fields  []int           // per path of Pipeline.fields: its slot
}

// indexedFilter is a filter among the steps, and the code of the reason it drops for.
type indexedFilter struct{ step, drop int }

// check is one test of fits, on the field at slot:
//   - a set below a field that is not top-level (parent >= 0): object tells that the parent,
//     when there, is known to be an object; a rename or copy (source >= 0, read for sets
//     only) sets nothing when its source is missing;
//   - a removed field (remove holds its key as written, `"name":`): it must be written so;
//   - otherwise a masked field.
type check struct {
	slot, parent, source int
	object               bool
	remove               []byte
}

type indexedStep struct {
	kind       stepKind
	set        setter
	slots      []int    // per path: its slot
	removes    []int    // kindSet: the slots of the removed fields
	removeKeys [][]byte // kindSet, per removed field: its key as written, `"debug":`
	parents    []int    // kindSet, per path: the slot of its parent, -1 for the event object
	values     [][]byte // kindSet, per path: its value when the facts do not decide it, else nil
	sources    []int    // kindSet, per path: the slot of the field its value comes from, or -1
	keys       [][]byte // kindSet, per path: its last segment as a member key, `"region":`
	cond       *condition.Cond
}

// storedNames are the members the engine writes into every stored event; the decoder would find
// the client's, which the engine replaces, so no indexed path may name them.
var storedNames = map[string]bool{"stream_id": true, "received_at": true, "event_id": true, "timestamp": true}

// planIndexed compiles p for RunIndexed, or returns nil when some step or path does not fit.
func planIndexed(p *Pipeline) *indexedPlan {
	pl := &indexedPlan{scan: decode.NewFields()}
	var written []*fieldpath.Path
	readable := func(f *fieldpath.Path) bool {
		segs := f.Segments()
		if storedNames[segs[0]] {
			return false
		}
		for _, w := range written {
			if nested(f, w) {
				return false
			}
		}
		return true
	}
	for _, s := range p.steps {
		var st indexedStep
		var paths, removed []*fieldpath.Path
		switch proc := s.Proc.(type) {
		case setter:
			if !proc.Spliceable() {
				return nil
			}
			paths, st.kind, st.set = proc.SetPaths(), kindSet, proc
			for _, f := range proc.RemovePaths() {
				// A member of the event object itself would meet the client's cut members and
				// the engine's tail; those are left to Run.
				segs := f.Segments()
				if !readable(f) || len(segs) < 2 {
					return nil
				}
				key := memberKey(segs[len(segs)-1])
				st.removes = append(st.removes, pl.slot(f))
				st.removeKeys = append(st.removeKeys, key)
				pl.checks = append(pl.checks, check{slot: pl.slot(f), parent: -1, remove: key})
			}
			removed = proc.RemovePaths()
		case fieldMapper:
			if paths = proc.MappedPaths(); paths == nil {
				return nil
			}
			st.kind = kindMap
		case conditional:
			st.kind, st.cond = kindFilter, proc.Condition()
			drop := 0
			for _, r := range p.reasons[:len(pl.steps)] {
				if r != "" {
					drop++
				}
			}
			pl.filters = append(pl.filters, indexedFilter{len(pl.steps), drop})
			for _, f := range st.cond.Fields() {
				if !readable(f) {
					return nil
				}
				st.slots = append(st.slots, pl.slot(f))
			}
			pl.steps = append(pl.steps, st)
			continue
		default:
			return nil
		}
		for _, f := range paths {
			if !readable(f) || f.String() == "sample_rate" {
				return nil
			}
			st.slots = append(st.slots, pl.slot(f))
			if st.kind == kindMap {
				pl.checks = append(pl.checks, check{slot: st.slots[len(st.slots)-1], parent: -1})
			}
			if st.kind == kindSet {
				segs := f.Segments()
				parent := -1
				if len(segs) > 1 {
					parent = pl.scan.Add(segs[:len(segs)-1]...)
				}
				st.parents = append(st.parents, parent)
				src := -1
				if from := st.set.SetSource(len(st.values)); from != nil {
					if !readable(from) {
						return nil
					}
					src = pl.slot(from)
				}
				st.sources = append(st.sources, src)
				if parent >= 0 {
					// The decoder refuses an event whose event or metadata is not an object.
					known := len(segs) == 2 && (segs[0] == "event" || segs[0] == "metadata")
					pl.checks = append(pl.checks, check{slot: st.slots[len(st.slots)-1], parent: parent, object: known, source: src})
				}
				st.values = append(st.values, st.set.SetValue(len(st.values), nil))
				st.keys = append(st.keys, memberKey(segs[len(segs)-1]))
			}
		}
		written = append(append(written, paths...), removed...)
		pl.steps = append(pl.steps, st)
	}
	for _, f := range p.fieldPaths {
		if f.String() != "sample_rate" && !readable(f) {
			return nil
		}
		pl.fields = append(pl.fields, pl.slot(f))
	}
	for _, idx := range p.condIdx {
		for _, k := range idx {
			pl.conds = append(pl.conds, pl.fields[k])
		}
	}
	for k := range p.fieldPaths {
		if k == p.rateIdx || slices.Contains(p.keyIdx, k) {
			pl.keys = append(pl.keys, k)
		}
	}
	return pl
}

// nested reports whether one of a and b is the other or lies inside it.
func nested(a, b *fieldpath.Path) bool {
	as, bs := a.Segments(), b.Segments()
	n := min(len(as), len(bs))
	for i := range n {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

// memberKey returns the key of a member named seg as compact JSON writes it: `"seg":`.
func memberKey(seg string) []byte { return append(jsonedit.AppendString(nil, []byte(seg)), ':') }

// slot returns the decoder's slot of f.
func (pl *indexedPlan) slot(f *fieldpath.Path) int { return pl.scan.Add(f.Segments()...) }

// splice is one change to the event's bytes: [start, end) of the body is replaced by key and
// then val. An insert (start == end) adds a member before the closing brace at start, with a
// comma unless it is the first member of that object; a top insert adds a member to the event
// object itself, after the engine's tail. key and val point into the plan, a step's values or
// the worker's arena, all of which outlive the event.
type splice struct {
	start, end int32
	key, val   []byte
	insert     bool
	top        bool
	remove     bool // a removed member, key through value
}

// indexedState is a Worker's scratch space for RunIndexed.
type indexedState struct {
	splices []splice
	arena   []byte
	dec     []byte // a string's unescaped content
	out     []byte // a mapper's output
	vals    []fieldpath.Value
	mappers []valueMapper // per step: the state of a kindMap step
}

// ScanFields returns the fields the decoder is to find for RunIndexed, or nil when the
// pipeline cannot run that way.
func (p *Pipeline) ScanFields() *decode.Fields {
	if p.indexed == nil {
		return nil
	}
	return p.indexed.scan
}

// RunIndexed is Run for an event whose fields the decoder found, with the same result and the
// same bytes in Line, but without copying the event: Result.Event stays nil, and Line or
// AppendLine build the line when it is wanted. It reports false, having done nothing the
// caller can see, when it cannot process this event that way; the caller then runs Run.
func (w *Worker) RunIndexed(src *Source, facts *processor.Facts, now int64) (*Result, bool) {
	pl, ix := w.p.indexed, &w.ix
	if pl == nil || src.Event.Spaces || src.Event.Dup {
		return nil, false
	}
	// The steps write nothing that a filter or a route reads, so filtering and routing come
	// first, and the edits are made only for events that reach a sink. Routing may keep
	// state (dynamic sampling), so whether the edits fit is known before it.
	r := w.reset()
	for _, f := range pl.filters {
		st := &pl.steps[f.step]
		vals := ix.vals[:len(st.slots)]
		for j, s := range st.slots {
			vals[j] = value(src, s)
		}
		if st.cond.EvalValues(vals) {
			r.DropCode = f.drop
			return r, true
		}
	}
	if !w.fits(src) {
		return nil, false
	}
	for j, s := range pl.conds {
		w.cvals[j] = value(src, s)
	}
	for _, k := range pl.keys {
		w.vals[k] = value(src, pl.fields[k])
	}
	w.route(now)
	if r.Sinks == 0 {
		return r, true
	}
	ix.splices, ix.arena = ix.splices[:0], ix.arena[:0]
	for i := range pl.steps {
		switch st := &pl.steps[i]; st.kind {
		case kindSet:
			w.setIndexed(src, st, facts)
		case kindMap:
			w.mapIndexed(src, st, ix.mappers[i])
		}
	}
	w.src = src
	w.sortSplices(src.Event)
	return r, true
}

// fits reports whether the set and mask steps can write their edits into this event as splices:
// every set below a field the event lacks has an object to go into, and no masked field is an
// object or an array.
func (w *Worker) fits(src *Source) bool {
	for _, c := range w.p.indexed.checks {
		v := src.Found[c.slot]
		switch {
		case c.remove != nil:
			// Finding the member's start from its value's needs the key written plainly.
			if k := v.Start - int32(len(c.remove)); !v.Empty() && (k < 1 || string(src.Body[k:v.Start]) != string(c.remove)) {
				return false
			}
		case c.parent < 0: // a masked field
			if !v.Empty() && (src.Body[v.Start] == '{' || src.Body[v.Start] == '[') {
				return false
			}
		case v.Empty() && (c.source < 0 || !src.Found[c.source].Empty()):
			if pv := src.Found[c.parent]; pv.Empty() || !c.object && src.Body[pv.Start] != '{' {
				return false
			}
		}
	}
	return true
}

// event returns the processed event: Result.Event, which RunIndexed leaves for this to build.
func (w *Worker) event() []byte {
	if w.res.Event == nil && w.src != nil {
		w.bufs[0] = w.materialize(w.bufs[0][:0], w.src)
		w.res.Event = w.bufs[0]
	}
	return w.res.Event
}

// value returns the value in the given slot, or the zero Value when the event lacks it.
func value(src *Source, slot int) fieldpath.Value {
	v := src.Found[slot]
	if v.Empty() {
		return fieldpath.Value{}
	}
	raw := src.Body[v.Start:v.End]
	return fieldpath.Value{Raw: raw, Kind: fieldpath.KindOf(raw[0])}
}

// setIndexed turns a set step's values into splices: in place where the member is there,
// inserted at the end of its parent object (which fits checked) where it is not.
func (w *Worker) setIndexed(src *Source, st *indexedStep, facts *processor.Facts) {
	for j, s := range st.slots {
		val := st.values[j]
		switch {
		case val != nil:
		case st.sources[j] >= 0:
			// A rename or copy: the value as the client sent it, or nothing without one.
			v := src.Found[st.sources[j]]
			if v.Empty() {
				continue
			}
			val = src.Body[v.Start:v.End]
		default:
			if val = st.set.SetValue(j, facts); val == nil {
				continue
			}
		}
		if v := src.Found[s]; !v.Empty() {
			w.ix.splices = append(w.ix.splices, splice{start: v.Start, end: v.End, val: val})
			continue
		}
		sp := splice{insert: true, top: true}
		if parent := st.parents[j]; parent >= 0 {
			end := src.Found[parent].End - 1
			sp.start, sp.end, sp.top = end, end, false
		}
		sp.key, sp.val = st.keys[j], val
		w.ix.splices = append(w.ix.splices, sp)
	}
	// A removal covers the member alone; materialize takes out the comma it leaves.
	for j, s := range st.removes {
		if v := src.Found[s]; !v.Empty() {
			w.ix.splices = append(w.ix.splices, splice{start: v.Start - int32(len(st.removeKeys[j])), end: v.End, remove: true})
		}
	}
}

// mapIndexed masks the value of each of a mask step's fields, none of which is an object or
// an array (fits checked).
func (w *Worker) mapIndexed(src *Source, st *indexedStep, vm valueMapper) {
	ix := &w.ix
	for _, s := range st.slots {
		v := src.Found[s]
		if v.Empty() {
			continue
		}
		raw := src.Body[v.Start:v.End]
		var content []byte
		switch fieldpath.KindOf(raw[0]) {
		case fieldpath.String:
			content = raw[1 : len(raw)-1]
			if bytes.IndexByte(content, '\\') >= 0 {
				ix.dec = jsonraw.AppendUnescaped(ix.dec[:0], content)
				content = ix.dec
			}
		case fieldpath.Number:
			content = raw
		default:
			continue
		}
		out, changed := vm.MapValue(ix.out[:0], content)
		ix.out = out[:0]
		if changed {
			// Earlier splices may point into the arena: appending keeps what they see, even
			// when it moves the arena.
			start := len(ix.arena)
			ix.arena = jsonedit.AppendString(ix.arena, out)
			ix.splices = append(ix.splices, splice{start: v.Start, end: v.End, val: ix.arena[start:len(ix.arena):len(ix.arena)]})
		}
	}
}

// sortSplices adds the cuts of the client's stream_id, received_at and event_id members to the
// splices and puts them in the order materialize takes.
func (w *Worker) sortSplices(ev *decode.Event) {
	ix := &w.ix
	for _, c := range ev.Cut {
		if c.Empty() {
			break
		}
		ix.splices = append(ix.splices, splice{start: c.Start, end: c.End})
	}
	sps := ix.splices
	// Few splices, mostly in order already: an insertion sort by start, top inserts last,
	// keeping the order of inserts at one place.
	for i := 1; i < len(sps); i++ {
		for j := i; j > 0 && after(&sps[j-1], &sps[j]); j-- {
			sps[j-1], sps[j] = sps[j], sps[j-1]
		}
	}
}

// materialize appends the event as stored, with the sorted splices applied, to dst: what
// Run's Result.Event would hold.
func (w *Worker) materialize(dst []byte, src *Source) []byte {
	sps, ev, body := w.ix.splices, src.Event, src.Body
	from, last := ev.Object.Start, ev.Object.End-1
	i := 0
	for ; i < len(sps) && !sps[i].top; i++ {
		sp := &sps[i]
		dst = append(dst, body[from:sp.start]...)
		// An inserted member needs a comma unless its object is empty so far, as written.
		if sp.insert && dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(append(dst, sp.key...), sp.val...)
		from = sp.end
		if sp.remove {
			// Of the commas around a removed member, one goes: the one after it when it came
			// first or after a comma, else (it was last) the one before it.
			switch c := dst[len(dst)-1]; {
			case body[from] == ',' && (c == '{' || c == ','):
				from++
			case body[from] == '}' && c == ',':
				dst = dst[:len(dst)-1]
			}
		}
	}
	dst = append(dst, body[from:last]...)
	dst = append(dst, src.Tail...)
	for ; i < len(sps); i++ {
		dst = append(append(append(dst, ','), sps[i].key...), sps[i].val...)
	}
	return append(dst, '}')
}

// after reports whether splice a goes after splice b.
func after(a, b *splice) bool {
	if a.top != b.top {
		return a.top
	}
	return !a.top && a.start > b.start
}
