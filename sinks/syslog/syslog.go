// Package syslog is the "syslog" sink: it sends every event of a batch as one syslog message
// (RFC 5424 or RFC 3164) to a server over TCP, TLS or UDP.
//
// A stream transport keeps one connection open between batches and writes a whole batch, framed
// by octet counting or by LF (RFC 6587), with one write from a pooled buffer. Any failure drops
// the connection and the batch is retried whole by the engine, so a batch cut short by a failed
// write is sent again in full: delivery is at least once. Syslog has no acknowledgements, so a
// server that goes away between batches is noticed before the next batch (the sink looks for
// the connection's end before writing) but a server that dies while reading a batch may lose
// part of it unnoticed. Over UDP every message is one datagram; a batch holding a message larger
// than MaxDatagram bytes is refused as too large before anything is sent.
package syslog

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

// MaxDatagram is the largest message sent over UDP: below the 65507-byte payload limit of an
// IPv4 datagram, with room to spare.
const MaxDatagram = 65000

func init() {
	sinks.MustRegister(sinks.Typed("syslog", 1, NewOptions, New))
}

// Sink sends batches to one syslog server. WriteBatch calls are not concurrent: messages keep
// their order on the one connection.
type Sink struct {
	name      string
	address   string
	transport string
	octets    bool // octet-counting framing on a stream transport
	timeout   time.Duration
	tlsOpts   *TLS
	tlsConfig *tls.Config // built by Connect
	connected bool        // Connect has run
	enc       *encoder

	conn   net.Conn
	closed closedCheck // of conn
	bufs   sync.Pool   // *buffer
}

// buffer holds one batch's encoded messages.
type buffer struct {
	out  []byte            // the messages with their framing
	msg  []byte            // the message being encoded
	ends []int             // for UDP: where each message ends in out
	vals []fieldpath.Value // field values of the event being encoded
}

// New returns a syslog sink named name (the name appears in its errors). It fails when opts do
// not validate. It does no I/O: Connect reads the TLS files and the first batch dials.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("syslog sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	enc, err := newEncoder(opts)
	if err != nil {
		return nil, fmt.Errorf("syslog sink %q: hostname: %w", name, err)
	}
	s := &Sink{
		name:      name,
		address:   opts.Address,
		transport: opts.Transport,
		octets:    opts.Framing == FramingOctetCounting,
		timeout:   opts.Timeout,
		tlsOpts:   opts.TLS,
		enc:       enc,
	}
	s.bufs.New = func() any { return &buffer{vals: make([]fieldpath.Value, enc.set.Len())} }
	return s, nil
}

// Connect reads the TLS files. It does not dial: the server may be down at start, and the
// first batch dials (and its failure is retried).
func (s *Sink) Connect(context.Context) error {
	if s.transport == TransportTLS {
		cfg, key, err := s.tlsOpts.Config()
		if err != nil {
			return fmt.Errorf("syslog sink %q: %s: %w", s.name, key, err)
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(s.address)
		}
		s.tlsConfig = cfg
	}
	s.connected = true
	return nil
}

// WriteBatch sends every line of b as one message. Failures to dial or write are retryable and
// drop the connection; a UDP message over MaxDatagram makes the batch TooLarge.
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	if !s.connected {
		return fmt.Errorf("syslog sink %q: WriteBatch before Connect", s.name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := s.bufs.Get().(*buffer)
	defer s.bufs.Put(buf)
	if err := s.encode(buf, b.Data); err != nil {
		return err
	}
	if s.conn != nil && s.closed.check(s.conn) {
		s.drop()
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return fmt.Errorf("syslog sink %q: dial %s %s: %w", s.name, s.transport, s.address, err)
		}
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	err := s.conn.SetWriteDeadline(deadline)
	if err == nil {
		err = s.write(buf)
	}
	if err != nil {
		s.drop()
		return fmt.Errorf("syslog sink %q: write to %s: %w", s.name, s.address, err)
	}
	return nil
}

// encode frames every line of data into buf.out.
func (s *Sink) encode(buf *buffer, data []byte) error {
	buf.out, buf.ends = buf.out[:0], buf.ends[:0]
	for len(data) > 0 {
		line := data
		if i := indexLF(data); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		buf.msg = s.enc.appendMessage(buf.msg[:0], line, buf.vals)
		switch {
		case s.transport == TransportUDP:
			if len(buf.msg) > MaxDatagram {
				return sinks.TooLargeError(fmt.Errorf("syslog sink %q: a message of %d bytes exceeds the %d-byte UDP limit",
					s.name, len(buf.msg), MaxDatagram))
			}
			buf.out = append(buf.out, buf.msg...)
			buf.ends = append(buf.ends, len(buf.out))
		case s.octets:
			buf.out = strconv.AppendInt(buf.out, int64(len(buf.msg)), 10)
			buf.out = append(buf.out, ' ')
			buf.out = append(buf.out, buf.msg...)
		default:
			buf.out = append(buf.out, buf.msg...)
			buf.out = append(buf.out, '\n')
		}
	}
	return nil
}

func indexLF(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// write sends buf: in one write on a stream, one datagram per message on UDP.
func (s *Sink) write(buf *buffer) error {
	if s.transport != TransportUDP {
		_, err := s.conn.Write(buf.out)
		return err
	}
	start := 0
	for _, end := range buf.ends {
		if _, err := s.conn.Write(buf.out[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (s *Sink) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}
	var (
		c   net.Conn
		err error
	)
	switch s.transport {
	case TransportTLS:
		c, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig}).DialContext(ctx, "tcp", s.address)
	case TransportUDP:
		c, err = d.DialContext(ctx, "udp", s.address)
	default:
		c, err = d.DialContext(ctx, "tcp", s.address)
	}
	if err != nil {
		return err
	}
	s.conn = c
	s.closed.reset(c)
	return nil
}

func (s *Sink) drop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// Close closes the connection. The sink stays usable: a later batch dials again.
func (s *Sink) Close(context.Context) error {
	s.drop()
	return nil
}
