// Package sinks defines the contract every destination follows and the registry that maps a
// config `type:` to its implementation. Destinations live in sub-packages; a binary chooses which
// are compiled in by importing a bundle (sinks/all).
package sinks

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Batch is a run of stored events from one stream on its way to one sink.
//
// Data holds the events as NDJSON: one JSON object per line, each line ending in '\n', with the
// fields ingestd adds already in place. The engine owns Data: a sink must not keep Data (or any
// slice of it) after WriteBatch returns; the buffer is reused for later batches.
type Batch struct {
	Stream     string // the stream's key: its name, or its id when it has no name
	StreamID   string // the stream's id as clients send it in X-Stream-Id
	Data       []byte // NDJSON lines
	Events     int    // number of lines in Data
	ReceivedAt int64  // receive time of the batch's first event, Unix nanoseconds (UTC)
	// Shard is the engine shard that built the batch, in [0, shards). A sink whose destination
	// wants one ordered writer per channel keys channels on it; with Concurrency > 1 two batches
	// of a shard may be written at once, so such a sink serializes them itself.
	Shard int
	// Checkpoint is, under ack: disk, a write-ahead log checkpoint for this sink: every request
	// at or before it has been delivered to the sink. It is 32 lowercase hex digits (the log's
	// id, then the position), so two checkpoints of one log compare as strings; "" when unknown
	// or under the other ack modes. A sink that stores it with the data (an offset token)
	// reports it back through Resumer.
	Checkpoint string
}

// Resumer is implemented by sinks that store Batch.Checkpoint at the destination. Before the
// write-ahead log is replayed at start, the engine asks for the latest checkpoint the
// destination has committed and does not replay to this sink what lies at or before it (a
// checkpoint of another log is ignored). It is called after Connect; "" means none is known.
type Resumer interface {
	Resume(ctx context.Context) (string, error)
}

// Sink is one configured destination.
//
//   - Connect prepares the destination (open files, dial); called once before the first write.
//   - WriteBatch blocks until the batch is delivered, has failed, or ctx ends. Calls are not
//     concurrent unless the sink says otherwise in its registration (Concurrency > 1).
//   - Close flushes and releases everything; it is safe without Connect and safe twice.
type Sink interface {
	Connect(ctx context.Context) error
	WriteBatch(ctx context.Context, b *Batch) error
	Close(ctx context.Context) error
}

// FieldError is a problem with one option of a sink's config. Key is the option's YAML path
// relative to the sink entry (for example "path" or "rotate.max_bytes"), so the config loader
// can point at the file and line.
type FieldError struct {
	Key string
	Msg string
}

// Options is a sink type's own config block: a pointer to a struct with `yaml:"..."` tags whose
// fields hold their defaults before decoding. Validate reports every problem, not just the first.
type Options interface {
	Validate() []FieldError
}

// Registration describes one sink type.
type Registration struct {
	Type        string
	Concurrency int // batches WriteBatch may take at once; 0 or 1 means one at a time
	NewOptions  func() Options
	New         func(name string, opts Options) (Sink, error)
}

// Typed is the Registration of a sink type whose options are O (a pointer type) and whose
// constructor returns S: New checks the options' type, and returns a nil Sink, not one holding
// a nil S, when the constructor fails.
func Typed[O Options, S Sink](typ string, concurrency int, newOptions func() O, newSink func(name string, opts O) (S, error)) Registration {
	return Registration{
		Type:        typ,
		Concurrency: concurrency,
		NewOptions:  func() Options { return newOptions() },
		New: func(name string, o Options) (Sink, error) {
			opts, ok := o.(O)
			if !ok {
				var want O
				return nil, fmt.Errorf("%s sink %q: options are %T, not %T", typ, name, o, want)
			}
			s, err := newSink(name, opts)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}
}

var (
	mu       sync.RWMutex
	registry = map[string]Registration{}
)

// Register adds a sink type. It refuses an empty or duplicate type name, so two packages cannot
// silently claim the same `type:`.
func Register(r Registration) error {
	if r.Type == "" || r.NewOptions == nil || r.New == nil {
		return fmt.Errorf("sinks: incomplete registration for type %q", r.Type)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[r.Type]; dup {
		return fmt.Errorf("sinks: type %q is already registered", r.Type)
	}
	registry[r.Type] = r
	return nil
}

// MustRegister is Register for package init functions.
func MustRegister(r Registration) {
	if err := Register(r); err != nil {
		panic(err)
	}
}

// Lookup returns the registration of a sink type.
func Lookup(typ string) (Registration, bool) {
	mu.RLock()
	defer mu.RUnlock()
	r, ok := registry[typ]
	return r, ok
}

// Types lists the registered type names, sorted, for error messages.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
