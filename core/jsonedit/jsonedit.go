// Package jsonedit applies a batch of edits to a JSON object in one copying pass, without
// decoding it and without allocating: the engine of the processors that change events (enrich,
// mask, parse).
//
// A Builder collects the edits a processor may make — set (replace or create) a member, delete
// a member, keep only an allow-list of paths, map every string under a path — and compiles them
// into a Program, once. Per event, an Edits holds what changes: the value of each set, whether
// each delete or mapping is on. Program.Apply then copies the object into a destination
// buffer, editing as it goes; it allocates nothing once the destination and the Edits' scratch
// buffers have grown to the size of the events.
//
// # Rules
//
//   - One edit per path, and no set, delete or mapping may lie inside another: "a.b" conflicts
//     with "a.b" and with "a" (Compile reports it). Keep paths may overlap anything.
//   - Keep is applied first, as if the allow-list filtered the object before the other edits
//     ran. Only members on a kept path survive, with their ancestors' structure: an ancestor
//     that is present survives as an object holding only its kept members (possibly none), and
//     an ancestor that is not an object becomes {}. Members that an active set writes survive
//     too; those of an inactive set do not, unless kept.
//   - A set replaces the value of an existing member in place, keeping member order. A missing
//     member is appended at the end of the innermost existing object, with the objects leading
//     to it created. An intermediate value that exists but is not an object (a string, an
//     array, null) is replaced by an object holding only what the sets below it write.
//     Members created in one object come in the order of the Set calls that first reach them.
//   - A delete removes the member; deleting a missing member does nothing.
//   - A mapping passes the decoded content of every string value under its path (array
//     elements included, keys excluded), or of the value itself if it is a string, to a
//     StringMapper, and writes back what it returns. A mapping made by MapStringsAndNumbers
//     passes numbers too, by their text; a number the mapper changes becomes a string.
//   - Duplicate keys: every occurrence of a key is edited (all removed, all replaced, all
//     mapped, all filtered), so that whichever occurrence a reader keeps, it holds no stale
//     value. Keys match after unescaping: the key "a\u0062" is the segment "ab".
//
// # Layout
//
// Bytes that no edit touches are copied as they are, whitespace included, and so are keys and
// the whitespace around a member's colon. In an object that Apply walks into (one with edits
// below it, mapped, or filtered by Keep), the whitespace between a member that Apply edits,
// maps or walks into and the comma after it is dropped; the whitespace before the closing
// brace is kept. Members Apply creates are written compact.
package jsonedit

import (
	"fmt"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// op is what an edit does at its path.
type op uint8

const (
	opNone op = iota
	opSet
	opDelete
	opMap
)

var opNames = [...]string{"keep", "set", "delete", "map"}

// Builder collects the edits of a Program. The zero Builder is not usable; call NewBuilder.
type Builder struct {
	edits []edit
	keeps []*fieldpath.Path
	keep  bool
}

type edit struct {
	op      op
	path    *fieldpath.Path
	numbers bool // a mapping of numbers as well as strings
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{} }

// Set adds an edit that replaces or creates the member at p, and returns its slot: the index
// that Edits.SetRaw takes.
func (b *Builder) Set(p *fieldpath.Path) int { return b.add(edit{op: opSet, path: p}) }

// Delete adds an edit that removes the member at p, and returns its slot, which Edits.Activate
// switches off and on.
func (b *Builder) Delete(p *fieldpath.Path) int { return b.add(edit{op: opDelete, path: p}) }

// MapStrings adds an edit that passes every string value under p through the StringMapper
// that Edits.SetMapper gives its slot, and returns that slot.
func (b *Builder) MapStrings(p *fieldpath.Path) int { return b.add(edit{op: opMap, path: p}) }

// MapStringsAndNumbers is MapStrings that also passes every number under p to the mapper, as
// its JSON text (-12.5e3). A number the mapper leaves alone is copied as it is; one it changes
// is written as a JSON string holding what the mapper returned, since that need not be a
// number. Values that are sensitive yet numeric (card and phone numbers) then get masked too.
func (b *Builder) MapStringsAndNumbers(p *fieldpath.Path) int {
	return b.add(edit{op: opMap, path: p, numbers: true})
}

// Keep turns the Program into an allow-list: only members on the kept paths (and what active
// sets write) survive. Calls add up; a call without paths still turns the allow-list on, so
// that only what sets write survives.
func (b *Builder) Keep(ps ...*fieldpath.Path) {
	b.keep = true
	b.keeps = append(b.keeps, ps...)
}

func (b *Builder) add(e edit) int {
	b.edits = append(b.edits, e)
	return len(b.edits) - 1
}

// Compile checks the edits and compiles them into a Program. It fails when two edits name the
// same path or when a set, delete or mapping lies inside another one's path. The Builder may
// be compiled again after more edits; Programs already compiled do not change.
func (b *Builder) Compile() (*Program, error) {
	p := &Program{keep: b.keep, slots: make([]slot, len(b.edits))}
	p.root = p.newNode("")
	for i, e := range b.edits {
		n := p.root
		chain := []int32{n.id}
		for _, seg := range e.path.Segments() {
			n = p.child(n, seg)
			chain = append(chain, n.id)
		}
		if n.op != opNone {
			return nil, fmt.Errorf("jsonedit: %s %q conflicts with %s %q: one edit per path",
				opNames[e.op], e.path, opNames[n.op], b.edits[n.slot].path)
		}
		n.op, n.slot = e.op, int32(i)
		p.slots[i] = slot{op: e.op, chain: chain, numbers: e.numbers}
	}
	for _, k := range b.keeps {
		n := p.root
		for _, seg := range k.Segments() {
			n.keepAnc = true
			n = p.child(n, seg)
		}
		n.keepAll = true
	}
	for i, e := range b.edits {
		for _, id := range p.slots[i].chain[:len(p.slots[i].chain)-1] {
			if a := p.nodes[id]; a.op != opNone {
				return nil, fmt.Errorf("jsonedit: %s %q lies inside %s %q: an edit cannot reach into what another one sets, deletes or maps",
					opNames[e.op], e.path, opNames[a.op], b.edits[a.slot].path)
			}
		}
	}
	return p, nil
}

// Program is a compiled set of edits. It is immutable and safe for concurrent use; each
// goroutine applies it with its own Edits.
type Program struct {
	root  *node
	nodes []*node // by id
	slots []slot
	keep  bool
}

// slot is one edit of a Program.
type slot struct {
	op      op
	chain   []int32 // the ids of the nodes from the root to the edit's node
	numbers bool    // a mapping that passes numbers too
}

// node is one segment of the trie of every path the Program touches.
type node struct {
	id   int32
	seg  string
	key  string // the member's key as written when Apply creates it: "seg":
	kids []*node
	op   op
	slot int32 // the edit at this node, when op is not opNone
	// keepAll marks the end of a kept path: its whole value survives. keepAnc marks a node
	// with a kept path below it.
	keepAll, keepAnc bool
}

func (p *Program) newNode(seg string) *node {
	n := &node{id: int32(len(p.nodes)), seg: seg, key: `"` + seg + `":`}
	p.nodes = append(p.nodes, n)
	return n
}

// child returns n's child named seg, creating it if need be.
func (p *Program) child(n *node, seg string) *node {
	for _, k := range n.kids {
		if k.seg == seg {
			return k
		}
	}
	k := p.newNode(seg)
	n.kids = append(n.kids, k)
	return k
}

// StringMapper rewrites the strings of a mapped subtree. MapString gets the decoded content
// of one string (no quotes, no escapes), or the text of a number for a mapping made by
// MapStringsAndNumbers, which it must neither change nor keep, and returns dst with the new
// content appended, decoded too, and whether it changed anything. When changed is false,
// Apply copies the original value as it was. The mask package's Masker.Apply has this shape.
type StringMapper interface {
	MapString(dst, content []byte) (out []byte, changed bool)
}

// Edits holds the per-event values of a Program's edits and Apply's scratch space. It is
// reused from event to event, and belongs to one goroutine at a time.
//
// A new or Reset Edits has every set inactive and every delete and mapping on; mappers are
// kept across Reset, being set up once.
type Edits struct {
	p       *Program
	raws    [][]byte // by slot: the value of a set, nil while inactive
	on      []bool   // by slot: whether a delete or a mapping is on
	mappers []StringMapper
	// live counts, per node, the active sets at or below it; active counts every active
	// edit. Apply computes them first.
	live, active []int32
	seen         []bool // per node: whether the object being walked has had this member
	dec, out     []byte // decoded strings and keys; a mapper's output
}

// NewEdits returns an Edits for p.
func (p *Program) NewEdits() *Edits {
	e := &Edits{
		p:       p,
		raws:    make([][]byte, len(p.slots)),
		on:      make([]bool, len(p.slots)),
		mappers: make([]StringMapper, len(p.slots)),
		live:    make([]int32, len(p.nodes)),
		active:  make([]int32, len(p.nodes)),
		seen:    make([]bool, len(p.nodes)),
	}
	e.Reset()
	return e
}

// Reset makes every set inactive and turns every delete and mapping on, and drops the
// references to set values. Mappers stay.
func (e *Edits) Reset() {
	clear(e.raws)
	for i := range e.on {
		e.on[i] = true
	}
}

// SetRaw gives the set edit at slot its value for the next Apply: raw must be one valid JSON
// value, which the caller vouches for, and stays referenced until Reset or the next SetRaw.
// A nil or empty raw makes the set inactive. It panics if slot is not a set.
func (e *Edits) SetRaw(slot int, raw []byte) {
	e.check(slot, opSet, "SetRaw")
	if len(raw) == 0 {
		raw = nil
	}
	e.raws[slot] = raw
}

// Activate switches the delete or mapping at slot on or off. It panics if slot is a set:
// SetRaw with nil makes one inactive.
func (e *Edits) Activate(slot int, on bool) {
	if e.p.slots[slot].op == opSet {
		panic(fmt.Sprintf("jsonedit: Activate on slot %d, a set", slot))
	}
	e.on[slot] = on
}

// SetMapper gives the mapping at slot its StringMapper; a mapping without one does nothing.
// It panics if slot is not a mapping.
func (e *Edits) SetMapper(slot int, m StringMapper) {
	e.check(slot, opMap, "SetMapper")
	e.mappers[slot] = m
}

func (e *Edits) check(slot int, o op, method string) {
	if got := e.p.slots[slot].op; got != o {
		panic(fmt.Sprintf("jsonedit: %s on slot %d, a %s", method, slot, opNames[got]))
	}
}

// prepare counts the active edits below each node and reports whether there is any.
func (e *Edits) prepare() bool {
	clear(e.live)
	clear(e.active)
	found := false
	for i, s := range e.p.slots {
		set := s.op == opSet && e.raws[i] != nil
		if !set && (s.op == opSet || !e.on[i] || s.op == opMap && e.mappers[i] == nil) {
			continue
		}
		found = true
		for _, id := range s.chain {
			e.active[id]++
			if set {
				e.live[id]++
			}
		}
	}
	return found
}
