//go:build !race

package jsonedit

import (
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// Applying edits allocates nothing once the buffers have grown: go test -run Allocs ./core/jsonedit.

func TestApplyAllocs(t *testing.T) {
	b := NewBuilder()
	status := b.Set(fieldpath.MustParse("event.status"))
	region := b.Set(fieldpath.MustParse("metadata.geo.region"))
	b.Delete(fieldpath.MustParse("event.user_agent"))
	card := b.MapStrings(fieldpath.MustParse("event.card"))
	amount := b.MapStringsAndNumbers(fieldpath.MustParse("event.amount"))
	p, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEdits()
	e.SetMapper(card, testMapper{})
	e.SetMapper(amount, testMapper{})
	// The escape in the card's brand sends the mapper's input through the scratch buffer; the
	// negative amount is a number the mapper changes.
	obj := []byte(strings.NewReplacer(`"brand":"visa"`, `"brand":"s\u00e9visa"`, `"amount":499`, `"amount":-499`).Replace(seedEvent))
	declined, euWest := []byte(`"declined"`), []byte(`"eu-west-1"`)
	dst := make([]byte, 0, 1024)
	run := func() {
		e.Reset()
		e.SetRaw(status, declined)
		e.SetRaw(region, euWest)
		dst = p.Apply(dst[:0], obj, e)
	}
	run()
	checkModel(t, obj, dst, []tedit{set("event.status", `"declined"`), set("metadata.geo.region", `"eu-west-1"`), del("event.user_agent"), mapped("event.card"), mappedNum("event.amount")})
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per Apply, want 0", n)
	}
}
