// Package processor is the contract between a stream's pipeline and its processing steps
// (parse, enrich, mask, filter): how a step is configured, compiled once, and run per event by
// each shard worker without allocating.
//
// A step's lifecycle: the config loader decodes the step's YAML block into its Options
// (a pointer to a struct with `yaml` tags, holding defaults before decoding), calls Compile,
// which checks everything and reports every problem at once, and keeps the Processor. Each
// goroutine that runs events calls NewState once and then State.Process per event.
package processor

// Options is one step's configuration, as decoded from YAML.
type Options interface {
	// Compile checks the options and builds the step. Errors name the option by its YAML path
	// relative to the step (for example "when", "set.metadata.region", "fields[1]").
	Compile(env *Env) (Processor, []FieldError)
}

// Env is what Compile may need beyond the step's own options.
type Env struct {
	// Dir is the directory of the config file; relative file names (a lookup table) are
	// resolved against it.
	Dir string
}

// FieldError is a problem with one option of a step.
type FieldError struct {
	Key string
	Msg string
}

// Processor is a compiled step. It is immutable and safe for concurrent use.
type Processor interface {
	NewState() State
}

// State is a step's per-goroutine working memory (edit slots, scratch buffers). It belongs to
// one goroutine at a time.
type State interface {
	// Process runs the step on event, one JSON object on one line (no newline at the end), as
	// the engine stores it. It returns the resulting event and what happened:
	//   - Unchanged: out is event itself and dst was not written.
	//   - Changed: out is dst with the new event appended (dst must not overlap event).
	//   - Failed: like Changed, but the step could not do its work and tagged the event
	//     instead (a parse that did not parse); the pipeline counts it.
	//   - Drop: the event is to be dropped; out is nil.
	// Once the state's buffers have grown to the size of the events, Process allocates
	// nothing, except where a regular expression does.
	Process(dst, event []byte, facts *Facts) (out []byte, o Outcome)
}

// Outcome is what a step did to one event.
type Outcome uint8

const (
	Unchanged Outcome = iota
	Changed
	Failed
	Drop
)

// Facts are what the engine knows about an event beyond its content, as JSON strings with
// their quotes, ready to be written into an event.
type Facts struct {
	Host     []byte // the machine's host name
	Token    []byte // the name of the token that sent the event
	Stream   []byte // the stream's name, or its id when unnamed
	StreamID []byte
}

// ValidLabel reports whether s is fit for a metric label value that people type in queries
// (a step's name, a filter's reason, a route's name): 1 to 64 characters from a-z 0-9 _ -.
func ValidLabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Assignment is one member of a mapping from field paths to values (enrich's `set`), in the
// order the config file gives them. Value is the YAML value as JSON: strings, numbers, true,
// false, null, and objects and arrays of them; ${ENV} references in strings are expanded.
type Assignment struct {
	Path  string
	Value []byte
}

// Pair is one member of a mapping from a string to a string (enrich's `rename`, `copy` and
// `facts`), in the order the config file gives them.
type Pair struct {
	Key   string
	Value string
}
