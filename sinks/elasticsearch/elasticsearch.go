// Package elasticsearch is the "elasticsearch" sink: it writes batches to Elasticsearch,
// OpenSearch or anything speaking their bulk API (VictoriaLogs at /insert/elasticsearch/_bulk).
//
// Each batch is one bulk request: per event an action line (index or create, with _index from
// the index template and an optional _id) and the event. With the data_stream option the
// target is a data stream, the action create and each event gets an "@timestamp" member. The
// answer is read per item: items refused for load (429, 5xx) are sent again alone, up to
// maxRounds times with a short pause; items refused for good (other 4xx, such as mapping
// errors) are reported with sinks.RefusedLinesWithReasons, each with its own reason, so the
// engine dead-letters just them. When load refusals outlast the rounds the batch fails as
// retryable and the engine sends all of it again: set id_field so that re-sent events replace
// (index) or are skipped as existing (create) rather than duplicated. Requests go to the urls
// in turn.
package elasticsearch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/httpanswer"
	"github.com/ingestd/ingestd/sinks/internal/reqbody"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Concurrency is how many batches one sink sends at once.
const Concurrency = 4

const (
	// maxRounds is how many times items refused for load are sent again within WriteBatch.
	maxRounds = 3
	// firstPause is the pause before the first re-send; it doubles each round.
	firstPause = 100 * time.Millisecond
	// answerMax bounds a bulk response read into memory (about 100 bytes per item).
	answerMax = 64 << 20
	// excerptMax bounds how much of a refused request's body goes into an error.
	excerptMax = 512
	// reasonsMax is how many refused items' reasons an error names.
	reasonsMax = 5
)

func init() {
	sinks.MustRegister(sinks.Typed("elasticsearch", Concurrency, NewOptions, New))
}

// Sink writes batches with the bulk API. WriteBatch may run on up to Concurrency goroutines.
type Sink struct {
	name    string
	urls    []*url.URL // each with the bulk path and query in place; shared read-only
	next    atomic.Uint32
	index   []part
	hasDate bool
	action  string
	dsName  bool // the index names a data stream; documents get "@timestamp"
	lookups lookups
	gzip    bool
	header  http.Header // shared read-only
	timeout time.Duration
	tlsOpts *TLS
	secrets []string
	pause   time.Duration // firstPause; tests shorten it
	tr      tlsfiles.Pool
	bodies  *reqbody.Pool
	scratch sync.Pool // *work
}

// work is one WriteBatch's reusable state.
type work struct {
	events  [][]byte
	pending []int // the lines to send in this round
	retry   []int
	raw     []byte // the bulk body before compression
	answer  []byte
	parsed  bulkAnswer
	vals    []fieldpath.Value // one event's members, by the slots of Sink.lookups
}

// refusal is one item refused for good.
type refusal struct {
	line   int
	status int
	why    string
}

// New returns a sink named name; it fails when opts do not validate. It does no I/O.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("elasticsearch sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	s := &Sink{
		name:    name,
		action:  opts.Action,
		dsName:  opts.DataStream != nil,
		gzip:    opts.Compression == CompressionGzip,
		header:  http.Header{"User-Agent": {"ingestd"}, "Content-Type": {"application/x-ndjson"}},
		timeout: opts.Timeout,
		tlsOpts: opts.TLS,
		pause:   firstPause,
	}
	index := opts.Index
	switch {
	case s.dsName:
		index, s.action = opts.DataStream.name(), ActionCreate
	case index == "":
		index = DefaultIndex
	}
	if s.action == "" {
		s.action = DefaultAction
	}
	s.index, _ = parseIndex(index)
	for _, p := range s.index {
		s.hasDate = s.hasDate || p.kind == partDate
	}
	var idField *fieldpath.Path
	if opts.IDField != "" {
		idField, _ = fieldpath.Parse(opts.IDField)
	}
	s.lookups = newLookups(s.hasDate, s.dsName, idField)
	q := url.Values{}
	for k, v := range opts.Query {
		q.Set(k, v)
	}
	for _, raw := range opts.URLs {
		u, _ := parseURL(raw)
		if u.User != nil && opts.Auth == nil {
			pw, _ := u.User.Password()
			s.setAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)))
			s.secrets = append(s.secrets, pw)
		}
		u.User = nil // out of every message
		u.Path = opts.Path
		u.RawQuery = q.Encode()
		s.urls = append(s.urls, u)
	}
	if s.gzip {
		s.header.Set("Content-Encoding", "gzip")
	}
	for k, v := range opts.Headers {
		s.header.Set(k, v)
		s.secrets = append(s.secrets, v) // header values may be credentials
	}
	if a := opts.Auth; a != nil {
		switch {
		case a.Basic != nil:
			s.setAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(a.Basic.User+":"+a.Basic.Password)))
			s.secrets = append(s.secrets, a.Basic.Password)
		case a.APIKey != "":
			s.setAuth("ApiKey " + a.APIKey)
		default:
			s.setAuth("Bearer " + a.Bearer)
		}
	}
	s.bodies = reqbody.New("elasticsearch")
	s.scratch.New = func() any { return new(work) }
	return s, nil
}

func (s *Sink) setAuth(v string) {
	s.header.Set("Authorization", v)
	s.secrets = append(s.secrets, v, v[strings.IndexByte(v, ' ')+1:])
}

// Connect builds the transport, reading the TLS files; it does not contact the cluster.
func (s *Sink) Connect(context.Context) error {
	if err := s.tr.Open(s.tlsOpts, s.timeout, len(s.urls), Concurrency); err != nil {
		return fmt.Errorf("elasticsearch sink %q: %w", s.name, err)
	}
	return nil
}

// Close drops idle connections; a later batch dials again.
func (s *Sink) Close(context.Context) error {
	s.tr.Close()
	return nil
}

// WriteBatch sends b as one bulk request, then sends again alone the items refused for load.
// Its error is classified for the engine (see the package doc).
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	if s.tr.Transport == nil {
		return fmt.Errorf("elasticsearch sink %q: WriteBatch before Connect", s.name)
	}
	w := s.scratch.Get().(*work)
	defer s.scratch.Put(w)
	w.events = splitLines(w.events[:0], b.Data)
	w.pending = w.pending[:0]
	for i := range w.events {
		w.pending = append(w.pending, i)
	}
	var fallback string
	if s.hasDate {
		fallback = dayOf(b.ReceivedAt)
	}
	var refused []refusal // allocated only when some item is refused for good
	pause := s.pause
	for round := 0; ; round++ {
		w.raw = w.raw[:0]
		s.appendBulk(w, w.pending, b, fallback)
		if err := s.post(ctx, w); err != nil {
			return err
		}
		w.retry = w.retry[:0]
		lastTransient := ""
		if w.parsed.Errors {
			if len(w.parsed.Items) != len(w.pending) {
				return fmt.Errorf("elasticsearch sink %q: bulk response has %d items for %d events", s.name, len(w.parsed.Items), len(w.pending))
			}
			for i := range w.parsed.Items {
				r := w.parsed.Items[i].result()
				line := w.pending[i]
				switch {
				case r == nil:
					return fmt.Errorf("elasticsearch sink %q: bulk response item %d has no %q result", s.name, i, s.action)
				case r.Status >= 200 && r.Status < 300, r.Status == http.StatusConflict:
					// 409: a create of an _id that exists, so an earlier try delivered it.
				case r.Status == http.StatusTooManyRequests || r.Status >= 500:
					w.retry = append(w.retry, line)
					lastTransient = fmt.Sprintf("status %d: %s", r.Status, reason(r.Error))
				default:
					refused = append(refused, refusal{line, r.Status, reason(r.Error)})
				}
			}
		}
		if len(w.retry) == 0 {
			break
		}
		if round == maxRounds {
			return fmt.Errorf("elasticsearch sink %q: %d of %d events still refused for load after %d re-sends (last: %s)",
				s.name, len(w.retry), len(w.events), maxRounds, lastTransient)
		}
		w.pending, w.retry = w.retry, w.pending
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause *= 2
	}
	if len(refused) == 0 {
		return nil
	}
	return s.refusedError(refused, len(w.events))
}

// refusedError reports the items refused for good: each line with its own reason, and one
// message naming the first reasonsMax of them.
func (s *Sink) refusedError(refused []refusal, events int) error {
	// Later rounds may refuse smaller lines than earlier ones did.
	slices.SortFunc(refused, func(a, b refusal) int { return a.line - b.line })
	lines := make([]int, len(refused))
	reasons := make([]string, len(refused))
	var msg strings.Builder
	fmt.Fprintf(&msg, "elasticsearch sink %q: %d of %d events refused: ", s.name, len(refused), events)
	for i, r := range refused {
		lines[i], reasons[i] = r.line, r.why
		switch {
		case i < reasonsMax:
			if i > 0 {
				msg.WriteString("; ")
			}
			fmt.Fprintf(&msg, "line %d: status %d: %s", r.line, r.status, r.why)
		case i == reasonsMax:
			fmt.Fprintf(&msg, "; and %d more", len(refused)-reasonsMax)
		}
	}
	return sinks.RefusedLinesWithReasons(errors.New(msg.String()), lines, reasons)
}

// post sends w.raw to the next url and leaves a 2xx answer parsed in w.parsed; any other
// outcome is returned as a classified error.
func (s *Sink) post(ctx context.Context, w *work) error {
	u := s.urls[int(s.next.Add(1)-1)%len(s.urls)]
	target := u.Host + u.Path
	b := s.bodies.Get()
	b.Fill(w.raw, s.gzip)
	reqCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        s.header,
		Body:          b.Reader(),
		GetBody:       b.GetBody,
		ContentLength: int64(len(b.Bytes)),
	}).WithContext(reqCtx)
	resp, err := s.tr.RoundTrip(req) // closes the body, which drops its hold on b
	b.Release()
	if err != nil {
		if ctx.Err() == nil && reqCtx.Err() != nil {
			err = fmt.Errorf("no answer within the %v timeout: %w", s.timeout, err)
		}
		return fmt.Errorf("elasticsearch sink %q: POST %s: %w", s.name, target, err)
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		w.answer, err = readAll(w.answer[:0], resp.Body, answerMax)
		if err == nil {
			err = parseAnswer(w.answer, &w.parsed)
		}
		if err != nil {
			return fmt.Errorf("elasticsearch sink %q: POST %s: %w", s.name, target, err)
		}
		return nil
	}
	excerpt, _ := readAll(nil, resp.Body, excerptMax+1)
	msg := fmt.Sprintf("elasticsearch sink %q: POST %s: %s", s.name, target, resp.Status)
	if len(excerpt) > 0 {
		msg += ": " + s.mask(clip(string(excerpt), excerptMax))
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // so the connection can be reused
	return httpanswer.Classify(code, resp.Header.Get("Retry-After"), time.Now(), errors.New(msg))
}

// mask hides configured secrets a server may echo back.
func (s *Sink) mask(msg string) string {
	for _, sec := range s.secrets {
		if len(sec) >= 4 {
			msg = strings.ReplaceAll(msg, sec, "***")
		}
	}
	return msg
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
			return dst[:limit], fmt.Errorf("response longer than %d bytes", limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
