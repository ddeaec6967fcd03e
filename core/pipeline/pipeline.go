// Package pipeline runs a stream's processing steps and routes over each event: the steps in
// order (parse, enrich, mask, filter), then the routes, which decide the sinks an event
// reaches. A Pipeline is compiled once per config (the config loader builds it) and shared; each
// shard worker runs events through its own Worker, which allocates nothing once warm.
//
// Routing: routes are evaluated in order. A route matches when its condition holds (a route
// without one matches every event); a matching route's sample, if any, then keeps or drops the
// event for that route's sinks. A sampled-out event still counts as matched, so it does not fall
// to the default sinks, and a final route stops the evaluation whatever its sampling decided.
// Events that match no route go to the default sinks, or are dropped as "no_route".
//
// An event reaches each sink at most once. Events kept by a sampling route carry
// "sample_rate": N, the inverse of their keep probability, so that downstream counts can be
// weighted back up; when several matching routes reach one sink, the sink gets the event with
// the smallest weight among them, none if one of them does not sample.
package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/ingestd/ingestd/core/condition"
	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/core/sample"
)

// MaxSteps, MaxRoutes and MaxSinks bound one stream's pipeline, so that a Result keeps its sets
// of steps, routes and sinks in 64-bit masks.
const (
	MaxSteps  = 64
	MaxRoutes = 64
	MaxSinks  = 64
)

// Drop reasons the pipeline itself gives; filter steps name theirs.
const (
	ReasonNoRoute    = "no_route"
	ReasonSampledOut = "sampled_out"
)

var sampleRatePath = fieldpath.MustParse("sample_rate")

// Step is one compiled processing step.
type Step struct {
	Name string // how metrics and `ingestd process` name it
	Proc processor.Processor
}

// Route is one compiled routing rule.
type Route struct {
	Name   string
	When   *condition.Cond // nil: every event matches
	Sample *sample.Sampler // nil: no sampling
	Key    *fieldpath.Path // the sampling key; nil samples at random
	To     []int           // indexes into the pipeline's sinks
	Final  bool
}

// Pipeline is a stream's compiled steps and routes. It is immutable and safe for concurrent use.
type Pipeline struct {
	steps    []Step
	reasons  []string // drop reason of each step ("" for steps that never drop)
	routes   []Route
	to       []uint64 // sink mask of each route
	defaults uint64
	sinks    []string
	drops    []string // every drop reason, indexed by Result.DropCode
	rate     *jsonedit.Program
	plain    bool // no steps and no routes: every event goes unchanged to the default sinks

	// Every field the routes read (conditions and sampling keys) is found in one pass over the
	// event: fields is their union, and each route maps its own fields into it.
	fields     *fieldpath.Set
	fieldPaths []*fieldpath.Path // the paths of fields, by index
	condIdx    [][]int           // per route: the index in fields of each of its condition's fields
	keyIdx     []int             // per route: the index in fields of its sampling key, or -1
	rateIdx    int               // the index in fields of the top-level "sample_rate", or -1
	condOff    []int             // per route and one more: where its condition's fields start in Worker.cvals

	indexed *indexedPlan // nil when RunIndexed cannot serve the pipeline
}

// New assembles a pipeline. sinks names the sinks the routes and defaults index.
func New(steps []Step, routes []Route, defaults []int, sinks []string) (*Pipeline, error) {
	if len(steps) > MaxSteps || len(routes) > MaxRoutes || len(sinks) > MaxSinks {
		return nil, fmt.Errorf("a stream has at most %d processors, %d routes and %d sinks", MaxSteps, MaxRoutes, MaxSinks)
	}
	p := &Pipeline{steps: steps, routes: routes, sinks: sinks}
	mask := func(idx []int) (uint64, error) {
		var m uint64
		for _, i := range idx {
			if i < 0 || i >= len(sinks) {
				return 0, errors.New("pipeline: sink index out of range")
			}
			m |= 1 << i
		}
		return m, nil
	}
	for _, r := range routes {
		m, err := mask(r.To)
		if err != nil {
			return nil, err
		}
		p.to = append(p.to, m)
	}
	var err error
	if p.defaults, err = mask(defaults); err != nil {
		return nil, err
	}
	for _, s := range steps {
		reason := ""
		if d, ok := s.Proc.(interface{ DropReason() string }); ok {
			reason = d.DropReason()
			p.drops = append(p.drops, reason)
		}
		p.reasons = append(p.reasons, reason)
	}
	p.drops = append(p.drops, ReasonNoRoute, ReasonSampledOut)
	b := jsonedit.NewBuilder()
	b.Set(sampleRatePath)
	if p.rate, err = b.Compile(); err != nil {
		return nil, err
	}
	p.plain = len(steps) == 0 && len(routes) == 0
	p.indexFields()
	if !p.plain {
		p.indexed = planIndexed(p)
	}
	return p, nil
}

// indexFields gathers the fields of every route into one set.
func (p *Pipeline) indexFields() {
	var paths []*fieldpath.Path
	at := map[string]int{}
	index := func(f *fieldpath.Path) int {
		i, ok := at[f.String()]
		if !ok {
			i = len(paths)
			at[f.String()] = i
			paths = append(paths, f)
		}
		return i
	}
	for _, r := range p.routes {
		var idx []int
		if r.When != nil {
			for _, f := range r.When.Fields() {
				idx = append(idx, index(f))
			}
		}
		p.condIdx = append(p.condIdx, idx)
		k := -1
		if r.Key != nil {
			k = index(r.Key)
		}
		p.keyIdx = append(p.keyIdx, k)
	}
	// Whether the event already has a sample_rate decides how Line adds one.
	p.rateIdx = -1
	for _, r := range p.routes {
		if r.Sample != nil {
			p.rateIdx = index(sampleRatePath)
			break
		}
	}
	p.fields = fieldpath.NewSet(paths...)
	p.fieldPaths = paths
	p.condOff = append(p.condOff, 0)
	for _, idx := range p.condIdx {
		p.condOff = append(p.condOff, p.condOff[len(p.condOff)-1]+len(idx))
	}
}

// Sinks returns the names of the sinks the pipeline routes to; Result.Sinks indexes them.
func (p *Pipeline) Sinks() []string { return p.sinks }

// Steps returns the steps, which Result.Failed indexes.
func (p *Pipeline) Steps() []Step { return p.steps }

// Routes returns the routes, which Result.Matched and Result.SampledOut index.
func (p *Pipeline) Routes() []Route { return p.routes }

// DropReasons returns every reason an event may be dropped for; Result.DropCode indexes it.
func (p *Pipeline) DropReasons() []string { return p.drops }

// Plain reports whether the pipeline passes every event unchanged to every sink, so that the
// engine may skip it.
func (p *Pipeline) Plain() bool { return p.plain }

// Result is what the pipeline did with one event. It belongs to the Worker and is valid until
// its next Run.
type Result struct {
	Event      []byte        // the processed event, one line without newline; nil when a step dropped it, and after RunIndexed (Line builds it)
	Failed     uint64        // steps that could not do their work and tagged the event instead
	Matched    uint64        // routes whose condition held
	SampledOut uint64        // matched routes whose sampling dropped the event
	Default    bool          // no route matched and the event went to the default sinks
	Sinks      uint64        // sinks the event reaches
	DropCode   int           // when Sinks == 0: index of the reason in Pipeline.DropReasons
	rates      [MaxSinks]int // per reached sink: the sample_rate it gets, 0 for none
}

// Dropped reports whether the event reaches no sink.
func (r *Result) Dropped() bool { return r.Sinks == 0 }

// Worker runs events through a pipeline. It belongs to one goroutine at a time.
type Worker struct {
	p      *Pipeline
	states []processor.State
	bufs   [2][]byte
	key    []byte            // the sampling key's unescaped value
	vals   []fieldpath.Value // the routes' fields in the current event
	cvals  []fieldpath.Value // every route's condition's fields, each route's in one run (condOff)
	res    Result

	edits   *jsonedit.Edits
	numBuf  []byte
	variant []byte // the event with sample_rate set
	varRate int    // the rate in variant; 0 when variant is stale

	ix  indexedState
	src *Source // the event of the last RunIndexed, which Line builds; nil after Run
}

// NewWorker returns a Worker for p.
func (p *Pipeline) NewWorker() *Worker {
	w := &Worker{
		p:     p,
		edits: p.rate.NewEdits(),
		vals:  make([]fieldpath.Value, p.fields.Len()),
		cvals: make([]fieldpath.Value, p.condOff[len(p.condOff)-1]),
	}
	for _, s := range p.steps {
		w.states = append(w.states, s.Proc.NewState())
	}
	if pl := p.indexed; pl != nil {
		width := 0
		for _, st := range pl.steps {
			if st.kind == kindFilter {
				width = max(width, len(st.slots))
			}
		}
		w.ix.vals = make([]fieldpath.Value, width)
		w.ix.mappers = make([]valueMapper, len(w.states))
		for i, st := range pl.steps {
			if st.kind == kindMap {
				w.ix.mappers[i] = w.states[i].(valueMapper)
			}
		}
	}
	return w
}

// Run processes one event, a JSON object on one line without newline. now (Unix nanoseconds)
// paces dynamic sampling. The result, and the bytes it refers to, are valid until the next Run.
func (w *Worker) Run(event []byte, facts *processor.Facts, now int64) *Result {
	p := w.p
	r := w.reset()
	cur, next := event, 0
	drop := 0
	for i, st := range w.states {
		out, o := st.Process(w.bufs[next][:0], cur, facts)
		switch o {
		case processor.Changed, processor.Failed:
			if o == processor.Failed {
				r.Failed |= 1 << i
			}
			w.bufs[next] = out
			cur = out
			next ^= 1
		case processor.Drop:
			r.DropCode = drop
			return r
		}
		if p.reasons[i] != "" {
			drop++
		}
	}
	r.Event, w.src = cur, nil
	if len(w.vals) > 0 {
		p.fields.Lookup(cur, w.vals)
		for i, idx := range p.condIdx {
			for j, k := range idx {
				w.cvals[p.condOff[i]+j] = w.vals[k]
			}
		}
	}
	w.route(now)
	return r
}

// reset clears the result for a new event.
func (w *Worker) reset() *Result {
	r := &w.res
	// rates is left as it was: reach sets a sink's rate whenever it adds the sink.
	r.Event, r.Failed, r.Matched, r.SampledOut, r.Default, r.Sinks, r.DropCode = nil, 0, 0, 0, false, 0, -1
	w.varRate, w.src = 0, nil
	return r
}

// route evaluates the routes over the event's fields, which w.cvals (conditions) and w.vals
// (sampling keys, sample_rate) hold, and fills in the result's routes and sinks.
func (w *Worker) route(now int64) {
	p, r := w.p, &w.res
	for i := range p.routes {
		rt := &p.routes[i]
		if rt.When != nil && !rt.When.EvalValues(w.cvals[p.condOff[i]:p.condOff[i+1]]) {
			continue
		}
		r.Matched |= 1 << i
		rate := 0
		if rt.Sample != nil {
			keep, n := w.sample(rt, p.keyIdx[i], now)
			if !keep {
				r.SampledOut |= 1 << i
				if rt.Final {
					break
				}
				continue
			}
			rate = n
		}
		w.reach(p.to[i], rate)
		if rt.Final {
			break
		}
	}
	if r.Matched == 0 && p.defaults != 0 {
		r.Default = true
		w.reach(p.defaults, 0)
	}
	if r.Sinks == 0 {
		r.DropCode = len(p.drops) - 2 // no_route
		if r.Matched != 0 {
			r.DropCode++ // sampled_out
		}
	}
}

func (w *Worker) sample(rt *Route, keyIdx int, now int64) (bool, int) {
	if keyIdx < 0 || w.vals[keyIdx].Kind == 0 {
		return rt.Sample.Keep(nil, false, now)
	}
	v := w.vals[keyIdx]
	key := v.Raw
	if v.Kind == fieldpath.String {
		// A key without escapes is its own unescaped content.
		if key = v.Raw[1 : len(v.Raw)-1]; bytes.IndexByte(key, '\\') >= 0 {
			w.key = v.Str(w.key[:0])
			key = w.key
		}
	}
	return rt.Sample.Keep(key, true, now)
}

// reach adds the sinks of mask with the given sample rate (0: not sampled): a sink reached
// without sampling gets no rate, otherwise the smallest.
func (w *Worker) reach(mask uint64, rate int) {
	r := &w.res
	for m := mask; m != 0; m &= m - 1 {
		s := bits.TrailingZeros64(m)
		switch {
		case r.Sinks&(1<<s) == 0:
			r.Sinks |= 1 << s
			r.rates[s] = rate
		case r.rates[s] != 0 && (rate == 0 || rate < r.rates[s]):
			r.rates[s] = rate
		}
	}
}

// Line returns the event as sink s receives it: Result.Event, with "sample_rate" set when a
// sampling route brought it there. It is valid until the next Run.
func (w *Worker) Line(s int) []byte {
	rate := w.res.rates[s]
	if rate == 0 {
		return w.event()
	}
	if rate != w.varRate {
		ev := w.event()
		if w.vals[w.p.rateIdx].Kind == 0 && hasMembers(ev) {
			// The common case: no sample_rate yet, so it goes before the closing brace.
			w.variant = appendRate(append(w.variant[:0], ev...), rate)
		} else {
			w.numBuf = strconv.AppendInt(w.numBuf[:0], int64(rate), 10)
			w.edits.SetRaw(0, w.numBuf)
			w.variant = w.p.rate.Apply(w.variant[:0], ev, w.edits)
		}
		w.varRate = rate
	}
	return w.variant
}

// AppendLine appends Line(s) to dst. After RunIndexed, it builds the line straight into dst.
func (w *Worker) AppendLine(dst []byte, s int) []byte {
	rate := w.res.rates[s]
	if w.src == nil || rate != 0 && w.vals[w.p.rateIdx].Kind != 0 {
		return append(dst, w.Line(s)...)
	}
	dst = w.materialize(dst, w.src)
	if rate != 0 {
		dst = appendRate(dst, rate)
	}
	return dst
}

// appendRate adds "sample_rate" as the last member of the object that dst ends with, which
// has members and no sample_rate yet.
func appendRate(dst []byte, rate int) []byte {
	dst = append(dst[:len(dst)-1], `,"sample_rate":`...)
	dst = strconv.AppendInt(dst, int64(rate), 10)
	return append(dst, '}')
}

// hasMembers reports whether obj, a JSON object, holds a member, so that one more can be
// appended after a comma before its closing brace.
func hasMembers(obj []byte) bool {
	i := len(obj) - 2
	for i > 0 && (obj[i] == ' ' || obj[i] == '\t' || obj[i] == '\n' || obj[i] == '\r') {
		i--
	}
	return i > 0 && obj[len(obj)-1] == '}'
}
