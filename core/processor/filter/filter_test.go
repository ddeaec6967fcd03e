package filter

import (
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

func compile(t *testing.T, o *Options) *Filter {
	t.Helper()
	p, errs := o.Compile(&processor.Env{})
	if errs != nil {
		t.Fatalf("compile: %v", errs)
	}
	return p.(*Filter)
}

func TestFilterDropsMatches(t *testing.T) {
	o := NewOptions()
	o.When = `event.status == "health" || event.path startsWith "/healthz"`
	f := compile(t, o)
	st := f.NewState()
	cases := []struct {
		event string
		drop  bool
	}{
		{`{"event":{"status":"health"}}`, true},
		{`{"event":{"status":"ok","path":"/healthz/live"}}`, true},
		{`{"event":{"status":"ok","path":"/api"}}`, false},
		{`{"source":"x"}`, false},
	}
	for _, c := range cases {
		out, o := st.Process(nil, []byte(c.event), &processor.Facts{})
		if c.drop {
			if o != processor.Drop || out != nil {
				t.Errorf("%s: got %v %q, want Drop", c.event, o, out)
			}
			continue
		}
		if o != processor.Unchanged || string(out) != c.event {
			t.Errorf("%s: got %v %q, want Unchanged", c.event, o, out)
		}
	}
	if f.DropReason() != DefaultReason {
		t.Errorf("reason %q, want the default %q", f.DropReason(), DefaultReason)
	}
}

func TestFilterCompileErrors(t *testing.T) {
	cases := []struct {
		opts      Options
		key, want string
	}{
		{Options{Reason: "x"}, "when", "required"},
		{Options{When: `event.a ==`, Reason: "x"}, "when", "ends too early"},
		{Options{When: `true`, Reason: ""}, "reason", "1 to 64 characters"},
		{Options{When: `true`, Reason: "Health Checks"}, "reason", "a-z 0-9 _ -"},
		{Options{When: `true`, Reason: strings.Repeat("a", 65)}, "reason", "1 to 64"},
	}
	for _, c := range cases {
		_, errs := c.opts.Compile(&processor.Env{})
		if len(errs) != 1 || errs[0].Key != c.key || !strings.Contains(errs[0].Msg, c.want) {
			t.Errorf("%+v: got %v, want one error at %q containing %q", c.opts, errs, c.key, c.want)
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	o := NewOptions()
	o.When = `event.status == "health"`
	p, _ := o.Compile(&processor.Env{})
	st := p.NewState()
	ev := []byte(`{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":120,"amount":5.0,"currency":"USD","message":"payment approved for order ord_400000 after 120 ms"},"metadata":{"env":"prod","team":"payments"}}`)
	facts := &processor.Facts{}
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		st.Process(nil, ev, facts)
	}
}
