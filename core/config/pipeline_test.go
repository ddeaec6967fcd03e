package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// recordOptions stands in for a processor type with ordered mappings (like enrich), so the
// loader's handling of them is tested without the real processors.
type recordOptions struct {
	Set    []processor.Assignment `yaml:"set"`
	Rename []processor.Pair       `yaml:"rename"`
	Fail   string                 `yaml:"fail"`
}

var recorded *recordOptions

func (o *recordOptions) Compile(*processor.Env) (processor.Processor, []processor.FieldError) {
	recorded = o
	if o.Fail != "" {
		return nil, []processor.FieldError{{Key: "fail", Msg: o.Fail}}
	}
	return recordProc{}, nil
}

type recordProc struct{}

func (recordProc) NewState() processor.State { return nil }

func init() {
	processorTypes["record"] = func() processor.Options { return &recordOptions{} }
}

const pipelineHead = `
tokens: [{name: t, token: 0123456789abcdef, streams: ["*"]}]
sinks:
  - {name: siem, type: test, path: s}
  - {name: archive, type: test, path: a}
streams:
`

func TestProcessorMappingsKeepOrderAndTypes(t *testing.T) {
	t.Setenv("CONFIG_TEST_REGION", "eu-west-1")
	yml := pipelineHead + `
  - id: s1
    processors:
      - type: record
        set:
          metadata.region: ${CONFIG_TEST_REGION}
          a.int: 42
          a.float: 1.5
          a.bool: true
          a.null: null
          a.quoted: "007"
          a.obj: {x: [1, "two", {y: false}]}
          a.text: "line \"one\"\n"
        rename: {event.latency_ms: event.latency, b: c}
    default: [archive]
`
	cfg, err := Parse([]byte(yml), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range recorded.Set {
		got = append(got, a.Path+"="+string(a.Value))
	}
	want := []string{
		`metadata.region="eu-west-1"`, `a.int=42`, `a.float=1.5`, `a.bool=true`, `a.null=null`,
		`a.quoted="007"`, `a.obj={"x":[1,"two",{"y":false}]}`, `a.text="line \"one\"\n"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("set:\n got %q\nwant %q", got, want)
	}
	if !slices.Equal(recorded.Rename, []processor.Pair{{Key: "event.latency_ms", Value: "event.latency"}, {Key: "b", Value: "c"}}) {
		t.Errorf("rename: %v", recorded.Rename)
	}
	p := cfg.Streams[0].Pipeline
	if p == nil || len(p.Steps()) != 1 || p.Steps()[0].Name != "record" || p.Plain() {
		t.Fatalf("pipeline: %+v", p)
	}
}

func TestPipelineMistakes(t *testing.T) {
	yml := pipelineHead + `  - id: s1
    processors:
      - {type: record, fail: "no good"}
      - {type: nope}
      - {type: filter, when: 'event.status = "x"'}
      - {type: filter, when: 'true', colour: red}
      - {type: record, name: Bad Name}
      - {type: record, set: {a: .inf}}
    routes:
      - {name: a, when: 'event.x >', to: [missing]}
      - {name: a, to: []}
      - {name: b, sample: {rate: 2, key: "a..b"}, to: [siem, siem]}
      - {name: c, sample: {dynamic: {target_per_key: 0}}, to: [siem]}
      - {name: d, sample: {key: event.id}, to: [siem]}
    default: [nowhere]
  - {id: s2, sinks: [siem], routes: [{name: x, to: [siem]}]}
  - {id: s3, sinks: [siem], default: [archive]}
  - {id: s4}
`
	_, err := Parse([]byte(yml), "t.yaml")
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want Errors", err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`t.yaml:9: streams[0].processors[0].fail: no good`,
		`t.yaml:10: streams[0].processors[1].type: unknown processor type "nope"; known types: ` + typeList(processorTypeNames()),
		`t.yaml:11: streams[0].processors[2].when: condition 'event.status = "x"': column 14: unexpected token Operator("=")`,
		`t.yaml:12: streams[0].processors[3].colour: unknown key; known keys: type, name, when, reason`,
		`t.yaml:13: streams[0].processors[4].name: must be 1 to 64 characters from a-z 0-9 _ - (it becomes a metric label)`,
		`t.yaml:14: streams[0].processors[5].set.a: .inf is not a number JSON can hold`,
		`t.yaml:16: streams[0].routes[0].when: condition 'event.x >': column 9: the condition ends too early`,
		`t.yaml:16: streams[0].routes[0].to[0]: no sink is named "missing"`,
		`t.yaml:17: streams[0].routes[1].name: duplicate "a"; first used on line 16`,
		`t.yaml:17: streams[0].routes[1].to: required; list the sinks this route's events go to`,
		`t.yaml:18: streams[0].routes[2].sample.key: field path "a..b": segment 2 is empty`,
		`t.yaml:18: streams[0].routes[2].sample.rate: rate must be above 0 and at most 1, not 2`,
		`t.yaml:18: streams[0].routes[2].to[1]: sink "siem" is listed twice`,
		`t.yaml:19: streams[0].routes[3].sample.dynamic.target_per_key: dynamic.target_per_key must be a positive number, not 0`,
		`t.yaml:20: streams[0].routes[4].sample: set rate (a fraction of events to keep) or dynamic (a target per key value)`,
		`t.yaml:21: streams[0].default[0]: no sink is named "nowhere"`,
		`t.yaml:22: streams[1].sinks: sinks is the shorthand for sending every event to these sinks; with routes, list them in a route or in default`,
		`t.yaml:23: streams[2].default: without routes, default and sinks mean the same; keep one of them`,
		`t.yaml:24: streams[3].sinks: required: list the sinks that receive this stream's events, or give routes and default`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
