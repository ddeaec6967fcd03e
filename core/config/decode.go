package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/sinks"
)

// loader is one Parse run. It walks the YAML node tree into a Config (rather than letting the
// YAML library decode it) so that every problem keeps its line and dotted key, and decoding
// goes on after a mistake to report the rest.
type loader struct {
	file   string
	lookup func(name string) (string, bool) // environment for ${VAR}

	lines   map[string]int  // key path -> line of the key, or of the list item
	failed  map[string]bool // key paths that did not decode: checks at or below them stay quiet
	aliases []*yaml.Node    // aliases being expanded, to refuse one that contains itself
	errs    Errors
}

func newLoader(file string, lookup func(string) (string, bool)) *loader {
	return &loader{
		file:   file,
		lookup: lookup,
		lines:  make(map[string]int),
		failed: make(map[string]bool),
	}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
	sinkType     = reflect.TypeFor[Sink]()
	stepType     = reflect.TypeFor[Processor]()
	assignType   = reflect.TypeFor[[]processor.Assignment]()
	pairsType    = reflect.TypeFor[[]processor.Pair]()
)

func (l *loader) fail(line int, key, msg string) {
	l.errs = append(l.errs, Error{File: l.file, Line: line, Key: key, Msg: msg})
	l.failed[key] = true
}

// decode stores node n into v, the setting at key.
func (l *loader) decode(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		if slices.Contains(l.aliases, n) {
			l.fail(n.Line, key, "alias *"+n.Value+" refers to a value that contains it")
			return
		}
		l.aliases = append(l.aliases, n)
		l.decode(n.Alias, v, key)
		l.aliases = l.aliases[:len(l.aliases)-1]
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value leaves the setting at its default
	}
	switch t := v.Type(); {
	case t == sinkType:
		l.sink(n, v.Addr().Interface().(*Sink), key)
	case t == stepType:
		l.step(n, v.Addr().Interface().(*Processor), key)
	case t == assignType:
		l.assignments(n, v, key)
	case t == pairsType:
		l.pairList(n, v, key)
	case t == durationType, t == timeType:
		l.scalar(n, v, key)
	default:
		switch t.Kind() {
		case reflect.Struct:
			l.fields(n, key, true, v)
		case reflect.Pointer:
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			l.decode(n, v.Elem(), key)
		case reflect.Slice:
			l.list(n, v, key)
		case reflect.Map:
			if t.Key().Kind() != reflect.String {
				l.fail(n.Line, key, "the config decoder does not support "+t.String())
				return
			}
			l.mapping(n, v, key)
		case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			l.scalar(n, v, key)
		default:
			l.fail(n.Line, key, "the config decoder does not support "+t.String())
		}
	}
}

// pairs calls fn for each key of mapping n, after checking that keys are plain names and
// appear once.
func (l *loader) pairs(n *yaml.Node, key string, fn func(name, path string, k, val *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.fail(k.Line, key, "a key must be a plain name, got "+describe(k))
			continue
		}
		path := join(key, k.Value)
		if first, dup := seen[k.Value]; dup {
			l.fail(k.Line, path, fmt.Sprintf("duplicate key; first set on line %d", first))
			continue
		}
		seen[k.Value] = k.Line
		l.lines[path] = k.Line
		fn(k.Value, path, k, val)
	}
}

// fields decodes mapping n into the struct fields of targets; the first target with a key
// wins. With strict set, a key no target has is an error.
func (l *loader) fields(n *yaml.Node, key string, strict bool, targets ...reflect.Value) {
	if n.Kind != yaml.MappingNode {
		l.fail(n.Line, key, "expected a mapping, got "+describe(n))
		return
	}
	l.pairs(n, key, func(name, path string, k, val *yaml.Node) {
		for _, t := range targets {
			if f, ok := field(t, name); ok {
				l.decode(val, f, path)
				return
			}
		}
		if strict {
			l.fail(k.Line, path, "unknown key; known keys: "+strings.Join(knownKeys(targets), ", "))
		}
	})
}

func (l *loader) mapping(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		l.fail(n.Line, key, "expected a mapping, got "+describe(n))
		return
	}
	t := v.Type()
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	l.pairs(n, key, func(name, path string, _, val *yaml.Node) {
		elem := reflect.New(t.Elem()).Elem()
		l.decode(val, elem, path)
		m.SetMapIndex(reflect.ValueOf(name).Convert(t.Key()), elem)
	})
	v.Set(m)
}

func (l *loader) list(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.SequenceNode {
		l.fail(n.Line, key, "expected a list, got "+describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		path := index(key, i)
		l.lines[path] = item.Line
		l.decode(item, s.Index(i), path)
	}
	v.Set(s)
}

// sink decodes one entry of `sinks:`. The keys name, type and batch are common to all sinks;
// every other key belongs to the options struct of the entry's type.
func (l *loader) sink(n *yaml.Node, s *Sink, key string) {
	typ, typeNode := l.entryType(n)
	reg, known := sinks.Lookup(typ)
	if known {
		s.Options = reg.NewOptions()
	}
	l.typed(n, key, "sink", reflect.ValueOf(s).Elem(), known, s.Options, typeNode)
}

// step decodes one entry of a stream's `processors:`, as sink does a sink.
func (l *loader) step(n *yaml.Node, p *Processor, key string) {
	typ, typeNode := l.entryType(n)
	newOpts, known := processorTypes[typ]
	if known {
		p.Options = newOpts()
	}
	l.typed(n, key, "processor", reflect.ValueOf(p).Elem(), known, p.Options, typeNode)
}

// typed decodes an entry whose `type:` selects the options struct that takes its other keys;
// base takes the keys every entry has. Without a known type the options cannot be told from
// typos, so they are left alone, and the checks report the type.
func (l *loader) typed(n *yaml.Node, key, kind string, base reflect.Value, known bool, opts any, typeNode *yaml.Node) {
	targets := []reflect.Value{base}
	if known {
		if rv := reflect.ValueOf(opts); rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Struct {
			targets = append(targets, rv.Elem())
		} else {
			l.fail(typeNode.Line, join(key, "type"), fmt.Sprintf("%s type %q is registered without an options struct pointer; this is a bug in ingestd", kind, typeNode.Value))
		}
	}
	l.fields(n, key, known, targets...)
}

// entryType finds the value of an entry's `type:` key ahead of decoding, so that the other keys
// can be decoded into that type's options.
func (l *loader) entryType(n *yaml.Node) (string, *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return "", nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "type" {
			continue
		}
		val := n.Content[i+1]
		if val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		if val.Kind != yaml.ScalarNode {
			return "", nil
		}
		typ, err := expand(val.Value, l.lookup)
		if err != nil {
			return "", nil // reported when the key is decoded
		}
		return typ, val
	}
	return "", nil
}

// assignments decodes a mapping from field paths to values of any shape (enrich's `set`) into
// []processor.Assignment, keeping the file's order, each value turned into JSON.
func (l *loader) assignments(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		l.fail(n.Line, key, "expected a mapping of field paths to values, got "+describe(n))
		return
	}
	var out []processor.Assignment
	l.pairs(n, key, func(name, path string, _, val *yaml.Node) {
		if js, ok := l.json(nil, val, path); ok {
			out = append(out, processor.Assignment{Path: name, Value: js})
		}
	})
	v.Set(reflect.ValueOf(out))
}

// pairList decodes a mapping from strings to strings (enrich's `rename`, `copy`, `facts`) into
// []processor.Pair, keeping the file's order.
func (l *loader) pairList(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		l.fail(n.Line, key, "expected a mapping, got "+describe(n))
		return
	}
	var out []processor.Pair
	l.pairs(n, key, func(name, path string, _, val *yaml.Node) {
		var s string
		l.scalar(val, reflect.ValueOf(&s).Elem(), path)
		if !l.failed[path] {
			out = append(out, processor.Pair{Key: name, Value: s})
		}
	})
	v.Set(reflect.ValueOf(out))
}

// json appends the YAML value n as JSON: strings (with ${ENV} expanded), integers, floats,
// booleans, null, and mappings and lists of them.
func (l *loader) json(dst []byte, n *yaml.Node, key string) ([]byte, bool) {
	switch n.Kind {
	case yaml.AliasNode:
		if slices.Contains(l.aliases, n) {
			l.fail(n.Line, key, "alias *"+n.Value+" refers to a value that contains it")
			return dst, false
		}
		l.aliases = append(l.aliases, n)
		defer func() { l.aliases = l.aliases[:len(l.aliases)-1] }()
		return l.json(dst, n.Alias, key)
	case yaml.MappingNode:
		dst = append(dst, '{')
		ok, first := true, true
		l.pairs(n, key, func(name, path string, _, val *yaml.Node) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonString(dst, name)
			dst = append(dst, ':')
			var good bool
			dst, good = l.json(dst, val, path)
			ok = ok && good
		})
		return append(dst, '}'), ok
	case yaml.SequenceNode:
		dst = append(dst, '[')
		ok := true
		for i, item := range n.Content {
			if i > 0 {
				dst = append(dst, ',')
			}
			var good bool
			dst, good = l.json(dst, item, index(key, i))
			ok = ok && good
		}
		return append(dst, ']'), ok
	}
	switch n.ShortTag() {
	case "!!null":
		return append(dst, "null"...), true
	case "!!bool":
		var b bool
		l.scalar(n, reflect.ValueOf(&b).Elem(), key)
		return strconv.AppendBool(dst, b), !l.failed[key]
	case "!!int":
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil {
			l.fail(n.Line, key, fmt.Sprintf("%s does not fit a 64-bit integer", n.Value))
			return dst, false
		}
		return strconv.AppendInt(dst, i, 10), true
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			l.fail(n.Line, key, fmt.Sprintf("%s is not a number JSON can hold", n.Value))
			return dst, false
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64), true
	}
	s, err := expand(n.Value, l.lookup)
	if err != nil {
		l.fail(n.Line, key, err.Error())
		return dst, false
	}
	return jsonString(dst, s), true
}

// jsonString appends s as a JSON string; invalid UTF-8 becomes U+FFFD, as in events.
func jsonString(dst []byte, s string) []byte {
	return jsonedit.AppendString(dst, []byte(s))
}

func (l *loader) scalar(n *yaml.Node, v reflect.Value, key string) {
	t := v.Type()
	if n.Kind != yaml.ScalarNode {
		l.fail(n.Line, key, "expected "+expected(t)+", got "+describe(n))
		return
	}
	s, err := expand(n.Value, l.lookup)
	if err != nil {
		l.fail(n.Line, key, err.Error())
		return
	}
	bad := func() { l.fail(n.Line, key, fmt.Sprintf("expected %s, got %q", expected(t), s)) }
	switch {
	case t == durationType:
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			l.fail(n.Line, key, fmt.Sprintf("%s has no unit; write a duration such as %q or \"500ms\"", s, s+"s"))
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			bad()
			return
		}
		v.SetInt(int64(d))
	case t == timeType:
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			bad()
			return
		}
		v.Set(reflect.ValueOf(tm))
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Bool:
		switch s {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			bad()
		}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			bad()
			return
		}
		v.SetFloat(f)
	default: // the signed integer kinds, as decode lets through
		i, err := strconv.ParseInt(s, 0, t.Bits())
		if errors.Is(err, strconv.ErrRange) {
			l.fail(n.Line, key, fmt.Sprintf("%s is out of range for %d-bit integers", s, t.Bits()))
			return
		}
		if err != nil {
			bad()
			return
		}
		v.SetInt(i)
	}
}

// expand replaces ${VAR} with the variable's value and $$ with a single $; any other $ is kept.
// Values are not expanded again, so a secret containing "$" is taken as it is.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", errors.New("unterminated ${ (write $$ for a literal $)")
			}
			name := s[i+2 : i+2+end]
			if !envName(name) {
				return "", fmt.Errorf("invalid environment variable name %q; use letters, digits and _", name)
			}
			val, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(val)
			s = s[i+3+end:]
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
	}
}

func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// field returns the field of struct v that YAML key name sets.
func field(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if n, ok := yamlName(t.Field(i)); ok && n == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func knownKeys(targets []reflect.Value) []string {
	var keys []string
	for _, v := range targets {
		t := v.Type()
		for i := range t.NumField() {
			if n, ok := yamlName(t.Field(i)); ok {
				keys = append(keys, n)
			}
		}
	}
	return keys
}

// yamlName is the key that sets a struct field: its yaml tag, else its lower-cased name, as
// the YAML library does; unexported fields and `yaml:"-"` have none.
func yamlName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return strings.ToLower(f.Name), true
	}
	return name, true
}

// expected names what a scalar setting of type t takes.
func expected(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "1s" or "500ms"`
	case t == timeType:
		return `an RFC 3339 time such as "2027-01-01T00:00:00Z"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "an integer"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(n.Value)
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}
