package core

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/processor"
)

// The indexed pipeline (pipeline.Worker.RunIndexed over the decoder's member index) must give
// exactly what the byte-level one (Run over the stored line) gives: the same routes and sinks,
// the same bytes for every sink. These tests and FuzzIndexed run both on the same events.

// indexedPipelines are stream bodies whose pipelines RunIndexed serves, each stressing a part
// of it; the sinks are a, b and c.
var indexedPipelines = []string{
	// The benchmark's reference pipeline.
	`processors:
      - {type: enrich, set: {metadata.region: "eu-west-1", metadata.pipeline: "ingestd"}}
      - {type: mask, fields: [event.message], detectors: [credit_card], mode: hash, key: "test-mask-key-0123456789abcdef"}
    routes:
      - {name: big, when: 'event.status == "declined" && event.amount > 1000', to: [a], final: true}
      - {name: sampled, when: 'metadata.env in ["prod", "staging"]', sample: {rate: 0.5, key: source}, to: [b]}
    default: [b]`,
	// Sets at every level, facts, in place and inserted, a filter reading what no step writes.
	`processors:
      - {type: filter, when: 'event.status == "health" || source == "probe"', reason: health}
      - {type: enrich, set: {top: {"x": [1, "y"]}, event.card.brand: "visa", source: "rewritten", event.n: null}, facts: {metadata.token: token, metadata.host: host}}
      - {type: enrich, set: {metadata.second: 2}}
    routes:
      - {name: all, to: [a, c]}
      - {name: never, when: 'event.status == "nope"', to: [b]}`,
	// Masks of every mode on strings, numbers and fields that are objects.
	`processors:
      - {type: mask, fields: [event.message, event.card.number, event.id], detectors: [credit_card, email], mode: partial, keep_last: 2}
      - {type: mask, fields: [metadata.note, event.nested], mode: redact, replacement: "***"}
    routes:
      - {name: sampled, sample: {rate: 0.5, key: source}, to: [a]}
      - {name: keyed, sample: {rate: 0.25, key: source}, to: [a, b]}
      - {name: rest, when: 'exists(event.status)', to: [c]}
    default: [c]`,
	// Removes: first, middle, last and only members, neighbours, and inserts into an object
	// that removes empty.
	`processors:
      - {type: enrich, remove: [event.debug, event.a, event.b], set: {event.added: 1, metadata.m: "x"}}
      - {type: enrich, remove: [metadata.drop, event.card.number]}
    routes:
      - {name: all, to: [a]}`,
	// Renames and copies, to new and existing fields, beside sets and facts in the same step;
	// a rename onto the field's own parent.
	`processors:
      - {type: enrich, rename: {event.a: event.renamed, event.card.number: event.card.pan}, copy: {metadata.x: event.keep}, set: {event.set: true}, facts: {event.stream: stream}}
      - {type: enrich, rename: {metadata.drop.y: metadata.drop}}
    routes:
      - {name: all, to: [a]}`,
}

// indexedEvents are events for those pipelines: plain ones, and ones RunIndexed must decline
// (whitespace, duplicate keys, parents missing or not objects) or handle at its edges (empty
// objects, escaped keys, cut members, an existing sample_rate).
var indexedEvents = []string{
	`{"source":"app","event":{"id":"t1","status":"declined","amount":1500,"message":"card 4111 1111 1111 1111 ok"},"metadata":{"env":"prod"}}`,
	`{"timestamp":"2025-02-12T14:32:15Z","source":"app","event":{"id":"t2","status":"approved","amount":12.5,"message":"mail bob@example.com now","card":{"number":"5500 0000 0000 0004"}},"metadata":{"env":"staging","note":"secret"}}`,
	`{"source":"app","event":{"id":3,"status":"health"},"metadata":{}}`,
	`{"source":"probe","event":{"id":4}}`,
	`{"source":"app","event":{},"metadata":{"env":"dev"}}`,
	`{"stream_id":"x","source":"app","received_at":1,"event":{"id":"t6","message":4111111111111111},"event_id":"mine","metadata":{"env":"prod"}}`,
	`{"source":"app","event":{"id":"t7","status":"declined","amount":2000},"metadata":{"env":"prod"},"sample_rate":3}`,
	`{"source":"app","event":{"id":"t8","card":"not an object","nested":{"a":"b"}}}`,
	`{"source":"app", "event":{"id":"t9","status":"declined","amount":5000},"metadata":{"env":"prod"}}`,
	"{\"source\":\"app\",\"event\":{\"id\":\"t10\",\"st\\u0061tus\":\"declined\"},\"metadata\":{\"env\":\"prod\"}}",
	`{"source":"app","event":{"id":"t11","status":"approved","status":"declined","amount":3000},"metadata":{"env":"prod"}}`,
	`{"source":"app","event":{"id":"t12","message":"esc \"q\" \u00e9 4111111111111111"},"metadata":{"env":"prod","note":{"deep":"x"}}}`,
	`{"source":"app","event":{"id":"t13","card":{}},"metadata":{"env":"prod"},"top":1}`,
	`{"source":"app","event":{"id":"t14","card":{"number":4111111111111111,"deeper":{"a":{"b":1}}}}}`,
	`{"source":"app","event":{"debug":1},"metadata":{"drop":2}}`,
	`{"source":"app","event":{"a":1,"b":2,"debug":3,"keep":4},"metadata":{}}`,
	`{"source":"app","event":{"keep":0,"a":1,"b":[2]},"metadata":{"x":1,"drop":{"y":2}}}`,
	`{"source":"app","event":{"a":1,"keep":0,"b":"2","card":{"number":"x"}},"metadata":{"drop":2,"x":1}}`,
	"{\"source\":\"app\",\"event\":{\"deb\\u0075g\":1},\"metadata\":{}}",
}

// indexedPipeline compiles one of indexedPipelines.
func indexedPipeline(t testing.TB, body string) *pipeline.Pipeline {
	t.Helper()
	yml := fmt.Sprintf(`
server: {ack: memory}
tokens: [{name: star, token: %q, streams: ["*"]}]
streams:
  - id: s
    %s
sinks:
  - {name: a, type: memory, id: indexed}
  - {name: b, type: memory, id: indexed}
  - {name: c, type: memory, id: indexed}
`, starToken, body)
	cfg, err := config.Parse([]byte(yml), "indexed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Streams[0].Pipeline
}

var indexedFacts = processor.Facts{Host: []byte(`"host-1"`), Token: []byte(`"star"`), Stream: []byte(`"s"`), StreamID: []byte(`"s"`)}

// compareIndexed runs each event of body through p both ways and fails on any difference. It
// returns how many events RunIndexed took.
func compareIndexed(t testing.TB, p *pipeline.Pipeline, body []byte, format decode.Format) int {
	t.Helper()
	var sc decode.Scanner
	sc.Fields = p.ScanFields()
	if sc.Scan(body, format, decode.Limits{}) != nil {
		return 0
	}
	slow, fast := p.NewWorker(), p.NewWorker()
	received := []byte(`"2025-02-12T14:32:15.5Z"`)
	prefix := []byte(`"0123456789abcdef0123456789abcdef-`)
	taken := 0
	for i := range sc.Events {
		ev := &sc.Events[i]
		stored := appendStored(nil, body, ev, []byte(`"s"`), received, prefix, i)
		want := *slow.Run(stored[:len(stored)-1], &indexedFacts, 1e18)
		src := pipeline.Source{Body: body, Event: ev, Found: sc.Found(i),
			Tail: appendTail(nil, ev, []byte(`"s"`), received, prefix, i)}
		r, ok := fast.RunIndexed(&src, &indexedFacts, 1e18)
		if !ok {
			if testing.Verbose() {
				t.Logf("declined: %s", body[ev.Object.Start:ev.Object.End])
			}
			continue
		}
		taken++
		got := *r
		obj := body[ev.Object.Start:ev.Object.End]
		if got.Sinks != want.Sinks || got.Matched != want.Matched || got.SampledOut != want.SampledOut ||
			got.Default != want.Default || got.Failed != want.Failed || got.DropCode != want.DropCode {
			got.Event, want.Event = nil, nil
			t.Fatalf("%s:\nindexed %+v\nbytes   %+v", obj, got, want)
		}
		for s := range p.Sinks() {
			if want.Sinks&(1<<s) == 0 {
				continue
			}
			w := slow.Line(s)
			if g := fast.AppendLine([]byte("x"), s); !bytes.Equal(g[1:], w) {
				t.Fatalf("%s, sink %d:\nindexed %s\nbytes   %s", obj, s, g[1:], w)
			}
			if g := fast.Line(s); !bytes.Equal(g, w) {
				t.Fatalf("%s, sink %d, Line:\nindexed %s\nbytes   %s", obj, s, g, w)
			}
		}
	}
	return taken
}

func TestIndexedMatchesBytes(t *testing.T) {
	body := []byte(strings.Join(indexedEvents, "\n"))
	for i, src := range indexedPipelines {
		p := indexedPipeline(t, src)
		if p.ScanFields() == nil {
			t.Fatalf("pipeline %d: RunIndexed does not serve it", i)
		}
		taken := compareIndexed(t, p, body, decode.NDJSON)
		// Whitespace and a duplicate key are declined by every pipeline, and so are events
		// without the parents the sets write into, with an object to mask, or with a removed
		// key written with escapes.
		if want := []int{14, 5, 15, 14, 18}[i]; taken != want {
			t.Errorf("pipeline %d: RunIndexed took %d of %d events, want %d", i, taken, len(indexedEvents), want)
		}
		// A JSON array body: events at other offsets, same results.
		compareIndexed(t, p, []byte("["+strings.Join(indexedEvents, ",")+"]"), decode.JSON)
	}
}

// TestIndexedDeclines lists, per pipeline, what RunIndexed must leave to Run.
func TestIndexedDeclines(t *testing.T) {
	p := indexedPipeline(t, indexedPipelines[0])
	w := p.NewWorker()
	for _, c := range []struct {
		why, event string
	}{
		{"whitespace", `{"source":"app", "event":{"id":"t9"},"metadata":{"env":"prod"}}`},
		{"duplicate key", `{"source":"app","event":{"status":1,"status":2},"metadata":{}}`},
		{"set below a missing parent", `{"source":"app","event":{}}`},
		{"mask on an object", `{"source":"app","event":{"message":{"a":"4111111111111111"}},"metadata":{}}`},
	} {
		var sc decode.Scanner
		sc.Fields = p.ScanFields()
		if err := sc.Scan([]byte(c.event), decode.NDJSON, decode.Limits{}); err != nil {
			t.Fatal(err)
		}
		src := pipeline.Source{Body: []byte(c.event), Event: &sc.Events[0], Found: sc.Found(0), Tail: []byte(`,"x":1`)}
		if _, ok := w.RunIndexed(&src, &indexedFacts, 0); ok {
			t.Errorf("%s: RunIndexed took %s", c.why, c.event)
		}
	}
}

// TestIndexedPlans lists pipelines RunIndexed does not serve.
func TestIndexedPlans(t *testing.T) {
	for _, body := range []string{
		`processors: [{type: enrich, rename: {event.a: event.b}}]
    routes: [{name: r, when: 'exists(event.b)', to: [a]}]`,
		`processors: [{type: enrich, rename: {debug: event.debug}}]
    sinks: [a]`,
		`processors: [{type: enrich, set: {event.a: 1}}, {type: enrich, copy: {event.a: event.b}}]
    sinks: [a]`,
		`processors: [{type: enrich, keep: [event]}]
    sinks: [a]`,
		`processors: [{type: mask, fields: [event.a], mode: remove}]
    sinks: [a]`,
		`processors: [{type: parse, field: event.m, format: kv}]
    sinks: [a]`,
		`processors: [{type: enrich, set: {event.a: 1}}]
    routes: [{name: r, when: 'event.a == 1', to: [a]}]`,
		`processors: [{type: enrich, set: {event.a: 1}}, {type: mask, fields: [event], mode: redact}]
    sinks: [a]`,
		`processors: [{type: enrich, set: {sample_rate: 1}}]
    sinks: [a]`,
		`routes: [{name: r, when: 'timestamp == "x"', to: [a]}]`,
		`processors: [{type: enrich, remove: [debug]}]
    sinks: [a]`,
		`processors: [{type: enrich, remove: [event.a]}]
    routes: [{name: r, when: 'exists(event.a)', to: [a]}]`,
	} {
		if indexedPipeline(t, body).ScanFields() != nil {
			t.Errorf("RunIndexed serves %s", body)
		}
	}
	if indexedPipeline(t, `processors: [{type: enrich, set: {event.a: 1}}]
    routes: [{name: r, when: 'event.b == 1', to: [a]}]`).ScanFields() == nil {
		t.Error("RunIndexed does not serve a route reading a field no step writes")
	}
}

// FuzzIndexed holds RunIndexed to Run on arbitrary bodies, through every pipeline above.
func FuzzIndexed(f *testing.F) {
	for _, e := range indexedEvents {
		f.Add([]byte(e))
	}
	var ps []*pipeline.Pipeline
	for _, src := range indexedPipelines {
		ps = append(ps, indexedPipeline(f, src))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range ps {
			compareIndexed(t, p, body, decode.NDJSON)
		}
	})
}
