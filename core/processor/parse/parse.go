// Package parse is the `parse` processor: it reads one string field of an event as JSON,
// key=value text, a regular expression's named groups or a timestamp, and writes the result into
// the event. An event whose field does not parse is kept, tagged with the reason, and counted
// as failed.
package parse

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/kv"
	"github.com/ingestd/ingestd/core/processor"
)

// The defaults NewOptions fills in.
const (
	DefaultErrorField = "parse_error"
	DefaultLayout     = "rfc3339"
	DefaultTimezone   = "UTC"
	timestampTarget   = "timestamp" // the target of format timestamp when none is given
)

// Options configures a parse step.
type Options struct {
	Field      string `yaml:"field"`       // required: the string field to parse
	Format     string `yaml:"format"`      // required: json | kv | regex | timestamp
	Target     string `yaml:"target"`      // where the result goes; default Field, or "timestamp" for format timestamp
	ErrorField string `yaml:"error_field"` // set to the reason when the field does not parse

	// Format kv.
	PairSeparator  string `yaml:"pair_separator"`  // " " means any run of blanks
	ValueSeparator string `yaml:"value_separator"` // between a key and its value
	Quotes         *bool  `yaml:"quotes"`          // nil means true; a pointer so that setting it with another format shows

	// Format regex.
	Pattern string `yaml:"pattern"` // RE2, whose named groups (?P<name>...) become the result's members

	// Format timestamp.
	Layout   string `yaml:"layout"`   // rfc3339 | rfc3339nano | unix | unix_ms | unix_us | unix_ns | common_log | a Go layout
	Timezone string `yaml:"timezone"` // IANA zone of times without an offset
}

// NewOptions returns the defaults. The options of a format other than the step's must keep
// their defaults: Compile takes any other value for a mistake.
func NewOptions() *Options {
	d := kv.DefaultOptions()
	return &Options{
		ErrorField:     DefaultErrorField,
		PairSeparator:  d.PairSeparator,
		ValueSeparator: d.ValueSeparator,
		Layout:         DefaultLayout,
		Timezone:       DefaultTimezone,
	}
}

type format uint8

const (
	formatJSON format = iota + 1
	formatKV
	formatRegex
	formatTimestamp
)

var formatNames = [...]string{formatJSON: "json", formatKV: "kv", formatRegex: "regex", formatTimestamp: "timestamp"}

const knownFormats = "json, kv, regex, timestamp"

func parseFormat(s string) format {
	for f, name := range formatNames {
		if name == s && s != "" {
			return format(f)
		}
	}
	return 0
}

// Compile checks every option and reports every problem.
func (o *Options) Compile(*processor.Env) (processor.Processor, []processor.FieldError) {
	var c compiler
	p := &Parser{}
	p.field = c.path("field", o.Field, "the string field to parse")

	switch p.format = parseFormat(o.Format); {
	case o.Format == "":
		c.fail("format", "required: one of "+knownFormats)
	case p.format == 0:
		c.fail("format", fmt.Sprintf("unknown format %q: want one of %s", o.Format, knownFormats))
	}

	target := o.Target
	switch {
	case target != "":
		p.target = c.path("target", target, "")
	case p.format == formatTimestamp:
		target = timestampTarget
		p.target = fieldpath.MustParse(target)
	default:
		target, p.target = o.Field, p.field // already checked as the field
	}
	errField := c.path("error_field", o.ErrorField, "the field that receives the reason a parse failed")

	kvDefaults := kv.DefaultOptions()
	c.belongs(p.format, formatKV, "pair_separator", o.PairSeparator != kvDefaults.PairSeparator)
	c.belongs(p.format, formatKV, "value_separator", o.ValueSeparator != kvDefaults.ValueSeparator)
	c.belongs(p.format, formatKV, "quotes", o.Quotes != nil)
	c.belongs(p.format, formatRegex, "pattern", o.Pattern != "")
	c.belongs(p.format, formatTimestamp, "layout", o.Layout != DefaultLayout)
	c.belongs(p.format, formatTimestamp, "timezone", o.Timezone != DefaultTimezone)

	switch p.format {
	case formatKV:
		ko := kv.Options{PairSeparator: o.PairSeparator, ValueSeparator: o.ValueSeparator, Quotes: o.Quotes == nil || *o.Quotes}
		var err error
		if p.kv, err = kv.New(ko); err != nil {
			key := "value_separator"
			if o.PairSeparator == "" {
				key = "pair_separator"
			}
			c.fail(key, err.Error())
		}
	case formatRegex:
		c.regex(p, o.Pattern)
	case formatTimestamp:
		var errs []processor.FieldError
		p.time, errs = compileTime(o.Layout, o.Timezone)
		c.errs = append(c.errs, errs...)
	}

	if p.target != nil && errField != nil {
		b := jsonedit.NewBuilder()
		p.targetSlot = b.Set(p.target)
		p.errSlot = b.Set(errField)
		var err error
		if p.prog, err = b.Compile(); err != nil { // the only conflict two sets can have
			c.fail("error_field", fmt.Sprintf("%q overlaps the target %q: neither may be the other or lie inside it", o.ErrorField, target))
		}
	}
	if c.errs != nil {
		return nil, c.errs
	}
	p.prefix = "parse " + o.Format + " " + o.Field + ": "
	return p, nil
}

// compiler gathers Compile's errors.
type compiler struct{ errs []processor.FieldError }

func (c *compiler) fail(key, msg string) {
	c.errs = append(c.errs, processor.FieldError{Key: key, Msg: msg})
}

// path parses a field path; required names what the option is for, "" when it is optional.
func (c *compiler) path(key, s, required string) *fieldpath.Path {
	if s == "" {
		c.fail(key, "required: "+required)
		return nil
	}
	p, err := fieldpath.Parse(s)
	if err != nil {
		c.fail(key, err.Error())
	}
	return p
}

// belongs reports an option set for a format it does not apply to.
func (c *compiler) belongs(f, want format, key string, set bool) {
	if set && f != 0 && f != want {
		c.fail(key, "only for format: "+formatNames[want])
	}
}

// regex compiles the pattern and the JSON keys of its named groups.
func (c *compiler) regex(p *Parser, pattern string) {
	if pattern == "" {
		c.fail("pattern", "required: a regular expression with named groups (?P<name>...)")
		return
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		c.fail("pattern", err.Error())
		return
	}
	p.re = re
	p.keys = make([][]byte, re.NumSubexp()+1)
	seen := map[string]bool{}
	for i, name := range re.SubexpNames() {
		switch {
		case name == "":
		case seen[name]:
			c.fail("pattern", fmt.Sprintf("the group name %q is used twice", name))
		default:
			seen[name] = true
			p.keys[i] = append(jsonedit.AppendString(nil, []byte(name)), ':')
		}
	}
	if len(seen) == 0 {
		c.fail("pattern", "no named group: name what to capture with (?P<name>...)")
	}
}

// Parser is a compiled parse step. It is immutable and safe for concurrent use.
type Parser struct {
	format     format
	field      *fieldpath.Path
	target     *fieldpath.Path
	prefix     string // of failure messages: "parse kv event.message: "
	prog       *jsonedit.Program
	targetSlot int
	errSlot    int
	kv         *kv.Parser
	re         *regexp.Regexp
	keys       [][]byte // per regex group: `"name":`, or nil for an unnamed group
	time       timeParser
}

// NewState returns the working memory of one goroutine.
func (p *Parser) NewState() processor.State {
	return &state{p: p, edits: p.prog.NewEdits()}
}

type state struct {
	p     *Parser
	edits *jsonedit.Edits
	in    []byte         // the field's unescaped content
	out   []byte         // the parsed value as JSON
	msg   []byte         // the failure message as a JSON string
	zone  *time.Location // the last offset of a timestamp, see timeParser.appendTime
}

// Process parses the field and writes the result, or tags the event when the field does not
// parse. A missing field leaves the event as it is.
func (s *state) Process(dst, event []byte, _ *processor.Facts) ([]byte, processor.Outcome) {
	p := s.p
	v, ok := fieldpath.Lookup(event, p.field)
	if !ok {
		return event, processor.Unchanged
	}
	s.edits.Reset()
	out, err := s.parse(v)
	if err != nil {
		// Failures may allocate: the messages come from kv, time and fmt as errors.
		s.msg = jsonedit.AppendString(s.msg[:0], []byte(p.prefix+err.Error()))
		s.edits.SetRaw(p.errSlot, s.msg)
		return p.prog.Apply(dst, event, s.edits), processor.Failed
	}
	s.edits.SetRaw(p.targetSlot, out)
	return p.prog.Apply(dst, event, s.edits), processor.Changed
}

// parse returns the field's value parsed, as JSON in one of the state's buffers.
func (s *state) parse(v fieldpath.Value) ([]byte, error) {
	p := s.p
	var err error
	if p.format == formatTimestamp && p.time.layout == "" && v.Kind == fieldpath.Number {
		s.out, err = p.time.appendTime(s.out[:0], v.Raw, &s.zone)
		return s.out, err
	}
	if v.Kind != fieldpath.String {
		article := "a"
		if v.Kind == fieldpath.Object || v.Kind == fieldpath.Array {
			article = "an"
		}
		if p.format == formatTimestamp && p.time.layout == "" {
			return nil, fmt.Errorf("%s %s, not a string or a number", article, v.Kind)
		}
		return nil, fmt.Errorf("%s %s, not a string", article, v.Kind)
	}
	s.in = v.Str(s.in[:0])
	switch p.format {
	case formatJSON:
		// Compacted in place: s.in becomes the value.
		var n int
		if n, err = compactJSON(s.in); err != nil {
			return nil, err
		}
		return s.in[:n], nil
	case formatKV:
		s.out, err = p.kv.AppendJSON(s.out[:0], s.in)
		return s.out, err
	case formatRegex:
		return s.regex()
	default:
		s.out, err = p.time.appendTime(s.out[:0], s.in, &s.zone)
		return s.out, err
	}
}

var errNoMatch = errors.New("no match")

// regex writes the named groups that took part in the match, as an object of strings.
func (s *state) regex() ([]byte, error) {
	p := s.p
	m := p.re.FindSubmatchIndex(s.in) // the one allocation of a parse: RE2's result
	if m == nil {
		return nil, errNoMatch
	}
	s.out = append(s.out[:0], '{')
	for i, key := range p.keys {
		if key == nil || m[2*i] < 0 {
			continue
		}
		if len(s.out) > 1 {
			s.out = append(s.out, ',')
		}
		s.out = append(s.out, key...)
		s.out = jsonedit.AppendString(s.out, s.in[m[2*i]:m[2*i+1]])
	}
	return append(s.out, '}'), nil
}
