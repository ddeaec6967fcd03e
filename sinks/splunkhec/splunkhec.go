// Package splunkhec is the "splunk_hec" sink: it sends batches to a Splunk HTTP Event Collector
// (Splunk Enterprise, Splunk Cloud, or anything speaking HEC's event endpoint).
//
// Each batch is one POST of concatenated JSON envelopes, one per event, with the event time,
// optional host/source/sourcetype/index and indexed fields taken from the event. HEC takes or
// refuses a request whole, so its answer classifies the whole batch for the engine. With
// indexer acknowledgement on, WriteBatch then polls the ack endpoint on the sink's channel and
// returns only once Splunk reports the batch indexed; an ack that does not come within the ack
// timeout fails the batch as retryable, and the engine's resend may duplicate events Splunk
// did index after all.
package splunkhec

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/reqbody"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Concurrency is how many batches one sink sends (and waits acks for) at once.
const Concurrency = 4

const (
	// answerMax bounds an answer read into memory; HEC's are a few dozen bytes.
	answerMax = 64 << 10
	// excerptMax bounds how much of an unexpected answer goes into an error.
	excerptMax = 512
)

func init() {
	sinks.MustRegister(sinks.Typed("splunk_hec", Concurrency, NewOptions, New))
}

// Sink writes batches to HEC. WriteBatch may run on up to Concurrency goroutines.
type Sink struct {
	name     string
	eventURL *url.URL // shared read-only
	ackURL   *url.URL
	env      *envelope
	gzip     bool
	ack      Ack
	header   http.Header // shared read-only; carries the token
	gzHeader http.Header // header plus Content-Encoding: gzip, for compressed event POSTs
	timeout  time.Duration
	tlsOpts  *TLS
	secrets  []string
	tr       tlsfiles.Pool
	bodies   *reqbody.Pool
	scratch  sync.Pool // *work
}

// work is one WriteBatch's reusable state.
type work struct {
	vals   []fieldpath.Value
	raw    []byte // the envelopes before compression
	answer []byte
	parsed answer
}

// New returns a sink named name; it fails when opts do not validate. It does no I/O.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("splunk_hec sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	base, _ := parseURL(opts.URL)
	eventURL, ackURL := *base, *base
	eventURL.Path, ackURL.Path = opts.Path, ackPath
	s := &Sink{
		name:     name,
		eventURL: &eventURL,
		ackURL:   &ackURL,
		env:      newEnvelope(opts),
		gzip:     opts.Compression == CompressionGzip,
		ack:      opts.Ack,
		header: http.Header{
			"User-Agent":    {"ingestd"},
			"Content-Type":  {"application/json"},
			"Authorization": {"Splunk " + opts.Token},
		},
		timeout: opts.Timeout,
		tlsOpts: opts.TLS,
		secrets: []string{opts.Token},
	}
	if s.ack.Enabled {
		channel := opts.Channel
		if channel == "" {
			channel = randomUUID()
		}
		s.header.Set("X-Splunk-Request-Channel", channel)
	}
	for k, v := range opts.Headers {
		s.header.Set(k, v)
		s.secrets = append(s.secrets, v) // header values may be credentials
	}
	s.gzHeader = s.header.Clone()
	s.gzHeader.Set("Content-Encoding", "gzip")
	s.bodies = reqbody.New("splunk_hec")
	s.scratch.New = func() any { return &work{vals: make([]fieldpath.Value, s.env.set.Len())} }
	return s, nil
}

// randomUUID returns a version 4 UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// Connect builds the transport, reading the TLS files; it does not contact Splunk.
func (s *Sink) Connect(context.Context) error {
	if err := s.tr.Open(s.tlsOpts, s.timeout, 1, Concurrency); err != nil {
		return fmt.Errorf("splunk_hec sink %q: %w", s.name, err)
	}
	return nil
}

// Close drops idle connections; a later batch dials again.
func (s *Sink) Close(context.Context) error {
	s.tr.Close()
	return nil
}

// WriteBatch sends b as one request and, with ack enabled, waits until Splunk has indexed it.
// Its error is classified for the engine.
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	if s.tr.Transport == nil {
		return fmt.Errorf("splunk_hec sink %q: WriteBatch before Connect", s.name)
	}
	w := s.scratch.Get().(*work)
	defer s.scratch.Put(w)
	w.raw = s.appendBatch(w.raw[:0], b.Data, w.vals, b.ReceivedAt)
	body := s.bodies.Get()
	body.Fill(w.raw, s.gzip)
	status, retryAfter, err := s.post(ctx, s.eventURL, body, w)
	body.Release()
	if err != nil {
		return err
	}
	what := fmt.Sprintf("splunk_hec sink %q: POST %s", s.name, s.eventURL.Redacted())
	perr := parseAnswer(w.answer, &w.parsed)
	if status < 200 || status >= 300 || perr == nil && w.parsed.code > codeSuccess {
		if perr != nil {
			w.parsed = answer{code: -1, invalid: -1}
		}
		return classify(status, &w.parsed, s.detail(&w.parsed, w.answer), retryAfter, what)
	}
	if !s.ack.Enabled {
		return nil
	}
	if perr != nil {
		return fmt.Errorf("%s: unreadable answer %s: %w", what, s.excerpt(w.answer), perr)
	}
	if !w.parsed.hasAck {
		// The token has indexer acknowledgement off: Splunk took the batch but will never
		// confirm it, so treat it as delivered rather than resend it forever.
		return nil
	}
	return s.awaitAck(ctx, w, w.parsed.ackID)
}

// appendBatch appends the envelopes of every NDJSON line of data.
func (s *Sink) appendBatch(dst, data []byte, vals []fieldpath.Value, receivedAt int64) []byte {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > 0 {
			dst = s.env.appendEvent(dst, line, vals, receivedAt)
		}
	}
	return dst
}

// awaitAck polls the ack endpoint until ackID is acknowledged or the ack timeout passes.
func (s *Sink) awaitAck(ctx context.Context, w *work, ackID uint64) error {
	deadline := time.Now().Add(s.ack.Timeout)
	timer := time.NewTimer(s.ack.PollInterval)
	defer timer.Stop()
	what := fmt.Sprintf("splunk_hec sink %q: POST %s", s.name, s.ackURL.Redacted())
	var last string
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		body := s.bodies.Get()
		body.Bytes = strconv.AppendUint(append(body.Bytes, `{"acks":[`...), ackID, 10)
		body.Bytes = append(body.Bytes, "]}"...)
		status, _, err := s.post(ctx, s.ackURL, body, w)
		body.Release()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = err.Error()
		case status == http.StatusOK:
			acked, perr := parseAcks(w.answer, ackID)
			if perr != nil {
				return fmt.Errorf("%s: unreadable answer %s: %w", what, s.excerpt(w.answer), perr)
			}
			if acked {
				return nil
			}
			last = "not yet indexed"
		case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests || status >= 500:
			last = fmt.Sprintf("%d %s", status, http.StatusText(status))
		default:
			// Resending settles it: the event POST meets the same refusal and says why.
			return fmt.Errorf("%s: %d %s: %s; ack %d unconfirmed, resending the batch", what, status, http.StatusText(status), s.excerpt(w.answer), ackID)
		}
		wait := s.ack.PollInterval
		if left := time.Until(deadline); left <= 0 {
			return fmt.Errorf("%s: ack %d not confirmed within the %v ack timeout (last: %s); resending the batch, which may duplicate events", what, ackID, s.ack.Timeout, last)
		} else if left < wait {
			wait = left
		}
		timer.Reset(wait)
	}
}

// post sends body to u and leaves the answer's body in w.answer. An error means no answer
// came; it is retryable.
func (s *Sink) post(ctx context.Context, u *url.URL, body *reqbody.Body, w *work) (status int, retryAfter string, err error) {
	reqCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	header := s.header
	if s.gzip && u == s.eventURL {
		header = s.gzHeader
	}
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          body.Reader(),
		GetBody:       body.GetBody,
		ContentLength: int64(len(body.Bytes)),
		Host:          u.Host,
	}).WithContext(reqCtx)
	resp, err := s.tr.RoundTrip(req) // closes the body, which drops its hold on it
	if err != nil {
		if ctx.Err() == nil && reqCtx.Err() != nil {
			err = fmt.Errorf("no answer within the %v timeout: %w", s.timeout, err)
		}
		return 0, "", fmt.Errorf("splunk_hec sink %q: POST %s: %w", s.name, u.Redacted(), err)
	}
	defer resp.Body.Close()
	w.answer, err = readAll(w.answer[:0], resp.Body, answerMax)
	if err != nil && (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return 0, "", fmt.Errorf("splunk_hec sink %q: POST %s: reading the answer: %w", s.name, u.Redacted(), err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// detail describes a refusal: HEC's code, text and invalid event, or a quote of a body that
// is not HEC's.
func (s *Sink) detail(a *answer, body []byte) string {
	var d string
	switch {
	case a.code >= 0:
		d = fmt.Sprintf("HEC code %d (%s)", a.code, s.mask(string(a.text)))
	case len(a.text) > 0:
		d = s.mask(string(a.text))
	case len(body) > 0:
		d = s.excerpt(body)
	}
	if a.invalid >= 0 {
		d += fmt.Sprintf(", at event %d of the request", a.invalid)
	}
	return d
}

// mask hides configured secrets a server may echo back, and mends invalid UTF-8.
func (s *Sink) mask(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	for _, sec := range s.secrets {
		if len(sec) >= 4 {
			msg = strings.ReplaceAll(msg, sec, "***")
		}
	}
	return msg
}

// excerpt is a bounded, secret-free quote of an answer for error messages.
func (s *Sink) excerpt(b []byte) string {
	msg := string(b[:min(len(b), excerptMax)])
	if len(b) > excerptMax {
		msg += "..."
	}
	return strconv.Quote(s.mask(msg))
}

// readAll appends r's content to dst, up to limit bytes; more is an error.
func readAll(dst []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):min(cap(dst), limit+1)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst[:limit], fmt.Errorf("answer longer than %d bytes", limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
