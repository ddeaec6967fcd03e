// Package nats is the "nats" sink: it publishes every event of a batch as one message to NATS
// JetStream, and returns only when JetStream has acknowledged (stored) each of them, so the
// engine's write-ahead log moves past a batch only once the stream holds it.
//
// Every message carries a Nats-Msg-Id that is the same each time the same event is sent: the
// event's id (msg_id_field, by default the event_id ingestd gives every stored event, which a
// replay from the write-ahead log keeps) or the batch's stream id and a hash of the event's line. A batch
// the engine retries after a partial failure is therefore stored once, as JetStream drops
// messages whose id it has seen within the stream's duplicate window.
//
// Publishing is asynchronous with at most max_pending messages awaiting their acknowledgement.
// The connection is made in the background and remade after a loss, so ingestd starts while
// NATS is away; while it is, batches fail fast with a retryable error.
package nats

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

func init() {
	// One batch at a time: one JetStream publisher, whose max_pending gives the parallelism.
	sinks.MustRegister(sinks.Typed("nats", 1, NewOptions, New))
}

// Sink publishes batches to JetStream. WriteBatch is never called concurrently (Concurrency 1),
// nor with Connect or Close.
type Sink struct {
	name       string
	servers    string
	subject    string // the template
	streamName string
	idPath     *fieldpath.Path
	maxPending int
	ackTimeout time.Duration
	creds      *Credentials
	tls        *TLS

	nc      *nats.Conn
	js      jetstream.JetStream
	closed  chan struct{} // closed by the connection's ClosedHandler
	pubOpts []jetstream.PublishOpt

	// msgs are reused from batch to batch, one per event, each with its own header map: the
	// client holds a message until its ack arrives, and every ack has arrived (or timed out)
	// when WriteBatch returns.
	msgs  []*nats.Msg
	idBuf []byte

	// The last batch's subject, so that a run of batches of one stream renders it once.
	subjStream, subjStreamID, subjRendered string

	// Set by the client's ack goroutine when a message fails after it was published.
	mu       sync.Mutex
	failed   int
	firstErr error
}

// New returns a nats sink named name (the name appears in its errors). It fails when opts do
// not validate. It does no I/O: Connect starts the connection.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("nats sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	s := &Sink{
		name:       name,
		servers:    opts.URL,
		subject:    opts.Subject,
		streamName: opts.StreamName,
		maxPending: opts.MaxPending,
		ackTimeout: opts.AckTimeout,
		creds:      opts.Credentials,
		tls:        opts.TLS,
		// No client-side retries on "no responders": a retry would publish the message again
		// after WriteBatch has returned, from a buffer the engine then owns. The engine retries
		// the batch instead. A full publisher waits for a free slot for up to ack_timeout.
		pubOpts: []jetstream.PublishOpt{jetstream.WithRetryAttempts(0), jetstream.WithStallWait(opts.AckTimeout)},
	}
	if opts.MsgIDField != "" {
		s.idPath, _ = fieldpath.Parse(opts.MsgIDField) // validated
	}
	return s, nil
}

// Connect starts the connection to NATS. It fails only on unreadable credential or TLS files:
// an unreachable server is retried in the background (and batches fail retryably meanwhile).
// stream_name is not checked here for the same reason; a mismatch shows on the first batch.
func (s *Sink) Connect(context.Context) error {
	if s.nc != nil {
		s.nc.Close()
	}
	closed := make(chan struct{})
	opts := []nats.Option{
		nats.Name("ingestd/" + s.name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// No reconnect buffer: a message published while disconnected fails at once, rather
		// than being flushed later with nobody waiting for its ack. The engine's log is the
		// buffer.
		nats.ReconnectBufSize(-1),
		nats.Timeout(min(s.ackTimeout, 5*time.Second)),
		nats.DrainTimeout(s.ackTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	}
	if c := s.creds; c != nil {
		switch {
		case c.CredsFile != "":
			o := nats.UserCredentials(c.CredsFile)
			if err := checkCreds(o); err != nil {
				return fmt.Errorf("nats sink %q: credentials.creds_file: %w", s.name, err)
			}
			opts = append(opts, o)
		case c.NkeyFile != "":
			o, err := nats.NkeyOptionFromSeed(c.NkeyFile)
			if err != nil {
				return fmt.Errorf("nats sink %q: credentials.nkey_file: %w", s.name, err)
			}
			opts = append(opts, o)
		case c.Token != "":
			opts = append(opts, nats.Token(c.Token))
		default:
			opts = append(opts, nats.UserInfo(c.User, c.Password))
		}
	}
	if t := s.tls; t != nil {
		if t.CAFile != "" {
			opts = append(opts, nats.RootCAs(t.CAFile))
		}
		if t.CertFile != "" {
			opts = append(opts, nats.ClientCert(t.CertFile, t.KeyFile))
		}
	}
	nc, err := nats.Connect(s.servers, opts...)
	if err != nil {
		return fmt.Errorf("nats sink %q: %w", s.name, err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(s.maxPending),
		jetstream.WithPublishAsyncTimeout(s.ackTimeout),
		jetstream.WithPublishAsyncErrHandler(s.ackFailed))
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats sink %q: %w", s.name, err)
	}
	s.nc, s.js, s.closed = nc, js, closed
	return nil
}

// checkCreds reads a creds file through the option made of it. The client itself checks only
// that the file reads; its JWT and seed are used when connecting, in the background, so a
// broken file would otherwise show only as a connection retried forever.
func checkCreds(o nats.Option) error {
	var probe nats.Options
	if err := o(&probe); err != nil { // it reads the file once
		return err
	}
	// Read without error a moment ago; should it fail now, the empty JWT is refused below.
	userJWT, _ := probe.UserJWT()
	if strings.Count(userJWT, ".") != 2 { // header.claims.signature
		return errors.New("holds no user JWT")
	}
	_, err := probe.SignatureCB([]byte("probe"))
	return err
}

// ackFailed records a message that failed after it was published: an error ack, an ack
// timeout or a lost connection.
func (s *Sink) ackFailed(_ jetstream.JetStream, _ *nats.Msg, err error) {
	s.mu.Lock()
	s.failed++
	if s.firstErr == nil {
		s.firstErr = err
	}
	s.mu.Unlock()
}

// WriteBatch publishes each event of b as one message and waits until JetStream has
// acknowledged every one. Its error is classified (see classify).
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	if s.js == nil {
		return fmt.Errorf("nats sink %q: WriteBatch before Connect", s.name)
	}
	// Disconnected, a publish would fail on a misleading error (the reconnect buffer is off;
	// before the first connection, "headers not supported").
	if st := s.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats sink %q: not connected to NATS (%v)", s.name, st)
	}
	// A batch given up when its ctx ended may still have acks out; let them settle first so
	// that their failures are not taken for this batch's.
	if s.js.PublishAsyncPending() > 0 {
		if err := s.settle(ctx); err != nil {
			return fmt.Errorf("nats sink %q: %w", s.name, err)
		}
	}
	s.mu.Lock()
	s.failed, s.firstErr = 0, nil
	s.mu.Unlock()

	subject, err := s.render(b)
	if err != nil {
		return sinks.PermanentError(fmt.Errorf("nats sink %q: %w", s.name, err))
	}
	var pubErr error
	n := 0
	for data := b.Data; len(data) > 0; n++ {
		line := data
		if i := indexNL(data); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if err := ctx.Err(); err != nil {
			pubErr = err
			break
		}
		m := s.msg(n)
		m.Subject, m.Data = subject, line
		s.idBuf = s.appendID(s.idBuf[:0], b.StreamID, line)
		m.Header[jetstream.MsgIDHeader][0] = string(s.idBuf)
		if _, err := s.js.PublishMsgAsync(m, s.pubOpts...); err != nil {
			pubErr = err
			break
		}
	}
	waitErr := s.settle(ctx)
	s.mu.Lock()
	failed, firstErr := s.failed, s.firstErr
	s.mu.Unlock()
	switch {
	case pubErr != nil:
		return s.classify(ctx, pubErr, subject, fmt.Sprintf("publishing event %d of %d", n+1, b.Events))
	case waitErr != nil:
		return fmt.Errorf("nats sink %q: waiting for acks: %w", s.name, waitErr)
	case failed > 0:
		return s.classify(ctx, firstErr, subject, fmt.Sprintf("%d of %d events not acknowledged", failed, n))
	}
	return nil
}

// settle waits until no published message awaits its ack. Each ack times out after
// ack_timeout, so this ends by then unless ctx ends first.
func (s *Sink) settle(ctx context.Context) error {
	select {
	case <-s.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// msg returns the i-th reusable message, with its headers in place.
func (s *Sink) msg(i int) *nats.Msg {
	if i < len(s.msgs) {
		return s.msgs[i]
	}
	h := nats.Header{jetstream.MsgIDHeader: []string{""}}
	if s.streamName != "" {
		h[jetstream.ExpectedStreamHeader] = []string{s.streamName}
	}
	m := &nats.Msg{Header: h}
	s.msgs = append(s.msgs, m)
	return m
}

// render returns the subject of b's events from the template.
func (s *Sink) render(b *sinks.Batch) (string, error) {
	if s.subjRendered != "" && b.Stream == s.subjStream && b.StreamID == s.subjStreamID {
		return s.subjRendered, nil
	}
	subj := strings.NewReplacer("{stream}", b.Stream, "{stream_id}", b.StreamID).Replace(s.subject)
	if err := checkRendered(subj); err != nil {
		return "", err
	}
	s.subjStream, s.subjStreamID, s.subjRendered = b.Stream, b.StreamID, subj
	return subj, nil
}

// appendID appends an event's Nats-Msg-Id: the msg_id_field's value when the event has it as a
// non-empty string (without control characters, which would break the header) or a number, else the stream id, '-', and the xxhash of the line in hex.
func (s *Sink) appendID(dst []byte, streamID string, line []byte) []byte {
	if s.idPath != nil {
		if v, ok := fieldpath.Lookup(line, s.idPath); ok {
			start := len(dst)
			switch v.Kind {
			case fieldpath.String:
				dst = v.Str(dst)
			case fieldpath.Number:
				dst = append(dst, v.Raw...)
			}
			if len(dst) > start && headerSafe(dst[start:]) {
				return dst
			}
			dst = dst[:start]
		}
	}
	dst = append(dst, streamID...)
	dst = append(dst, '-')
	var sum [8]byte
	h := xxhash.Sum64(line)
	for i := range sum {
		sum[i] = byte(h >> (56 - 8*i))
	}
	return hex.AppendEncode(dst, sum[:])
}

// headerSafe reports whether v may be a header value: no control characters.
func headerSafe(v []byte) bool {
	for _, c := range v {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// classify turns a publishing failure into a classified error:
//   - a message over the server's max_payload, or over the stream's max_msg_size: TooLarge;
//   - a JetStream API error below 500 (such as a message bound for another stream than
//     stream_name): Permanent;
//   - no responders when no stream captures the subject (JetStream says so when asked):
//     Permanent;
//   - anything else (timeouts, a lost connection, no responders while the stream is
//     unavailable, API errors of 500 and above): Retryable.
func (s *Sink) classify(ctx context.Context, err error, subject, what string) error {
	err = fmt.Errorf("nats sink %q: subject %q: %s: %w", s.name, subject, what, err)
	var api *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		return sinks.TooLargeError(err)
	case errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum:
		return sinks.TooLargeError(err)
	case errors.As(err, &api) && api.Code < 500:
		return sinks.PermanentError(err)
	case errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders):
		lctx, cancel := context.WithTimeout(ctx, s.ackTimeout)
		defer cancel()
		if _, lerr := s.js.StreamNameBySubject(lctx, subject); errors.Is(lerr, jetstream.ErrStreamNotFound) {
			return sinks.PermanentError(fmt.Errorf("%w: no JetStream stream captures the subject", err))
		}
	}
	return err
}

// Close drains the connection (its pending publishes are flushed, for up to ack_timeout) and
// closes it. It is safe without Connect and safe twice.
func (s *Sink) Close(ctx context.Context) error {
	nc := s.nc
	if nc == nil {
		return nil
	}
	s.nc, s.js = nil, nil
	if nc.Drain() == nil {
		select {
		case <-s.closed:
		case <-ctx.Done():
		}
	}
	nc.Close() // after a finished drain, a no-op
	return nil
}
