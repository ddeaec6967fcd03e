package jsonedit

import (
	"testing"

	"github.com/bytedance/sonic"
	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/mask"
)

// go test -run '^$' -bench . -benchmem ./core/jsonedit
// Expect 0 allocs/op for every way:jsonedit; way:copy (append the event unchanged) is the
// floor, way:sonic (decode to a map, edit, encode) the baseline.

var sinkBytes []byte

func BenchmarkApply(b *testing.B) {
	obj := []byte(seedEvent)
	declined, euWest := []byte(`"declined"`), []byte(`"eu-west-1"`)
	masker, err := mask.New(mask.Options{
		Detectors: []mask.Detector{must(mask.Builtin("credit_card"))},
		Mode:      mask.Hash,
		Key:       []byte("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, build func(*Builder) func(*Edits)) {
		bl := NewBuilder()
		load := build(bl)
		p, err := bl.Compile()
		if err != nil {
			b.Fatal(err)
		}
		e := p.NewEdits()
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(obj))
			b.ReportAllocs()
			b.SetBytes(int64(len(obj)))
			for b.Loop() {
				e.Reset()
				load(e)
				dst = p.Apply(dst[:0], obj, e)
			}
			sinkBytes = dst
		})
	}
	b.Run("edits:none/way:copy", func(b *testing.B) {
		dst := make([]byte, 0, 2*len(obj))
		b.ReportAllocs()
		b.SetBytes(int64(len(obj)))
		for b.Loop() {
			dst = append(dst[:0], obj...)
		}
		sinkBytes = dst
	})
	run("edits:none/way:jsonedit", func(bl *Builder) func(*Edits) {
		bl.Set(fieldpath.MustParse("event.status"))
		return func(*Edits) {}
	})
	// The edits of an enrich and a mask processor: two sets (one creating its parent), a
	// delete, and every string of a subtree through a mapper.
	setDeleteMap := func(m StringMapper) func(*Builder) func(*Edits) {
		return func(bl *Builder) func(*Edits) {
			status := bl.Set(fieldpath.MustParse("event.status"))
			region := bl.Set(fieldpath.MustParse("metadata.geo.region"))
			bl.Delete(fieldpath.MustParse("event.user_agent"))
			card := bl.MapStrings(fieldpath.MustParse("event.card"))
			return func(e *Edits) {
				e.SetMapper(card, m)
				e.SetRaw(status, declined)
				e.SetRaw(region, euWest)
			}
		}
	}
	run("edits:set2-delete1-map1/mapper:test/way:jsonedit", setDeleteMap(testMapper{}))
	run("edits:set2-delete1-map1/mapper:mask-card-hash/way:jsonedit", setDeleteMap(maskMapper{masker}))
	b.Run("edits:set2-delete1-map1/mapper:test/way:sonic", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(obj)))
		for b.Loop() {
			var m map[string]any
			if err := sonic.Unmarshal(obj, &m); err != nil {
				b.Fatal(err)
			}
			ev := m["event"].(map[string]any)
			ev["status"] = "declined"
			delete(ev, "user_agent")
			card := ev["card"].(map[string]any)
			for k, v := range card {
				if s, ok := v.(string); ok {
					card[k] = mapModel(s)
				}
			}
			setModel(m, []string{"metadata", "geo", "region"}, "eu-west-1")
			out, err := sonic.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			sinkBytes = out
		}
	})
	run("edits:keep3/way:jsonedit", func(bl *Builder) func(*Edits) {
		bl.Keep(fieldpath.MustParse("source"), fieldpath.MustParse("event.status"), fieldpath.MustParse("event.card"))
		return func(*Edits) {}
	})
}

// maskMapper is what the mask processor gives a mapping: a Masker under the mapper's name.
type maskMapper struct{ m *mask.Masker }

func (m maskMapper) MapString(dst, content []byte) ([]byte, bool) { return m.m.Apply(dst, content) }

func must[T any](v T, ok bool) T {
	if !ok {
		panic("not found")
	}
	return v
}

func BenchmarkAppendString(b *testing.B) {
	f := func(name, s string) {
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(s)+2)
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				dst = AppendString(dst[:0], []byte(s))
			}
			sinkBytes = dst
		})
	}
	f("text:ascii", "payment approved for order ord_88412 after 3DS challenge")
	f("text:escapes", "line one\nline \"two\"\ttab \\ back")
	f("text:utf8", "paiement approuvé pour la commande n° 88412 — défi 3DS réussi")
}
