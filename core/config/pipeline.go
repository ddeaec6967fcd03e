package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ingestd/ingestd/core/condition"
	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/core/sample"
)

// checkPipeline checks a stream's processors, routes and default sinks, and when the whole file
// is valid so far compiles them into s.Pipeline.
func (l *loader) checkPipeline(key string, s *Stream, sinkNames map[string]bool) {
	switch {
	case len(s.Sinks) == 0 && len(s.Routes) == 0 && len(s.Default) == 0:
		l.invalid(key+".sinks", "required: list the sinks that receive this stream's events, or give routes and default")
	case len(s.Sinks) > 0 && len(s.Routes) > 0:
		l.invalid(key+".sinks", "sinks is the shorthand for sending every event to these sinks; with routes, list them in a route or in default")
	case len(s.Sinks) > 0 && len(s.Default) > 0:
		l.invalid(key+".default", "without routes, default and sinks mean the same; keep one of them")
	}
	var sinks []string // distinct, in order of first mention
	sinkList := func(listKey string, names []string) []int {
		var idx []int
		for j, name := range names {
			k := index(listKey, j)
			switch {
			case !sinkNames[name]:
				l.invalid(k, fmt.Sprintf("no sink is named %q", name))
			case slices.Contains(names[:j], name):
				l.invalid(k, fmt.Sprintf("sink %q is listed twice", name))
			default:
				i := slices.Index(sinks, name)
				if i < 0 {
					i = len(sinks)
					sinks = append(sinks, name)
				}
				idx = append(idx, i)
			}
		}
		return idx
	}
	steps := l.checkSteps(key, s.Processors)
	routes := l.checkRoutes(key, s.Routes, sinkList)
	defaults := sinkList(key+".default", s.Default)
	if len(s.Routes) == 0 {
		defaults = append(defaults, sinkList(key+".sinks", s.Sinks)...)
	}
	if len(sinks) > pipeline.MaxSinks {
		l.invalid(key, fmt.Sprintf("a stream routes to at most %d different sinks, not %d", pipeline.MaxSinks, len(sinks)))
	}
	if len(l.errs) > 0 {
		return // the file is invalid: nothing will run it
	}
	p, err := pipeline.New(steps, routes, defaults, sinks)
	if err != nil {
		l.invalid(key, err.Error())
		return
	}
	s.Pipeline = p
}

// checkSteps compiles a stream's processors. A step is named in metrics by its name, else by
// its type, numbered (parse_1, parse_2) when the type repeats in the stream.
func (l *loader) checkSteps(key string, list []Processor) []pipeline.Step {
	if len(list) > pipeline.MaxSteps {
		l.invalid(key+".processors", fmt.Sprintf("at most %d processors per stream, not %d", pipeline.MaxSteps, len(list)))
	}
	env := &processor.Env{Dir: filepath.Dir(l.file)}
	perType := map[string]int{}
	for _, p := range list {
		perType[p.Type]++
	}
	seen := map[string]int{}
	names := map[string]string{}
	var steps []pipeline.Step
	for i := range list {
		p := &list[i]
		k := index(key+".processors", i)
		name := p.Name
		if name == "" {
			name = p.Type
			if perType[p.Type] > 1 {
				seen[p.Type]++
				name = fmt.Sprintf("%s_%d", p.Type, seen[p.Type])
			}
		} else if !processor.ValidLabel(name) {
			l.invalid(k+".name", "must be 1 to 64 characters from a-z 0-9 _ - (it becomes a metric label)")
		}
		if p.Options == nil {
			if p.Type == "" {
				l.invalid(k+".type", "required; one of "+typeList(processorTypeNames()))
			} else {
				l.invalid(k+".type", fmt.Sprintf("unknown processor type %q; known types: %s", p.Type, typeList(processorTypeNames())))
			}
			continue
		}
		l.unique(k+".name", name, names)
		proc, errs := p.Options.Compile(env)
		for _, fe := range errs {
			l.invalid(join(k, fe.Key), fe.Msg)
		}
		if errs == nil {
			steps = append(steps, pipeline.Step{Name: name, Proc: proc})
		}
	}
	return steps
}

func (l *loader) checkRoutes(key string, list []Route, sinkList func(string, []string) []int) []pipeline.Route {
	if len(list) > pipeline.MaxRoutes {
		l.invalid(key+".routes", fmt.Sprintf("at most %d routes per stream, not %d", pipeline.MaxRoutes, len(list)))
	}
	names := map[string]string{}
	var routes []pipeline.Route
	for i := range list {
		r := &list[i]
		k := index(key+".routes", i)
		rt := pipeline.Route{Name: r.Name, Final: r.Final}
		switch {
		case r.Name == "":
			l.invalid(k+".name", "required; routes are named in metrics and in `ingestd process`")
		case !processor.ValidLabel(r.Name):
			l.invalid(k+".name", "must be 1 to 64 characters from a-z 0-9 _ - (it becomes a metric label)")
		default:
			l.unique(k+".name", r.Name, names)
		}
		if r.When != "" {
			c, err := condition.Compile(r.When)
			if err != nil {
				l.invalid(k+".when", err.Error())
			}
			rt.When = c
		}
		if r.Sample != nil {
			rt.Sample, rt.Key = l.checkSample(k+".sample", r.Sample)
		}
		if len(r.To) == 0 {
			l.invalid(k+".to", "required; list the sinks this route's events go to")
		}
		rt.To = sinkList(k+".to", r.To)
		routes = append(routes, rt)
	}
	return routes
}

func (l *loader) checkSample(key string, s *Sample) (*sample.Sampler, *fieldpath.Path) {
	var path *fieldpath.Path
	if s.Key != "" {
		var err error
		if path, err = fieldpath.Parse(s.Key); err != nil {
			l.invalid(key+".key", err.Error())
		}
	}
	if s.Rate == 0 && s.Dynamic == nil {
		l.invalid(key, "set rate (a fraction of events to keep) or dynamic (a target per key value)")
		return nil, path
	}
	c := sample.Config{Rate: s.Rate}
	if d := s.Dynamic; d != nil {
		c.Dynamic = &sample.Dynamic{TargetPerKey: d.TargetPerKey, MaxKeys: d.MaxKeys, Window: d.Window}
	}
	smp, err := sample.New(c)
	if err != nil {
		// The sampler names the setting at the start of its message: "sample: rate must ...".
		msg := strings.TrimPrefix(err.Error(), "sample: ")
		at := key
		if setting, _, ok := strings.Cut(msg, " "); ok && (setting == "rate" || strings.HasPrefix(setting, "dynamic.")) {
			at = key + "." + setting
		}
		l.invalid(at, msg)
	}
	return smp, path
}

func processorTypeNames() []string {
	var names []string
	for t := range processorTypes {
		names = append(names, t)
	}
	slices.Sort(names)
	return names
}
