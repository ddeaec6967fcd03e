// Package kafka is the "kafka" sink: it produces each event of a batch as one Kafka record and
// returns only when the brokers have acknowledged every record, so the engine's write-ahead log
// advances only past events Kafka holds.
//
// The producer is franz-go's: idempotent, with acks from all in-sync replicas, always (neither
// can be turned off, since losing or duplicating records on a retry would break the engine's
// delivery promise). The record's value is the stored event line without its '\n'; its key is
// the value of key_field, so one key stays in one partition and in order; its headers are the
// configured ones plus StreamIDHeader. The topic comes from a template of the stream.
//
// Failures are classified for the engine (sinks.Classify): a broker that cannot be reached,
// timeouts and leadership changes are retried; a record larger than the producer or broker
// allows is TooLarge, so the engine splits the batch; a topic that is invalid, missing (the
// sink never creates topics) or not authorized is Permanent. A failed SASL login is retried.
package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

// Concurrency is 1: franz-go batches and pipelines records itself, and one WriteBatch at a
// time keeps the order of the engine's batches within each key.
const Concurrency = 1

func init() {
	sinks.MustRegister(sinks.Typed("kafka", Concurrency, NewOptions, New))
}

// Sink produces batches to Kafka. Its methods are not safe for concurrent use, as Concurrency
// tells the engine.
type Sink struct {
	name    string
	opts    *Options
	topic   *topicTemplate
	key     *fieldpath.Path // nil: records have no key
	headers []kgo.RecordHeader

	client *kgo.Client

	// Reused per batch: once WriteBatch returns, every promise has run and the client keeps no
	// reference to the records, their keys or their headers.
	recs     []kgo.Record
	keys     []byte // the batch's unescaped keys, end to end
	keyEnds  []int  // end of record i's key in keys; -1: no key
	topicBuf []byte

	// The last batch's topic and headers, rebuilt only when its stream changes.
	lastStream, lastStreamID, lastTopic string
	topicErr                            error
	recHeaders                          []kgo.RecordHeader

	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error // the first failure of the batch in flight
	promise func(*kgo.Record, error)
}

// New returns a kafka sink named name (the name appears in its errors). It fails when opts do
// not validate. It does no I/O: Connect reads the TLS files and starts the client.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("kafka sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	s := &Sink{name: name, opts: opts, keys: make([]byte, 0, 4096)}
	s.topic, _ = parseTopic(opts.Topic)
	if opts.KeyField != "" {
		s.key, _ = fieldpath.Parse(opts.KeyField)
	}
	for k, v := range opts.Headers {
		s.headers = append(s.headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	// A fixed order, so that every record carries its headers alike.
	slices.SortFunc(s.headers, func(a, b kgo.RecordHeader) int { return strings.Compare(a.Key, b.Key) })
	s.promise = s.done
	return s, nil
}

// clientOptions translates the options into franz-go's.
func (s *Sink) clientOptions() ([]kgo.Opt, error) {
	o := s.opts
	codec := map[string]kgo.CompressionCodec{
		CompressionNone:   kgo.NoCompression(),
		CompressionGzip:   kgo.GzipCompression(),
		CompressionSnappy: kgo.SnappyCompression(),
		CompressionLZ4:    kgo.Lz4Compression(),
		CompressionZstd:   kgo.ZstdCompression(),
	}[o.Compression]
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("ingestd"),
		kgo.RequiredAcks(kgo.AllISRAcks()), // with idempotence, franz-go's default, kept on
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedRecords(o.MaxBufferedRecords),
		kgo.ProducerLinger(o.Linger),
		kgo.ProducerBatchMaxBytes(o.ProducerBatchMaxBytes),
		kgo.DialTimeout(o.RequestTimeout),
		// A record's timeout starts when it is buffered, so lingering counts against it.
		kgo.RecordDeliveryTimeout(o.RequestTimeout + o.Linger),
	}
	if a := o.SASL; a != nil {
		switch a.Mechanism {
		case SASLPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: a.Username, Pass: a.Password}.AsMechanism()))
		case SASLScramSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: a.Username, Pass: a.Password}.AsSha256Mechanism()))
		case SASLScramSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: a.Username, Pass: a.Password}.AsSha512Mechanism()))
		}
	}
	if o.TLS != nil {
		cfg, key, err := o.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	return opts, nil
}

// Connect reads the TLS files and starts the client. Brokers are dialled lazily, so they need
// not be up yet: WriteBatch reports them unreachable as a retryable error.
func (s *Sink) Connect(ctx context.Context) error {
	if s.client != nil {
		return nil
	}
	opts, err := s.clientOptions()
	if err != nil {
		return fmt.Errorf("kafka sink %q: %w", s.name, err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka sink %q: %w", s.name, err)
	}
	s.client = cl
	return nil
}

// WriteBatch produces one record per line of b and waits until every record is acknowledged or
// has failed. When ctx ends, records not yet sent fail with ctx's error; records already sent
// are still waited for, because the client may not drop them while a broker holds them.
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if s.client == nil {
		return fmt.Errorf("kafka sink %q: WriteBatch before Connect", s.name)
	}
	topic, headers, err := s.streamTarget(b)
	if err != nil {
		return err
	}
	s.fill(b.Data, topic, headers)
	if len(s.recs) == 0 {
		return nil
	}
	s.err = nil
	s.wg.Add(len(s.recs))
	for i := range s.recs {
		s.client.Produce(ctx, &s.recs[i], s.promise)
	}
	s.wg.Wait()
	if s.err != nil {
		return s.classify(topic, s.err)
	}
	return nil
}

// done is every record's promise: it keeps the batch's first error.
func (s *Sink) done(_ *kgo.Record, err error) {
	if err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
	s.wg.Done()
}

// streamTarget returns the topic and the headers of b's records, cached from the last batch of
// the same stream.
func (s *Sink) streamTarget(b *sinks.Batch) (string, []kgo.RecordHeader, error) {
	if s.recHeaders == nil || b.Stream != s.lastStream || b.StreamID != s.lastStreamID {
		s.lastStream, s.lastStreamID = b.Stream, b.StreamID
		s.topicBuf = s.topic.expand(s.topicBuf[:0], b)
		s.lastTopic, s.topicErr = string(s.topicBuf), nil
		if len(s.topicBuf) > maxTopicLen || !validTopic(s.topicBuf) || len(s.topicBuf) == 0 ||
			s.lastTopic == "." || s.lastTopic == ".." {
			s.topicErr = sinks.PermanentError(fmt.Errorf("kafka sink %q: topic %q from stream %q is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most %d)",
				s.name, s.lastTopic, b.Stream, maxTopicLen))
		}
		s.recHeaders = append(append(make([]kgo.RecordHeader, 0, len(s.headers)+1), s.headers...),
			kgo.RecordHeader{Key: StreamIDHeader, Value: []byte(b.StreamID)})
	}
	return s.lastTopic, s.recHeaders, s.topicErr
}

// fill turns the lines of data into s.recs.
func (s *Sink) fill(data []byte, topic string, headers []kgo.RecordHeader) {
	s.recs, s.keys, s.keyEnds = s.recs[:0], s.keys[:0], s.keyEnds[:0]
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		end := -1
		if s.key != nil {
			if v, ok := fieldpath.Lookup(line, s.key); ok {
				switch v.Kind {
				case fieldpath.String:
					s.keys = v.Str(s.keys)
					end = len(s.keys)
				case fieldpath.Number, fieldpath.Bool:
					s.keys = append(s.keys, v.Raw...)
					end = len(s.keys)
				}
			}
		}
		s.keyEnds = append(s.keyEnds, end)
		s.recs = append(s.recs, kgo.Record{Topic: topic, Value: line, Headers: headers})
	}
	// Keys are sliced only now: appending may have moved s.keys.
	start := 0
	for i, end := range s.keyEnds {
		if end >= 0 {
			s.recs[i].Key = s.keys[start:end:end]
			start = end
		}
	}
}

// classify wraps a produce failure with the sink, the topic and what the engine should do.
func (s *Sink) classify(topic string, err error) error {
	if err == kgo.ErrRecordTimeout { // not wrapped: franz-go has no last error to give
		// franz-go times records out without saying why when no broker could be reached or
		// logged in to; a ping finds the reason for the message.
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.RequestTimeout)
		if perr := s.client.Ping(ctx); perr != nil {
			err = fmt.Errorf("%w; brokers: %w", err, perr)
		}
		cancel()
	}
	wrapped := fmt.Errorf("kafka sink %q: producing to topic %q: %w", s.name, topic, err)
	switch {
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return sinks.TooLargeError(wrapped)
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID),
		errors.Is(err, kerr.InvalidTopicException),
		errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.InvalidRecord), errors.Is(err, kerr.CorruptMessage),
		errors.Is(err, kerr.UnsupportedCompressionType), errors.Is(err, kerr.PolicyViolation):
		return sinks.PermanentError(wrapped)
	}
	// Everything else may pass: unreachable brokers, timeouts, NotEnoughReplicas, leadership
	// changes, ctx's end. So may failed SASL logins: the events wait in the write-ahead log
	// until the credentials are fixed, rather than every batch going to the dead letters.
	return wrapped
}

// Close waits for buffered records and closes the client. It is safe without Connect and
// safe twice.
func (s *Sink) Close(ctx context.Context) error {
	if s.client == nil {
		return nil
	}
	err := s.client.Flush(ctx)
	s.client.Close()
	s.client = nil
	if err != nil {
		return fmt.Errorf("kafka sink %q: close: %w", s.name, err)
	}
	return nil
}
