// Package http is the "http" sink: the generic webhook. It sends each batch as one request (POST
// or PUT) to a URL, as NDJSON or a JSON array, plain or compressed, and turns the answer into a
// classified error (sinks.Classify) so the engine knows whether to retry, wait, split the batch
// or give it up.
//
// Up to Concurrency batches are in flight at once, each on its own keep-alive connection (or
// stream, when TLS negotiates HTTP/2). Bodies are built in pooled buffers and compressed by
// pooled encoders, so a warm sink allocates only what net/http does per request. Redirects are
// not followed: a webhook that moved must be given its new url. Proxies are taken from
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
package http

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/reqbody"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Concurrency is how many batches one http sink sends at once: enough to hide a receiver's
// latency, few enough not to flood it.
const Concurrency = 4

func init() {
	sinks.MustRegister(sinks.Typed("http", Concurrency, NewOptions, New))
}

// minSecret is the shortest secret masked in response excerpts; masking shorter ones would
// blank out ordinary text.
const minSecret = 4

// Sink sends batches to one URL. WriteBatch may run on up to Concurrency goroutines at once;
// Connect and Close are not called concurrently with it.
type Sink struct {
	name        string
	url         *url.URL // shared read-only by every request
	target      string   // the url for messages, without a password
	method      string
	host        string      // a Host header from the options; "" for the url's
	header      http.Header // every request's headers, shared read-only
	array       bool
	compression string
	timeout     time.Duration
	tlsOpts     *TLS
	secrets     [][]byte // masked in response excerpts

	// tr's transport is built by Connect. WriteBatch calls its RoundTrip directly: an
	// http.Client would add redirects and cookies the sink does not want, and a copy of the
	// headers per request.
	tr tlsfiles.Pool

	zstd   *zstd.Encoder // safe for concurrent EncodeAll; it pools its own encoder states
	bodies *reqbody.Pool
	works  sync.Pool // *work
}

// New returns an http sink named name (the name appears in its errors). It fails when opts do
// not validate. It does no I/O: Connect reads the TLS files.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("http sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	u, _ := parseURL(opts.URL)
	s := &Sink{
		name:        name,
		method:      strings.ToUpper(opts.Method),
		header:      http.Header{"User-Agent": {"ingestd"}, "Content-Type": {"application/x-ndjson"}},
		array:       opts.Format == FormatJSONArray,
		compression: opts.Compression,
		timeout:     opts.Timeout,
		tlsOpts:     opts.TLS,
	}
	if s.array {
		s.header.Set("Content-Type", "application/json")
	}
	if s.compression != CompressionNone {
		s.header.Set("Content-Encoding", s.compression)
	}
	for k, v := range opts.Headers {
		k = http.CanonicalHeaderKey(k)
		if k == "Host" {
			s.host = v
			continue
		}
		s.header.Set(k, v)
		if credentialHeader(k) {
			s.addSecret(v)
		}
	}
	if a := opts.Auth; a != nil && a.Bearer != "" {
		s.header.Set("Authorization", "Bearer "+a.Bearer)
		s.addSecret(a.Bearer)
	} else if a != nil {
		s.setBasic(a.Basic.User, a.Basic.Password)
	}
	// Credentials in the url become the header here rather than per request in net/http, and
	// leave the url, so that error messages cannot show them.
	if u.User != nil {
		if s.header.Get("Authorization") == "" {
			pw, _ := u.User.Password()
			s.setBasic(u.User.Username(), pw)
		}
		u.User = nil
	}
	s.url, s.target = u, u.String()

	if s.compression == CompressionZstd {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(Concurrency))
		if err != nil {
			return nil, fmt.Errorf("http sink %q: %w", name, err)
		}
		s.zstd = enc
	}
	s.bodies = reqbody.New("http")
	s.works.New = func() any { return new(work) }
	return s, nil
}

func (s *Sink) setBasic(user, password string) {
	creds := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	s.header.Set("Authorization", "Basic "+creds)
	s.addSecret(password)
	s.addSecret(creds)
}

func (s *Sink) addSecret(v string) {
	if len(v) >= minSecret {
		s.secrets = append(s.secrets, []byte(v))
	}
}

// credentialHeader reports whether a header's name says it carries a credential.
func credentialHeader(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "signature", "password", "cookie"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// Connect builds the HTTP transport, reading the TLS files. It does not contact the receiver:
// it may be down at start, and deliveries retry.
func (s *Sink) Connect(context.Context) error {
	// Every worker keeps its connection to the one host between batches.
	if err := s.tr.Open(s.tlsOpts, s.timeout, 1, Concurrency); err != nil {
		return fmt.Errorf("http sink %q: %w", s.name, err)
	}
	return nil
}

// WriteBatch sends b as one request and waits for the answer. Its error is classified:
// 413 TooLarge, 429 and 503 with Retry-After Backoff, other 4xx and 3xx Permanent, and the
// rest (5xx, 408, network errors, timeouts) retryable.
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	tr := s.tr.Transport
	if tr == nil {
		return fmt.Errorf("http sink %q: WriteBatch before Connect", s.name)
	}
	reqCtx, cancel := context.WithTimeout(ctx, s.timeout) // until the answer's body is drained
	defer cancel()
	w := s.works.Get().(*work)
	defer s.works.Put(w)
	body := s.bodies.Get()
	s.encode(body, w, b.Data)
	req := (&http.Request{
		Method:        s.method,
		URL:           s.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        s.header,
		Body:          body.Reader(),
		GetBody:       body.GetBody,
		ContentLength: int64(len(body.Bytes)),
		Host:          s.host,
	}).WithContext(reqCtx)
	resp, err := tr.RoundTrip(req) // closes the body, on errors too, which releases its hold
	if err != nil {
		body.Release()
		if ctx.Err() == nil && reqCtx.Err() != nil {
			err = fmt.Errorf("no answer within the %v timeout: %w", s.timeout, err)
		}
		return fmt.Errorf("http sink %q: %s %s: %w", s.name, s.method, s.target, err)
	}
	err = s.result(resp, w)
	body.Release()
	return err
}

// Close drops the idle connections. The sink stays usable: a later batch dials again.
func (s *Sink) Close(context.Context) error {
	s.tr.Close()
	return nil
}
