package jsonedit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonraw"
)

// seedEvent is the SPEC example padded with realistic fields to about 500 bytes.
const seedEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0 Safari/537.36","ip":"203.0.113.42","path":"/api/v2/checkout/confirm","region":"eu-west-1","card":{"brand":"visa","number":"4242424242424242"},"message":"payment approved for order ord_88412 after 3DS challenge"},"metadata":{"env":"prod","team":"payments"}}`

func TestApply(t *testing.T) {
	// f applies edits to obj twice with one Edits, and wants exactly want, which must also be
	// what the edits make of obj decoded.
	f := func(obj, want string, edits ...tedit) {
		t.Helper()
		p, e, err := compile(edits)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("prefix:")
		for range 2 {
			got := p.Apply(prefix, []byte(obj), e)
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("Apply lost what dst held: %s", got)
			}
			got = got[len(prefix):]
			var gv, wv any
			if err := decode([]byte(want), &wv); err != nil {
				t.Fatalf("want %s: %v", want, err)
			}
			if !json.Valid(got) || decode(got, &gv) != nil || !reflect.DeepEqual(gv, wv) {
				t.Fatalf("Apply(%s) = %s, want %s", obj, got, want)
			}
			if string(got) != want {
				t.Fatalf("Apply(%s):\n got %s\nwant %s", obj, got, want)
			}
			checkModel(t, []byte(obj), got, edits)
			load(e, edits)
		}
	}

	// replace at depth 1 to 4, keeping member order
	f(`{"a":1,"b":2}`, `{"a":"x","b":2}`, set("a", `"x"`))
	f(`{"a":{"b":1,"c":2},"d":3}`, `{"a":{"b":[1,2],"c":2},"d":3}`, set("a.b", `[1,2]`))
	f(`{"a":{"b":{"c":true,"x":0}}}`, `{"a":{"b":{"c":null,"x":0}}}`, set("a.b.c", `null`))
	f(`{"z":0,"a":{"b":{"c":{"d":"old"},"y":1}}}`, `{"z":0,"a":{"b":{"c":{"d":{"n":1}},"y":1}}}`, set("a.b.c.d", `{"n":1}`))
	f(`{"a":{"b":1}}`, `{"a":2}`, set("a", `2`))
	f(seedEvent, strings.Replace(seedEvent, `"approved"`, `"declined"`, 1), set("event.status", `"declined"`))

	// create at depth 1 to 4, with the objects on the way
	f(`{"b":2}`, `{"b":2,"a":1}`, set("a", `1`))
	f(`{}`, `{"a":1}`, set("a", `1`))
	f(`{"a":{"b":1}}`, `{"a":{"b":1,"c":{"d":2}}}`, set("a.c.d", `2`))
	f(`{}`, `{"a":{"b":{"c":{"d":1}}}}`, set("a.b.c.d", `1`))
	f(`{"a":{"b":{}}}`, `{"a":{"b":{"c":{"d":1}}}}`, set("a.b.c.d", `1`))
	f(`{"q":1}`, `{"q":1,"x":{"a":1,"b":{"c":2}}}`, set("x.a", `1`), set("x.b.c", `2`))
	f(`{"x":{"a":0}}`, `{"x":{"a":1,"b":2}}`, set("x.a", `1`), set("x.b", `2`))
	f(`{"a":1}`, `{"a":1,"c":3,"b":2}`, set("c", `3`), set("b", `2`))

	// an intermediate value that is not an object becomes one
	f(`{"a":"str","b":0}`, `{"a":{"b":1},"b":0}`, set("a.b", `1`))
	f(`{"a":[1,{"b":2}]}`, `{"a":{"b":1}}`, set("a.b", `1`))
	f(`{"a":null}`, `{"a":{"b":{"c":1,"d":2}}}`, set("a.b.c", `1`), set("a.b.d", `2`))
	f(`{"a":{"b":5,"x":1}}`, `{"a":{"b":{"c":{"d":1}},"x":1}}`, set("a.b.c.d", `1`))

	// delete the first, a middle, the last and the only member, at depth 1 to 4
	f(`{"a":1,"b":2,"c":3}`, `{"b":2,"c":3}`, del("a"))
	f(`{"a":1,"b":2,"c":3}`, `{"a":1,"c":3}`, del("b"))
	f(`{"a":1,"b":2,"c":3}`, `{"a":1,"b":2}`, del("c"))
	f(`{"a":1}`, `{}`, del("a"))
	f(`{"a":1,"b":[2]}`, `{}`, del("a"), del("b"))
	f(`{"a":1,"b":2,"c":3}`, `{"b":2}`, del("a"), del("c"))
	f(`{"x":{"a":{"b":1,"c":2}}}`, `{"x":{"a":{"c":2}}}`, del("x.a.b"))
	f(`{"x":{"a":{"b":{"c":{},"d":2}}}}`, `{"x":{"a":{"b":{"d":2}}}}`, del("x.a.b.c"))
	f(`{"x":{"a":{"b":{"c":0}}}}`, `{"x":{"a":{"b":{}}}}`, del("x.a.b.c"))
	f(seedEvent, strings.Replace(seedEvent, `"currency":"USD",`, ``, 1), del("event.currency"))

	// deleting what is missing changes nothing
	f(`{"a":1}`, `{"a":1}`, del("b"))
	f(`{"a":1}`, `{"a":1}`, del("a.b"))
	f(`{"a":[{"b":1}]}`, `{"a":[{"b":1}]}`, del("a.b"))
	f(`{}`, `{}`, del("a.b.c.d"))

	// sets and deletes together
	f(`{"a":1,"b":2}`, `{"b":2,"c":3}`, del("a"), set("c", `3`))
	f(`{"a":1}`, `{"b":"x"}`, del("a"), set("b", `"x"`))
	f(`{"e":{"a":1,"b":2,"c":3},"m":{"k":"v"}}`, `{"e":{"a":"A","c":3,"d":4},"m":{"k":"v","n":5}}`,
		set("e.a", `"A"`), del("e.b"), set("e.d", `4`), set("m.n", `5`))

	// edits switched off for this event
	f(`{"a":1,"b":2}`, `{"a":1,"b":2}`, inactive(set("a", `2`)), inactive(del("b")), inactive(mapped("c")))
	f(`{"a":1,"b":2}`, `{"a":1}`, inactive(set("a.x", `2`)), del("b"))
	f(`{"c":"sx"}`, `{"c":"sx","a":2}`, set("a", `2`), inactive(mapped("c")))

	// duplicate keys: every occurrence is edited, so no stale value survives
	f(`{"a":1,"b":2,"a":3}`, `{"b":2}`, del("a"))
	f(`{"a":1,"b":2,"a":3}`, `{"a":9,"b":2,"a":9}`, set("a", `9`))
	f(`{"a":{"b":1},"a":{"c":2}}`, `{"a":{"b":9},"a":{"c":2,"b":9}}`, set("a.b", `9`))
	f(`{"a":{"b":1},"a":5}`, `{"a":{"b":1,"c":9},"a":{"c":9}}`, set("a.c", `9`))
	f(`{"a":{"d":1,"e":0},"a":{"d":2}}`, `{"a":{"e":0},"a":{}}`, del("a.d"))
	f(`{"a":"s1","a":"s2"}`, `{"a":"S\"\n1","a":"S\"\n2"}`, mapped("a"))
	f(`{"a":{"b":1,"z":1},"a":5}`, `{"a":{"b":1},"a":{}}`, keep("a.b"))
	f(`{"ab":1,"a\u0062":2}`, `{}`, del("ab"))

	// whitespace: copied where nothing changes; dropped before commas where Apply walks
	f(" {\n  \"a\" : 1 ,\n  \"b\": { \"c\" : [ 1 , 2 ] },\n  \"d\": \"x\"\n} \n",
		" {\n  \"a\" : 1,\n  \"b\": { \"c\" : [ 1 , 2 ] },\"e\":true\n} \n",
		del("d"), set("a.x", ``), set("e", `true`))
	f("{\n  \"a\": 1,\n  \"b\": 2\n}", "{\n  \"b\": 2\n}", del("a"))
	f("{\n  \"a\": 1,\n  \"b\": 2\n}", "{\n  \"a\": 1\n}", del("b"))
	f("{\n  \"a\": {\n    \"b\": 1\n  }\n}", "{\n  \"a\": {\n    \"b\": 1,\"c\":2\n  }\n}", set("a.c", `2`))
	f("{ \"a\" :\t1 }", "{ \"a\" :\t[ 1 ] }", set("a", `[ 1 ]`))
	f("{ }", `{"a":1 }`, set("a", `1`))
	f("\t{\"a\":1}\r\n", "\t{\"a\":1}\r\n", del("b"))

	// keep: the kept paths and their ancestors' structure, then the other edits
	f(seedEvent, `{"source":"payments-app","event":{"status":"approved","card":{"brand":"visa","number":"4242424242424242"}}}`,
		keep("source", "event.status", "event.card"))
	f(seedEvent, `{"event":{"card":{"brand":"visa"}},"metadata":{"env":"prod"}}`, keep("event.card.brand", "metadata.env"))
	f(`{"a":{"b":1,"c":2},"d":3}`, `{"a":{"b":1,"c":2}}`, keep("a", "a.b"))
	f(`{"a":{"x":1},"d":3}`, `{"a":{}}`, keep("a.b"))
	f(`{"a":"s","d":3}`, `{"a":{}}`, keep("a.b"))
	f(`{"d":3}`, `{}`, keep("a.b"))
	f(`{"a":1,"b":2}`, `{}`, keep())
	f(`{"a":1,"b":2}`, `{"c":3}`, keep(), set("c", `3`))
	f(`{"a":1,"b":2,"c":{"d":1,"e":2}}`, `{"a":1,"c":{"d":1}}`, keep("a"), keep("c.d"))
	f(`{"a":1,"b":2,"c":3}`, `{"a":1,"b":9}`, keep("a"), set("b", `9`))
	f(`{"a":1,"b":2,"c":3}`, `{"a":1}`, keep("a"), inactive(set("b", `9`)))
	f(`{"a":1,"b":2}`, `{"a":7}`, keep("a"), set("a", `7`))
	f(`{"a":1,"b":2}`, `{"a":1}`, keep("a"), inactive(set("a", `7`)))
	f(`{"a":{"b":1,"c":2},"x":{"y":1,"z":2}}`, `{"a":{"b":1},"x":{"y":"Y"}}`, keep("a.b"), set("x.y", `"Y"`))
	f(`{"a":{"b":1},"x":4}`, `{"a":{"b":1},"x":{"y":"Y"}}`, keep("a.b"), set("x.y", `"Y"`))
	f(`{"a":5}`, `{"a":{"c":1}}`, keep("a.b"), set("a.c", `1`))
	f(`{"a":{"b":{"x":1,"y":2},"c":3}}`, `{"a":{"b":{"y":2}}}`, keep("a.b"), del("a.b.x"))
	f(`{"a":{"b":1},"c":2}`, `{"c":2}`, keep("a.b", "c"), del("a"))
	f(`{"a":{"b":1},"c":2}`, `{"a":{"b":1},"c":2}`, keep("a.b", "c"), inactive(del("a")))
	f(`{"a":{"b":"s1","c":"s2"},"d":"s3"}`, `{"a":{"b":"S\"\n1"}}`, keep("a.b"), mapped("a"))
	f(`{"a":{"b":"s1","c":"s2"},"d":"s3"}`, `{"a":{"b":"S\"\n1","c":"s2"},"d":"S\"\n3"}`, keep("a", "d"), mapped("d"), mapped("a.b"))
	f(`{"a":"s1"}`, `{"a":{}}`, keep("a.b"), mapped("a"))

	// mappings: every string value of a subtree, keys left alone; a single string
	f(`{"e":{"sk":"sa","n":1,"l":["sb",true,{"sz":"sc","w":"t"},[["sd"]]],"o":{"p":"x"}},"s":"s0"}`,
		`{"e":{"sk":"S\"\na","n":1,"l":["S\"\nb",true,{"sz":"S\"\nc","w":"t"},[["S\"\nd"]]],"o":{"p":"x"}},"s":"s0"}`,
		mapped("e"))
	f(`{"e":"sx","f":"sy"}`, `{"e":"S\"\nx","f":"sy"}`, mapped("e"))
	f(`{"e":5,"f":"sy"}`, `{"e":5,"f":"sy"}`, mapped("e"))
	f(`{"e":{"f":"sy"}}`, `{"e":{"f":"S\"\ny"}}`, mapped("e.f"))
	f(`{"e":"x"}`, `{"e":"x"}`, mapped("e.f"))
	f(`{"e":[ "s1" , 2 ,"t" ]}`, `{"e":[ "S\"\n1" , 2 ,"t" ]}`, mapped("e"))
	f(`{"e":{ "a" : "s" , "b" : [ ] }}`, `{"e":{ "a" : "S\"\n", "b" : [ ] }}`, mapped("e"))
	f(`{"e":"s\u00e9\n\ud83d\ude00"}`, `{"e":"S\"\n`+"é"+`\n`+"😀"+`"}`, mapped("e"))
	f(`{"e":"\u0073\"\\"}`, `{"e":"S\"\n\"\\"}`, mapped("e"))
	f(`{"e":"\u00e9s"}`, `{"e":"\u00e9s"}`, mapped("e"))

	// mappings of numbers too, by their text: a changed number becomes a string
	f(`{"e":-12.5e3,"f":-1}`, `{"e":"S\"\n12.5e3","f":-1}`, mappedNum("e"))
	f(`{"e":{"a":-1,"b":2,"c":[ -3 , 4 ,true,null,"s"],"d":"-x"},"n":-5}`,
		`{"e":{"a":"S\"\n1","b":2,"c":[ "S\"\n3" , 4 ,true,null,"S\"\n"],"d":"S\"\nx"},"n":-5}`,
		mappedNum("e"))
	f(`{"e":{"a":-1 , "b":-0}}`, `{"e":{"a":"S\"\n1", "b":"S\"\n0"}}`, mappedNum("e"))
	f(`{"e":7,"f":true}`, `{"e":7,"f":true}`, mappedNum("e"), mappedNum("f"))
	f(`{"a":-1,"a":-2}`, `{"a":"S\"\n1","a":"S\"\n2"}`, mappedNum("a"))
	f(`{"a":{"b":-1,"c":-2}}`, `{"a":{"b":"S\"\n1"}}`, keep("a.b"), mappedNum("a"))
	f(`{"e":-1,"f":-2}`, `{"e":-1,"f":"S\"\n2"}`, mapped("e"), mappedNum("f"))
	f(`{"e":-1}`, `{"e":-1}`, inactive(mappedNum("e")))

	// escapes: keys match after unescaping, values are copied as written
	f(`{"a\u0062":1,"c":"x\u0041\n"}`, `{"a\u0062":2,"c":"x\u0041\n"}`, set("ab", `2`))
	f(`{"a\u0062":1,"c":"x\u0041\n"}`, `{"c":"x\u0041\n"}`, del("ab"))
	f(`{"\u0061":{"\u0062":{"c\"":1}}}`, `{"\u0061":{"\u0062":{"c\"":1,"c":2}}}`, set("a.b.c", `2`))
	f(`{"a\\b":1,"a\"b":2,"\ud800":3}`, `{"a\\b":1,"a\"b":2,"\ud800":3,"ab":4}`, set("ab", `4`))
	f(`{"x":"a\"b\\","y":1}`, `{"x":"a\"b\\"}`, del("y"))
}

func TestApplyInvalid(t *testing.T) {
	// Invalid input gives nonsense, never a panic or a hang.
	f := func(obj string) {
		t.Helper()
		for _, edits := range [][]tedit{
			{keep("a.b"), set("a.c", `1`), del("d"), mapped("e")},
			{set("a.c", `1`), del("d"), mapped("e")},
			{keep("e", "d"), del("d"), mappedNum("e")},
		} {
			p, e, err := compile(edits)
			if err != nil {
				t.Fatal(err)
			}
			p.Apply(nil, []byte(obj), e)
		}
	}
	f(``)
	f(`[1]`)
	f(`{`)
	f(`{"a`)
	f(`{"a"`)
	f(`{"a":`)
	f(`{"a":{"b":1`)
	f(`{"a":{"b"1}}`)
	f(`{"a":,}`)
	f(`{"e":[,]}`)
	f(`{"e":[1`)
	f(`{"e":["s\`)
	f(`{"e":"s`)
	f(`{"e":-`)
	f(`{"e":[-1`)
	f(`{"e":-1x}`)
	f(`{"e":{"a":-`)
	f(`{"e":"s\u12"}`)
	f(`{"e":{"a":}}`)
	f(`{"d":1 "e":2}`)
	f(`{"a":{"b":1}}}`)
	f(`{,}`)
}

func TestCompileErrors(t *testing.T) {
	f := func(want string, edits ...tedit) {
		t.Helper()
		_, _, err := compile(edits)
		if err == nil || err.Error() != want {
			t.Fatalf("Compile: %v, want %s", err, want)
		}
	}
	f(`jsonedit: set "a.b" conflicts with delete "a.b": one edit per path`, del("a.b"), set("a.b", `1`))
	f(`jsonedit: set "a" conflicts with set "a": one edit per path`, set("a", `1`), set("a", `2`))
	f(`jsonedit: map "a" conflicts with delete "a": one edit per path`, del("a"), mapped("a"))
	f(`jsonedit: set "a.b.c" lies inside delete "a.b": an edit cannot reach into what another one sets, deletes or maps`,
		set("x", `1`), set("a.b.c", `1`), del("a.b"))
	f(`jsonedit: delete "a.b" lies inside set "a": an edit cannot reach into what another one sets, deletes or maps`,
		set("a", `1`), del("a.b"))
	f(`jsonedit: set "e.card" lies inside map "e": an edit cannot reach into what another one sets, deletes or maps`,
		keep("e.card"), mapped("e"), set("e.card", `1`))
}

func TestCompileAgain(t *testing.T) {
	b := NewBuilder()
	b.Set(fieldpath.MustParse("a"))
	p1, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	b.Delete(fieldpath.MustParse("b"))
	p2, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	obj := []byte(`{"a":1,"b":2}`)
	e1, e2 := p1.NewEdits(), p2.NewEdits()
	e1.SetRaw(0, []byte(`3`))
	e2.SetRaw(0, []byte(`3`))
	if got := p1.Apply(nil, obj, e1); string(got) != `{"a":3,"b":2}` {
		t.Fatalf("first Program: %s", got)
	}
	if got := p2.Apply(nil, obj, e2); string(got) != `{"a":3}` {
		t.Fatalf("second Program: %s", got)
	}
}

func TestEditsReset(t *testing.T) {
	b := NewBuilder()
	s := b.Set(fieldpath.MustParse("a"))
	d := b.Delete(fieldpath.MustParse("b"))
	m := b.MapStrings(fieldpath.MustParse("c"))
	p, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	obj := []byte(`{"a":1,"b":2,"c":"s"}`)
	e := p.NewEdits()
	e.SetMapper(m, testMapper{})
	f := func(want string) {
		t.Helper()
		if got := p.Apply(nil, obj, e); string(got) != want {
			t.Fatalf("Apply = %s, want %s", got, want)
		}
	}
	f(`{"a":1,"c":"S\"\n"}`)
	e.SetRaw(s, []byte(`"x"`))
	e.Activate(d, false)
	e.Activate(m, false)
	f(`{"a":"x","b":2,"c":"s"}`)
	e.SetRaw(s, []byte{})
	f(`{"a":1,"b":2,"c":"s"}`)
	e.SetRaw(s, []byte(`"x"`))
	e.Reset()
	f(`{"a":1,"c":"S\"\n"}`)
	e.SetMapper(m, nil)
	f(`{"a":1,"c":"s"}`)
}

func TestApplyConcurrent(t *testing.T) {
	// One Program, an Edits per goroutine: go test -race finds any shared write.
	edits := []tedit{set("event.status", `"declined"`), del("event.ip"), mapped("event.card"), keep("event", "source")}
	p, _, err := compile(edits)
	if err != nil {
		t.Fatal(err)
	}
	obj := []byte(seedEvent)
	var wg sync.WaitGroup
	outs := make([][]byte, 4)
	for g := range outs {
		e := p.NewEdits()
		wg.Go(func() {
			for range 50 {
				load(e, edits)
				outs[g] = p.Apply(outs[g][:0], obj, e)
			}
		})
	}
	wg.Wait()
	for _, out := range outs {
		checkModel(t, obj, out, edits)
	}
}

func TestEditsMisuse(t *testing.T) {
	b := NewBuilder()
	s := b.Set(fieldpath.MustParse("a"))
	d := b.Delete(fieldpath.MustParse("b"))
	m := b.MapStrings(fieldpath.MustParse("c"))
	p, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewBuilder().Compile()
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEdits()
	f := func(want string, fn func()) {
		t.Helper()
		defer func() {
			t.Helper()
			if r := recover(); r != want {
				t.Fatalf("recovered %v, want %s", r, want)
			}
		}()
		fn()
	}
	f("jsonedit: SetRaw on slot 1, a delete", func() { e.SetRaw(d, []byte(`1`)) })
	f("jsonedit: SetRaw on slot 2, a map", func() { e.SetRaw(m, []byte(`1`)) })
	f("jsonedit: SetMapper on slot 0, a set", func() { e.SetMapper(s, testMapper{}) })
	f("jsonedit: Activate on slot 0, a set", func() { e.Activate(s, true) })
	f("jsonedit: Apply with the Edits of another Program", func() { other.Apply(nil, []byte(`{}`), e) })
}

func TestAppendString(t *testing.T) {
	// f wants s written as want, which decodes back to s (invalid UTF-8 to U+FFFD).
	f := func(s, want string) {
		t.Helper()
		got := AppendString([]byte("x"), []byte(s))
		if string(got) != "x"+want {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
		// strings.Map turns each invalid byte into U+FFFD, as encoding/json does.
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil || back != strings.Map(func(r rune) rune { return r }, s) {
			t.Fatalf("%s decodes to %q (%v)", got[1:], back, err)
		}
	}
	f(``, `""`)
	f(`plain text`, `"plain text"`)
	f(`say "hi" \ bye`, `"say \"hi\" \\ bye"`)
	f("\n\r\t\b\f", `"\n\r\t\b\f"`)
	f("\x00\x01\x1f\x7f", `"\u0000\u0001\u001f`+"\x7f"+`"`)
	f("é😀 <&> \u2028", `"é😀 <&> `+"\u2028"+`"`)
	f("a\xffb\xc3", `"a\ufffdb\ufffd"`)
	f("\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`)
}

func TestAppendUnescaped(t *testing.T) {
	// f wants the string content c decoded as encoding/json decodes it.
	f := func(c string) {
		t.Helper()
		var want string
		if err := json.Unmarshal([]byte(`"`+c+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := jsonraw.AppendUnescaped([]byte("x"), []byte(c)); string(got) != "x"+want {
			t.Fatalf("jsonraw.AppendUnescaped(%s) = %q, want %q", c, got[1:], want)
		}
	}
	f(``)
	f(`plain`)
	f(`\"\\\/\b\f\n\r\t`)
	f(`\u0041\u00e9\u20AC`)
	f(`\ud83d\ude00`)
	f(`\ud83d`)
	f(`\ud83dx`)
	f(`\ude00\ud83d`)
	f(`\ud83d\u0041`)
	f(`\ud83d\ud83d\ude00`)
	f(`a\ud800\n`)

	// Invalid escapes decode to something.
	g := func(c, want string) {
		t.Helper()
		if got := jsonraw.AppendUnescaped(nil, []byte(c)); string(got) != want {
			t.Fatalf("jsonraw.AppendUnescaped(%s) = %q, want %q", c, got, want)
		}
	}
	g(`a\`, "a\uFFFD")
	g(`\u12`, "\uFFFD12")
	g(`\u12G4`, "\uFFFD12G4")
	g(`\x`, "x")
}
