// Package config loads and checks ingestd's YAML configuration (SPEC §2): strict decoding
// (unknown keys are errors), ${ENV} substitution, defaults from named constants, and errors that
// name the file, the line and the key.
package config

import (
	"time"

	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/sinks"
)

// Defaults (SPEC §2 and §3).
const (
	DefaultListen              = "127.0.0.1:8080"
	DefaultMaxPayloadBytes     = 1 << 20
	DefaultMaxEventsPerRequest = 10000
	DefaultMaxDepth            = 64
	DefaultQueueSize           = 4096 // requests per shard ring
	DefaultMaxQueueBytes       = 256 << 20
	DefaultMaxHeaderBytes      = 8192
	DefaultReadTimeout         = 10 * time.Second
	DefaultWriteTimeout        = 10 * time.Second
	DefaultIdleTimeout         = 60 * time.Second
	DefaultGracePeriod         = 30 * time.Second
	DefaultBatchMaxEvents      = 10000
	DefaultBatchMaxBytes       = 4 << 20
	DefaultBatchMaxAge         = time.Second
	DefaultBufferMaxBatches    = 64
	DefaultWhenFull            = WhenFullBlock
	DefaultInitialBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff          = 30 * time.Second
	DefaultDeadLetterDir       = "./data/dead-letter"
	DefaultAck                 = AckDisk
	DefaultWALDir              = "./data/wal"
	DefaultWALMaxBytes         = 1 << 30
	DefaultWALSegmentBytes     = 64 << 20
	DefaultWALCommitDelay      = time.Millisecond
	DefaultWALCommitSiblings   = 8
	DefaultAckTimeout          = 30 * time.Second
	DefaultStreamID            = "a0c3b4de-1923-4ff1-8dba-f92ad912d20f"
)

// Config is a whole, checked configuration.
type Config struct {
	Server  Server   `yaml:"server"`
	Tokens  []Token  `yaml:"tokens"`
	Streams []Stream `yaml:"streams"`
	Sinks   []Sink   `yaml:"sinks"`

	// File is where the config came from ("<embedded>" for the default); used in messages.
	File string `yaml:"-"`
}

// Server holds the front end's settings and limits.
type Server struct {
	Listen              string        `yaml:"listen"`
	MaxPayloadBytes     int           `yaml:"max_payload_bytes"`
	MaxEventsPerRequest int           `yaml:"max_events_per_request"`
	MaxDepth            int           `yaml:"max_depth"`
	MaxHeaderBytes      int           `yaml:"max_header_bytes"`
	Shards              int           `yaml:"shards"`          // 0 = GOMAXPROCS
	QueueSize           int           `yaml:"queue_size"`      // requests per shard ring, rounded up to a power of two
	MaxQueueBytes       int           `yaml:"max_queue_bytes"` // decoded bytes held by queued requests, all shards together
	ReadTimeout         time.Duration `yaml:"read_timeout"`
	WriteTimeout        time.Duration `yaml:"write_timeout"`
	IdleTimeout         time.Duration `yaml:"idle_timeout"`
	GracePeriod         time.Duration `yaml:"grace_period"`
	Ack                 string        `yaml:"ack"`         // AckMemory, AckDisk or AckDelivered; streams may override
	AckTimeout          time.Duration `yaml:"ack_timeout"` // ack: delivered waits at most this long
	WAL                 WAL           `yaml:"wal"`         // the write-ahead log of ack: disk
}

// WAL is where ack: disk keeps accepted requests until every sink delivered them.
type WAL struct {
	Dir          string `yaml:"dir"`
	MaxBytes     int64  `yaml:"max_bytes"`     // past it, ack: disk streams answer 503 overloaded
	SegmentBytes int64  `yaml:"segment_bytes"` // a new segment file starts past this size
	// CommitDelay lets a group commit gather for this long when at least CommitSiblings
	// requests shared the previous fsync (wal.Options); nil means the default, 0 turns it off.
	CommitDelay    *time.Duration `yaml:"commit_delay"`
	CommitSiblings int            `yaml:"commit_siblings"`
}

// The acknowledgement modes: when a request is answered 200.
const (
	AckMemory    = "memory"    // once its events are queued in memory
	AckDisk      = "disk"      // once the request is in the write-ahead log and fsync'd
	AckDelivered = "delivered" // once every sink its events route to has delivered them
)

// Token is one API token. Secret is never kept in plain text once loaded: Hash is the SHA-256 of
// the token, from a plain value, a ${ENV} reference, or a `sha256:<hex>` literal.
type Token struct {
	Name      string     `yaml:"name"`
	Secret    string     `yaml:"token"`
	Streams   []string   `yaml:"streams"`
	ExpiresAt time.Time  `yaml:"expires_at"` // zero = never
	RateLimit *RateLimit `yaml:"rate_limit"`

	Hash [32]byte `yaml:"-"` // filled by Load; Secret is cleared
}

// RateLimit is a token bucket over events.
type RateLimit struct {
	EventsPerSecond float64 `yaml:"events_per_second"`
	Burst           int     `yaml:"burst"` // 0 = one second's worth of events
}

// Stream is one ingest target.
type Stream struct {
	ID        string     `yaml:"id"`
	Name      string     `yaml:"name"`
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Sinks is the shorthand for one catch-all route to these sinks.
	Sinks      []string    `yaml:"sinks"`
	Processors []Processor `yaml:"processors"`
	Routes     []Route     `yaml:"routes"`
	Default    []string    `yaml:"default"` // the sinks of events no route matches
	Ack        string      `yaml:"ack"`     // overrides server.ack for this stream; "" = server.ack

	// Pipeline is the compiled processors and routes, built by Load.
	Pipeline *pipeline.Pipeline `yaml:"-"`
}

// Processor is one step of a stream's pipeline: the keys every step has, plus the type's own
// options.
type Processor struct {
	Type string `yaml:"type"`
	Name string `yaml:"name"` // in metrics; defaults to the type, numbered when it repeats

	Options processor.Options `yaml:"-"`
}

// Route sends the events that match a condition to sinks.
type Route struct {
	Name   string   `yaml:"name"`
	When   string   `yaml:"when"` // empty: every event
	Sample *Sample  `yaml:"sample"`
	To     []string `yaml:"to"`
	Final  bool     `yaml:"final"`
}

// Sample is a route's sampling: a rate (random, or by key), or a dynamic target per key.
type Sample struct {
	Rate    float64        `yaml:"rate"`
	Key     string         `yaml:"key"`
	Dynamic *SampleDynamic `yaml:"dynamic"`
}

// SampleDynamic aims at a number of kept events per second for each value of the key.
type SampleDynamic struct {
	TargetPerKey float64       `yaml:"target_per_key"`
	MaxKeys      int           `yaml:"max_keys"`
	Window       time.Duration `yaml:"window"`
}

// Key is how the stream is named in metrics and sink paths: its name, else its id.
func (s *Stream) Key() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// Sink is one destination: the fields every sink has, plus the type's own options.
type Sink struct {
	Name       string     `yaml:"name"`
	Type       string     `yaml:"type"`
	Batch      Batch      `yaml:"batch"`
	Buffer     Buffer     `yaml:"buffer"`
	Retry      Retry      `yaml:"retry"`
	DeadLetter DeadLetter `yaml:"dead_letter"`

	// Options is the sink type's own block (every other key of the entry), decoded into the
	// struct its registration provides.
	Options sinks.Options `yaml:"-"`
}

// Buffer bounds the batches waiting for a sink, and says what happens when they reach it.
type Buffer struct {
	MaxBatches int    `yaml:"max_batches"`
	WhenFull   string `yaml:"when_full"` // WhenFullBlock or WhenFullDropNewest
}

// The when_full policies.
const (
	WhenFullBlock      = "block"       // the sink's streams answer 503 overloaded until it catches up
	WhenFullDropNewest = "drop_newest" // new batches are dropped and counted
)

// Retry is a sink's back-off between failed deliveries: exponential from InitialBackoff, capped
// at MaxBackoff, with jitter; a destination's Retry-After is waited at least.
type Retry struct {
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// DeadLetter is where events a sink refused for good are kept: NDJSON files under Dir, one per
// sink and day.
type DeadLetter struct {
	Dir string `yaml:"dir"`
}

// Batch bounds a sink's batches; a batch is flushed when any bound is reached.
type Batch struct {
	MaxEvents int           `yaml:"max_events"`
	MaxBytes  int           `yaml:"max_bytes"`
	MaxAge    time.Duration `yaml:"max_age"`
}
