package kafka

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Defaults of the options a config may leave out.
const (
	DefaultTopic              = "{stream}"
	DefaultCompression        = CompressionZstd
	DefaultLinger             = 5 * time.Millisecond
	DefaultMaxBufferedRecords = 10000
	DefaultBatchMaxBytes      = 1 << 20 // Kafka's default message.max.bytes, about 1 MiB
	DefaultRequestTimeout     = 30 * time.Second
)

// Values of the compression option.
const (
	CompressionNone   = "none"
	CompressionGzip   = "gzip"
	CompressionSnappy = "snappy"
	CompressionLZ4    = "lz4"
	CompressionZstd   = "zstd"
)

// Values of the sasl.mechanism option.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// StreamIDHeader is the record header that carries the batch's stream id.
const StreamIDHeader = "stream_id"

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// Options is the kafka sink's config block.
type Options struct {
	// Brokers are the seed brokers, host:port each.
	Brokers []string `yaml:"brokers"`
	// Topic is the template of the topic name: literal text with {stream} and {stream_id}.
	Topic string `yaml:"topic"`
	// KeyField is the dotted path of the field whose value keys each record, so that events
	// with one key stay in one partition, in order. Empty or absent in an event: no key.
	KeyField string `yaml:"key_field"`
	// Headers are added to every record, before the automatic StreamIDHeader.
	Headers map[string]string `yaml:"headers"`
	// Compression is the codec of produced record batches.
	Compression string `yaml:"compression"`
	// MaxBufferedRecords bounds the records waiting in the client; producing more blocks.
	MaxBufferedRecords int `yaml:"max_buffered_records"`
	// Linger is how long a partition waits for more records before a request is sent.
	Linger time.Duration `yaml:"linger"`
	// ProducerBatchMaxBytes is the largest record batch sent to one partition; a larger record
	// is refused as too large. It must not exceed the broker's message.max.bytes.
	ProducerBatchMaxBytes int32 `yaml:"producer_batch_max_bytes"`
	// SASL authenticates to the brokers.
	SASL *SASL `yaml:"sasl"`
	// TLS encrypts connections to the brokers.
	TLS *tlsfiles.Client `yaml:"tls"`
	// RequestTimeout bounds how long a record may wait to be acknowledged, and each dial.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// SASL is a username and password sent with one mechanism.
type SASL struct {
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{
		Topic:                 DefaultTopic,
		Compression:           DefaultCompression,
		MaxBufferedRecords:    DefaultMaxBufferedRecords,
		Linger:                DefaultLinger,
		ProducerBatchMaxBytes: DefaultBatchMaxBytes,
		RequestTimeout:        DefaultRequestTimeout,
	}
}

// Validate reports every invalid option, keyed by its YAML path. Messages never repeat the
// password.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	if len(o.Brokers) == 0 {
		add("brokers", "is required: a list of host:port")
	}
	for i, b := range o.Brokers {
		if b == "" || strings.ContainsAny(b, " \t\r\n/") {
			add(fmt.Sprintf("brokers[%d]", i), fmt.Sprintf("must be host or host:port, not %q", b))
		}
	}
	if _, err := parseTopic(o.Topic); err != nil {
		add("topic", err.Error())
	}
	if o.KeyField != "" {
		if _, err := fieldpath.Parse(o.KeyField); err != nil {
			add("key_field", err.Error())
		}
	}
	names := make([]string, 0, len(o.Headers))
	for name := range o.Headers {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order of messages
	for _, name := range names {
		switch {
		case name == "":
			add("headers", "has an empty header name")
		case name == StreamIDHeader:
			add("headers."+name, "is set by the sink to the stream's id; remove it")
		}
	}
	switch o.Compression {
	case CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd:
	default:
		add("compression", fmt.Sprintf("must be %q, %q, %q, %q or %q, not %q",
			CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd, o.Compression))
	}
	if o.MaxBufferedRecords <= 0 {
		add("max_buffered_records", fmt.Sprintf("must be positive, such as %d; got %d", DefaultMaxBufferedRecords, o.MaxBufferedRecords))
	}
	if o.Linger < 0 {
		add("linger", fmt.Sprintf("must not be negative; got %v", o.Linger))
	}
	if o.ProducerBatchMaxBytes < 1024 {
		add("producer_batch_max_bytes", fmt.Sprintf("must be at least 1024, such as %d; got %d", DefaultBatchMaxBytes, o.ProducerBatchMaxBytes))
	}
	if s := o.SASL; s != nil {
		switch s.Mechanism {
		case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		default:
			add("sasl.mechanism", fmt.Sprintf("must be %q, %q or %q, not %q", SASLPlain, SASLScramSHA256, SASLScramSHA512, s.Mechanism))
		}
		if s.Username == "" {
			add("sasl.username", "is required")
		}
		if s.Password == "" {
			add("sasl.password", "is required")
		}
	}
	if o.TLS != nil {
		o.TLS.Check(add)
	}
	if o.RequestTimeout < time.Second { // franz-go's least record timeout
		add("request_timeout", fmt.Sprintf("must be at least 1s, such as %v; got %v", DefaultRequestTimeout, o.RequestTimeout))
	}
	return errs
}

// topicTemplate is a parsed topic option: literal parts between {stream} / {stream_id} tokens.
type topicTemplate struct {
	parts []topicPart
}

type topicPart struct {
	lit      string
	token    bool // true: the part is a token, streamID tells which
	streamID bool
}

// parseTopic parses a topic template. Literal text must be legal in a topic name (letters,
// digits, '.', '_', '-'); the values the tokens expand to are checked per batch.
func parseTopic(s string) (*topicTemplate, error) {
	if s == "" {
		return nil, fmt.Errorf("is required")
	}
	t := &topicTemplate{}
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			open = len(s)
		}
		if open > 0 {
			lit := s[:open]
			if !validTopic(lit) {
				return nil, fmt.Errorf("has %q; a topic name holds only letters, digits, '.', '_' and '-'", lit)
			}
			t.parts = append(t.parts, topicPart{lit: lit})
			s = s[open:]
			continue
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return nil, fmt.Errorf("has an unclosed '{'")
		}
		switch name := s[1:end]; name {
		case "stream":
			t.parts = append(t.parts, topicPart{token: true})
		case "stream_id":
			t.parts = append(t.parts, topicPart{token: true, streamID: true})
		default:
			return nil, fmt.Errorf("has an unknown token {%s}; known are {stream} {stream_id}", name)
		}
		s = s[end+1:]
	}
	return t, nil
}

// expand appends the topic of batch b to dst.
func (t *topicTemplate) expand(dst []byte, b *sinks.Batch) []byte {
	for _, p := range t.parts {
		switch {
		case !p.token:
			dst = append(dst, p.lit...)
		case p.streamID:
			dst = append(dst, b.StreamID...)
		default:
			dst = append(dst, b.Stream...)
		}
	}
	return dst
}

// validTopic reports whether s is made only of the characters Kafka allows in topic names.
func validTopic[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
