package pipeline

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ingestd/ingestd/core/condition"
	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/core/processor/filter"
	"github.com/ingestd/ingestd/core/sample"
)

func cond(t testing.TB, src string) *condition.Cond {
	t.Helper()
	c, err := condition.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampler(t testing.TB, rate float64) *sample.Sampler {
	t.Helper()
	s, err := sample.New(sample.Config{Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func filterStep(t testing.TB, when, reason string) Step {
	t.Helper()
	o := filter.NewOptions()
	o.When, o.Reason = when, reason
	p, errs := o.Compile(&processor.Env{})
	if errs != nil {
		t.Fatal(errs)
	}
	return Step{Name: "filter", Proc: p}
}

var badPath = fieldpath.MustParse("bad")

// tagger is a step that appends a member, or fails (tagging the event) when it holds "bad".
type tagger struct{}

func (tagger) NewState() processor.State { return tagger{} }

func (tagger) Process(dst, ev []byte, f *processor.Facts) ([]byte, processor.Outcome) {
	dst = append(dst, ev[:len(ev)-1]...)
	if _, ok := fieldpath.Lookup(ev, badPath); ok {
		return append(dst, `,"error":"bad"}`...), processor.Failed
	}
	dst = append(dst, `,"token":`...)
	dst = append(dst, f.Token...)
	return append(dst, '}'), processor.Changed
}

func mustNew(t testing.TB, steps []Step, routes []Route, defaults []int, sinks []string) *Pipeline {
	t.Helper()
	p, err := New(steps, routes, defaults, sinks)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func names(mask uint64, all []string) []string {
	var out []string
	for i, n := range all {
		if mask&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func TestRouting(t *testing.T) {
	sinks := []string{"siem", "archive", "lake"}
	p := mustNew(t, []Step{filterStep(t, `event.status == "health"`, "health")}, []Route{
		{Name: "big-declines", When: cond(t, `event.status == "declined" && event.amount > 1000`), To: []int{0}, Final: true},
		{Name: "declines", When: cond(t, `event.status == "declined"`), To: []int{0, 1}},
		{Name: "eu", When: cond(t, `metadata.region == "eu"`), To: []int{2}},
	}, []int{1}, sinks)
	routeNames := func(m uint64) []string {
		var out []string
		for i, r := range p.Routes() {
			if m&(1<<i) != 0 {
				out = append(out, r.Name)
			}
		}
		return out
	}
	cases := []struct {
		event   string
		routes  []string
		sinks   []string
		deflt   bool
		dropped string
	}{
		{`{"event":{"status":"declined","amount":5000},"metadata":{"region":"eu"}}`, []string{"big-declines"}, []string{"siem"}, false, ""},
		{`{"event":{"status":"declined","amount":50},"metadata":{"region":"eu"}}`, []string{"declines", "eu"}, []string{"siem", "archive", "lake"}, false, ""},
		{`{"event":{"status":"approved"},"metadata":{"region":"eu"}}`, []string{"eu"}, []string{"lake"}, false, ""},
		{`{"event":{"status":"approved"}}`, nil, []string{"archive"}, true, ""},
		{`{"event":{"status":"health"}}`, nil, nil, false, "health"},
	}
	w := p.NewWorker()
	for _, c := range cases {
		r := w.Run([]byte(c.event), &processor.Facts{}, 0)
		got := names(r.Sinks, sinks)
		if !slices.Equal(routeNames(r.Matched), c.routes) || !slices.Equal(got, c.sinks) || r.Default != c.deflt {
			t.Errorf("%s: routes %v sinks %v default %v; want %v %v %v", c.event, routeNames(r.Matched), got, r.Default, c.routes, c.sinks, c.deflt)
		}
		dropped := ""
		if r.Dropped() {
			dropped = p.DropReasons()[r.DropCode]
		}
		if dropped != c.dropped {
			t.Errorf("%s: dropped %q, want %q", c.event, dropped, c.dropped)
		}
		if c.dropped == "" && string(r.Event) != c.event {
			t.Errorf("%s: event became %s", c.event, r.Event)
		}
	}
}

func TestNoRouteAndNoDefault(t *testing.T) {
	p := mustNew(t, nil, []Route{{Name: "a", When: cond(t, `x == 1`), To: []int{0}}}, nil, []string{"s"})
	r := p.NewWorker().Run([]byte(`{"x":2}`), &processor.Facts{}, 0)
	if !r.Dropped() || p.DropReasons()[r.DropCode] != ReasonNoRoute {
		t.Fatalf("got sinks %b code %d, want dropped as %s", r.Sinks, r.DropCode, ReasonNoRoute)
	}
}

// A sampled-out event counts as matched, does not fall to default, and a final route stops
// evaluation whatever sampling decided.
func TestSampledOutStillMatches(t *testing.T) {
	never := sampler(t, 1e-300) // keeps practically nothing
	p := mustNew(t, nil, []Route{
		{Name: "sampled", Sample: never, Key: fieldpath.MustParse("id"), To: []int{0}, Final: true},
		{Name: "after", To: []int{1}},
	}, []int{2}, []string{"a", "b", "c"})
	r := p.NewWorker().Run([]byte(`{"id":"k1"}`), &processor.Facts{}, 0)
	if r.Matched != 1 || r.SampledOut != 1 || r.Sinks != 0 || r.Default {
		t.Fatalf("matched %b sampledOut %b sinks %b default %v", r.Matched, r.SampledOut, r.Sinks, r.Default)
	}
	if p.DropReasons()[r.DropCode] != ReasonSampledOut {
		t.Fatalf("drop reason %q, want %q", p.DropReasons()[r.DropCode], ReasonSampledOut)
	}
}

func TestSampleRateField(t *testing.T) {
	tenth := sampler(t, 0.1)
	half := sampler(t, 0.5)
	// Find a key both samplers keep: keyed decisions are a function of the key alone.
	p := mustNew(t, nil, []Route{
		{Name: "tenth", Sample: tenth, Key: fieldpath.MustParse("id"), To: []int{0, 1}},
		{Name: "half", Sample: half, Key: fieldpath.MustParse("id"), To: []int{1}},
		{Name: "all", To: []int{2}},
	}, nil, []string{"a", "b", "c"})
	w := p.NewWorker()
	found := false
	for i := 0; i < 10000 && !found; i++ {
		ev, _ := json.Marshal(map[string]any{"id": i, "sample_rate": 99})
		r := w.Run(ev, &processor.Facts{}, 0)
		if r.Matched != 0b111 || r.SampledOut != 0 {
			continue
		}
		found = true
		var a, b, c map[string]any
		for s, dst := range []*map[string]any{&a, &b, &c} {
			if err := json.Unmarshal(w.Line(s), dst); err != nil {
				t.Fatalf("line %d: %v: %s", s, err, w.Line(s))
			}
		}
		// a is reached by "tenth" only; b by "tenth" and "half" (the smaller weight wins);
		// c by an unsampled route, so it keeps the event as it was.
		if a["sample_rate"] != 10.0 || b["sample_rate"] != 2.0 || c["sample_rate"] != 99.0 {
			t.Fatalf("sample_rate a=%v b=%v c=%v, want 10, 2 and the event's own 99", a["sample_rate"], b["sample_rate"], c["sample_rate"])
		}
	}
	if !found {
		t.Fatal("no key kept by both samplers in 10000")
	}
}

func TestStepsRunInOrder(t *testing.T) {
	p := mustNew(t, []Step{{Name: "tag", Proc: tagger{}}, filterStep(t, `token == "blocked"`, "blocked")},
		nil, []int{0}, []string{"out"})
	w := p.NewWorker()
	r := w.Run([]byte(`{"a":1}`), &processor.Facts{Token: []byte(`"web"`)}, 0)
	if string(r.Event) != `{"a":1,"token":"web"}` || r.Sinks != 1 || r.Failed != 0 {
		t.Fatalf("event %s sinks %b failed %b", r.Event, r.Sinks, r.Failed)
	}
	r = w.Run([]byte(`{"a":1}`), &processor.Facts{Token: []byte(`"blocked"`)}, 0)
	if !r.Dropped() || r.Event != nil || p.DropReasons()[r.DropCode] != "blocked" {
		t.Fatalf("a step's drop: event %s code %d", r.Event, r.DropCode)
	}
	r = w.Run([]byte(`{"bad":1}`), &processor.Facts{}, 0)
	if r.Failed != 1 || string(r.Event) != `{"bad":1,"error":"bad"}` || r.Sinks != 1 {
		t.Fatalf("a failed step keeps the tagged event: %s failed %b sinks %b", r.Event, r.Failed, r.Sinks)
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(nil, []Route{{Name: "r", To: []int{3}}}, nil, []string{"a"}); err == nil {
		t.Error("a route to a sink index out of range was accepted")
	}
	if _, err := New(nil, nil, nil, make([]string, MaxSinks+1)); err == nil {
		t.Error("more than MaxSinks sinks were accepted")
	}
}

func TestSampleRateOnEmptyObjects(t *testing.T) {
	p := mustNew(t, nil, []Route{{Name: "all", Sample: sampler(t, 1), To: []int{0}}}, nil, []string{"a"})
	w := p.NewWorker()
	for ev, want := range map[string]string{
		`{}`:             `{"sample_rate":1}`,
		`{ }`:            `{ "sample_rate":1}`,
		`{"a":1 }`:       `{"a":1 ,"sample_rate":1}`,
		`{"a":{"b":{}}}`: `{"a":{"b":{}},"sample_rate":1}`,
	} {
		w.Run([]byte(ev), &processor.Facts{}, 0)
		got := w.Line(0)
		var v map[string]any
		if err := json.Unmarshal(got, &v); err != nil || v["sample_rate"] != 1.0 {
			t.Errorf("%s: got %s (%v), want %s", ev, got, err, want)
		}
	}
}
