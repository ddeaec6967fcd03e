package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/config"
)

func TestTryout(t *testing.T) {
	idA, _ := newMem(t)
	yml := fmt.Sprintf(`
tokens: [{name: star, token: %q, streams: ["*"]}]
streams:
  - id: %q
    name: payments
    processors:
      - {type: filter, when: 'event.status == "health"', reason: health}
    routes:
      - {name: declines, when: 'event.status == "declined"', to: [siem], final: true}
      - {name: all-eu, when: 'metadata.region == "eu"', sample: {rate: 1, key: event.id}, to: [archive]}
sinks:
  - {name: siem, type: memory, id: %q}
  - {name: archive, type: memory, id: %q}
`, starToken, streamA, idA, idA)
	cfg, err := config.Parse([]byte(yml), "tryout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Join([]string{
		`{"source":"a","event":{"id":1,"status":"declined"},"metadata":{"region":"eu"}}`,
		`{"source":"a","event":{"id":2,"status":"health"}}`,
		``,
		`{"source":"a","timestamp":"2025-02-12T14:32:15Z","event":{"id":3,"status":"ok"},"metadata":{"region":"eu"}}`,
		`{"source":"a","event":{"id":4,"status":"ok"}}`,
		`{"event":{"id":5}}`,
		`not json`,
	}, "\n") + "\n"
	var out bytes.Buffer
	err = Tryout(cfg, "payments", "cli", strings.NewReader(in), &out)
	if err == nil || err.Error() != "2 line(s) refused" {
		t.Errorf("error %v, want 2 refused lines", err)
	}
	type result struct {
		Event   map[string]any `json:"event"`
		Routes  []string       `json:"routes"`
		Sinks   []string       `json:"sinks"`
		Dropped string         `json:"dropped"`
		Error   string         `json:"error"`
	}
	var got []result
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, r)
	}
	if len(got) != 6 {
		t.Fatalf("%d result lines for 6 non-blank input lines:\n%s", len(got), out.String())
	}
	check := func(i int, routes, sinks []string, dropped string) {
		t.Helper()
		r := got[i]
		if fmt.Sprint(r.Routes) != fmt.Sprint(routes) || fmt.Sprint(r.Sinks) != fmt.Sprint(sinks) || r.Dropped != dropped {
			t.Errorf("line %d: routes %v sinks %v dropped %q; want %v %v %q", i+1, r.Routes, r.Sinks, r.Dropped, routes, sinks, dropped)
		}
	}
	check(0, []string{"declines"}, []string{"siem"}, "")
	check(1, []string{}, []string{}, "health")
	check(2, []string{"all-eu"}, []string{"archive"}, "")
	check(3, []string{}, []string{}, "no_route")
	if got[1].Event != nil {
		t.Errorf("a filtered event prints as null, got %v", got[1].Event)
	}
	e := got[2].Event
	if e["stream_id"] != streamA || e["timestamp"] != "2025-02-12T14:32:15Z" || e["received_at"] == nil || e["sample_rate"] != 1.0 {
		t.Errorf("the stored event lacks what ingest adds: %v", e)
	}
	if !strings.Contains(got[4].Error, "line 6: missing_field") || !strings.Contains(got[5].Error, "line 7: invalid_json") {
		t.Errorf("refused lines: %q, %q", got[4].Error, got[5].Error)
	}
	if err := Tryout(cfg, "nope", "cli", strings.NewReader(""), &out); err == nil {
		t.Error("an unknown stream was accepted")
	}
}
