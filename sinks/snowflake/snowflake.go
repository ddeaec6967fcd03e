// Package snowflake is the "snowflake_streaming" sink: it writes batches into a Snowflake table
// through the Snowpipe Streaming REST API (high-performance architecture).
//
// The sink signs a key-pair JWT, asks the account for its ingest host (GET
// /v2/streaming/hostname) and exchanges the JWT there for a scoped token (POST /oauth/token).
// Each engine shard writes through its own channel, "<channel_prefix>-<shard>", opened on first
// use (PUT .../channels/{name}); its continuation token chains the append-rows requests (POST
// /v2/streaming/data/.../rows), whose bodies are the batch's NDJSON lines, gzipped if asked and
// cut at line boundaries to at most 16 MB. A batch carrying an engine checkpoint sends it as
// the offset token, and Resume reads the highest one the channels have committed
// (:bulk-channel-status), so a restart does not replay what Snowflake already holds.
//
// The request and answer shapes follow Snowflake's REST reference and tutorial; the error codes
// that call for a channel reopen come from public client code, not from Snowflake's reference.
// Undocumented and assumed: the scoped token's lifetime (tokenLifetime) and that one bulk
// channel status request may name ResumeShards channels. All of it was checked against an
// in-process stand-in of the service, not a live account.
package snowflake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/httpanswer"
	"github.com/ingestd/ingestd/sinks/internal/reqbody"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Type is the sink's config `type:`.
const Type = "snowflake_streaming"

const (
	// Concurrency is one: a channel's appends must follow each other in order, and one writer
	// keeps every shard's batches in the order the engine built them.
	Concurrency = 1
	// MaxRequestBytes bounds an append-rows body before compression; Snowflake takes at most
	// 16 MB per request.
	MaxRequestBytes = 16_000_000
	// ResumeShards is how many channels Resume reads: those of shards 0 to ResumeShards-1.
	ResumeShards = 64
	// tokenLifetime is how long a scoped token is reused before a fresh exchange; a 401 renews
	// it sooner.
	tokenLifetime = 50 * time.Minute
	// answerMax bounds an answer read into memory.
	answerMax = 1 << 20
	// excerptMax bounds how much of an error answer goes into an error.
	excerptMax = 512
)

// reopenCodes are the error codes after which a channel must be opened again before it takes
// rows: its continuation token or sequencer is stale, or the channel was invalidated.
var reopenCodes = map[string]bool{
	"STALE_CONTINUATION_TOKEN_SEQUENCER":              true,
	"ERR_CHANNEL_MUST_BE_REOPENED":                    true,
	"ERR_CHANNEL_MUST_BE_REOPENED_DUE_TO_ROW_SEQ_GAP": true,
	"ERR_CHANNEL_HAS_INVALID_CLIENT_SEQUENCER":        true,
	"ERR_CHANNEL_HAS_INVALID_ROW_SEQUENCER":           true,
	"ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED": true,
	"STALE_PIPE_CACHE":                                true,
}

func init() {
	sinks.MustRegister(sinks.Typed(Type, Concurrency, NewOptions, New))
}

// Sink writes batches through Snowpipe Streaming channels. WriteBatch and Resume take turns.
type Sink struct {
	name     string
	base     *url.URL // the account URL: hostname discovery and token exchange
	database string
	schema   string
	pipe     string
	prefix   string
	gzip     bool
	timeout  time.Duration
	tlsOpts  *TLS
	signer   *signer
	maxBody  int              // MaxRequestBytes; tests lower it
	now      func() time.Time // time.Now; tests move it

	tr tlsfiles.Pool

	mu       sync.Mutex // everything below
	ingest   *url.URL   // scheme and ingest host, once discovered
	token    string     // the scoped token
	tokenExp time.Time
	channels map[int]*channel
	answer   []byte

	bodies *reqbody.Pool
}

// channel is one shard's open channel.
type channel struct {
	name      string
	path, raw string // the append-rows path, plain and escaped
	cont      string // the continuation token for the next append
}

// New returns a sink named name; it fails when opts do not validate. It does no I/O beyond
// reading the key and TLS files.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("%s sink %q: invalid options: %s", Type, name, strings.Join(msgs, "; "))
	}
	key, err := loadKey(opts.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s sink %q: private_key_file: %w", Type, name, err)
	}
	sg, err := newSigner(opts.Account, opts.User, key)
	if err != nil {
		return nil, fmt.Errorf("%s sink %q: private_key_file: %w", Type, name, err)
	}
	s := &Sink{
		name:     name,
		base:     opts.baseURL(),
		database: opts.Database,
		schema:   opts.Schema,
		pipe:     opts.pipe(),
		prefix:   opts.ChannelPrefix,
		gzip:     opts.Compression == CompressionGzip,
		timeout:  opts.Timeout,
		tlsOpts:  opts.TLS,
		signer:   sg,
		maxBody:  MaxRequestBytes,
		now:      time.Now,
		channels: map[int]*channel{},
	}
	s.bodies = reqbody.New(Type)
	return s, nil
}

// Connect builds the transport, reading the TLS files; it does not contact Snowflake, so an
// unreachable account does not stop ingestd from starting.
func (s *Sink) Connect(context.Context) error {
	// Two hosts: the account's and the ingest host.
	if err := s.tr.Open(s.tlsOpts, s.timeout, 2, 4); err != nil {
		return fmt.Errorf("%s sink %q: %w", Type, s.name, err)
	}
	return nil
}

// Close drops idle connections. Channels stay open at Snowflake; a restart reopens them.
func (s *Sink) Close(context.Context) error {
	s.tr.Close()
	return nil
}

// WriteBatch appends b's lines to its shard's channel, in requests of at most MaxRequestBytes.
// A line longer than that on its own is refused (sinks.RefusedLines) and the others are sent.
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	if s.tr.Transport == nil {
		return fmt.Errorf("%s sink %q: WriteBatch before Connect", Type, s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.channel(ctx, b.Shard)
	if err != nil {
		return err
	}
	// Every chunk may carry the checkpoint: it vouches only for requests delivered before this
	// batch. Its hex digits need no escaping.
	offset := b.Checkpoint
	var refused []int
	for pos := 0; pos < len(b.Data); {
		n, tooLong := nextChunk(b.Data[pos:], s.maxBody)
		if tooLong {
			refused = append(refused, bytes.Count(b.Data[:pos], []byte{'\n'}))
		} else if err := s.appendRows(ctx, b.Shard, ch, b.Data[pos:pos+n], offset); err != nil {
			return err
		}
		pos += n
	}
	if len(refused) > 0 {
		return sinks.RefusedLines(fmt.Errorf("%s sink %q: %d events longer than the %d-byte request limit",
			Type, s.name, len(refused), s.maxBody), refused)
	}
	return nil
}

// nextChunk returns the length of the next request's lines at the start of rest: as many whole
// lines as fit in limit bytes. tooLong says the first line alone exceeds limit; n is then its
// length, to skip it.
func nextChunk(rest []byte, limit int) (n int, tooLong bool) {
	if len(rest) <= limit {
		return len(rest), false
	}
	if i := bytes.LastIndexByte(rest[:limit], '\n'); i >= 0 {
		return i + 1, false
	}
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		return i + 1, true
	}
	return len(rest), true
}

// appendRows sends one request's lines and keeps the continuation token of the answer.
func (s *Sink) appendRows(ctx context.Context, shard int, ch *channel, lines []byte, offset string) error {
	p := s.bodies.Get()
	defer p.Release()
	p.Fill(lines, s.gzip) // a copy: the request never reads the engine's batch after WriteBatch
	q := "continuationToken=" + url.QueryEscape(ch.cont)
	if offset != "" {
		q += "&offsetToken=" + url.QueryEscape(offset)
	}
	r, err := s.call(ctx, http.MethodPost, ch.path, ch.raw, q, "application/x-ndjson", s.gzip, p)
	if err != nil {
		return err
	}
	if r.code != http.StatusOK {
		return s.fail(ctx, "append rows to channel "+ch.name, r, shard)
	}
	var a struct {
		Next string `json:"next_continuation_token"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil || a.Next == "" {
		// The rows were taken but the chain is broken: reopen before the next append.
		delete(s.channels, shard)
		return fmt.Errorf("%s sink %q: append rows to channel %s: answer has no next_continuation_token", Type, s.name, ch.name)
	}
	ch.cont = a.Next
	return nil
}

// channel returns shard's open channel, opening it first if needed.
func (s *Sink) channel(ctx context.Context, shard int) (*channel, error) {
	if ch := s.channels[shard]; ch != nil {
		return ch, nil
	}
	name := s.prefix + "-" + strconv.Itoa(shard)
	path, raw := route("/v2/streaming/databases/", s.database, "/schemas/", s.schema, "/pipes/", s.pipe, "/channels/", name)
	p := s.bodies.Get()
	defer p.Release()
	p.Bytes = append(p.Bytes, "{}"...)
	r, err := s.call(ctx, http.MethodPut, path, raw, "", "application/json", false, p)
	if err != nil {
		return nil, err
	}
	if r.code != http.StatusOK {
		return nil, s.fail(ctx, "open channel "+name, r, -1)
	}
	var a struct {
		Next string `json:"next_continuation_token"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil || a.Next == "" {
		return nil, fmt.Errorf("%s sink %q: open channel %s: answer has no next_continuation_token", Type, s.name, name)
	}
	ch := &channel{name: name, cont: a.Next}
	ch.path, ch.raw = route("/v2/streaming/data/databases/", s.database, "/schemas/", s.schema, "/pipes/", s.pipe, "/channels/", name, "/rows")
	s.channels[shard] = ch
	return ch, nil
}

// Resume returns the highest offset token committed on the channels of shards 0 to
// ResumeShards-1, read with one bulk channel status request. Each token is a checkpoint of the
// whole sink (every request at or before it was delivered, whichever shard carried it), so the
// highest is the right one; reading a subset of the channels can only return a lower one, which
// replays more but loses nothing. Tokens that are not checkpoints (32 lowercase hex digits) were
// not written by ingestd and are skipped.
func (s *Sink) Resume(ctx context.Context) (string, error) {
	if s.tr.Transport == nil {
		return "", fmt.Errorf("%s sink %q: Resume before Connect", Type, s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, ResumeShards)
	for i := range names {
		names[i] = s.prefix + "-" + strconv.Itoa(i)
	}
	req, _ := json.Marshal(struct {
		Names []string `json:"channel_names"`
	}{names})
	path, raw := route("/v2/streaming/databases/", s.database, "/schemas/", s.schema, "/pipes/", s.pipe+":bulk-channel-status")
	p := s.bodies.Get()
	defer p.Release()
	p.Bytes = append(p.Bytes, req...)
	r, err := s.call(ctx, http.MethodPost, path, raw, "", "application/json", false, p)
	if err != nil {
		return "", err
	}
	if r.code != http.StatusOK {
		return "", s.fail(ctx, "bulk channel status", r, -1)
	}
	var a struct {
		Statuses map[string]struct {
			Offset *string `json:"last_committed_offset_token"`
		} `json:"channel_statuses"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil {
		return "", fmt.Errorf("%s sink %q: bulk channel status: unreadable answer: %v", Type, s.name, err)
	}
	var top string
	for got, st := range a.Statuses {
		if st.Offset != nil && ours(got, s.prefix) && isCheckpoint(*st.Offset) {
			top = max(top, *st.Offset) // checkpoints of one log compare as strings
		}
	}
	return top, nil
}

// isCheckpoint reports whether an offset token has the form of an engine checkpoint.
func isCheckpoint(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ours reports whether a channel name from an answer is "<prefix>-<shard>". Snowflake names
// are case-insensitive, and answers may spell them in upper case.
func ours(name, prefix string) bool {
	if len(name) <= len(prefix)+1 || !strings.EqualFold(name[:len(prefix)], prefix) || name[len(prefix)] != '-' {
		return false
	}
	n, err := strconv.Atoi(name[len(prefix)+1:])
	return err == nil && n >= 0 && n < ResumeShards
}

// route joins fixed path text (even arguments) and names (odd arguments), returning the plain
// path and the one with the names escaped.
func route(parts ...string) (plain, raw string) {
	var p, r strings.Builder
	for i, s := range parts {
		p.WriteString(s)
		if i%2 == 1 {
			r.WriteString(url.PathEscape(s))
		} else {
			r.WriteString(s)
		}
	}
	return p.String(), r.String()
}

// fail turns a non-2xx answer into a classified error. A code that invalidates the channel of
// shard (≥ 0) drops it and opens it again now, and the batch is retried; 429, 503, 413 and 5xx
// follow httpanswer.Classify; other 4xx, such as 400 for rows the pipe refuses, are permanent.
func (s *Sink) fail(ctx context.Context, op string, r reply, shard int) error {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.body, &e)
	text := string(r.body)
	if e.Code != "" || e.Message != "" {
		text = strings.TrimPrefix(e.Code+": "+e.Message, ": ")
	}
	msg := fmt.Sprintf("%s sink %q: %s: %d %s", Type, s.name, op, r.code, http.StatusText(r.code))
	if text != "" {
		msg += ": " + clip(text, excerptMax)
	}
	if shard >= 0 && reopenCodes[e.Code] {
		delete(s.channels, shard)
		if _, err := s.channel(ctx, shard); err != nil {
			return fmt.Errorf("%s; reopening the channel failed too: %w", msg, err)
		}
		return errors.New(msg + "; channel reopened, the batch will be sent again")
	}
	return httpanswer.Classify(r.code, r.retryAfter, s.now(), errors.New(msg))
}

// reply is an answer; body is valid until the next request.
type reply struct {
	code       int
	retryAfter string
	body       []byte
}

// call sends p to the ingest host with the scoped token. On a 401 it renews the token and sends
// once more: scoped tokens expire, and the answer to an expired one is the only notice.
func (s *Sink) call(ctx context.Context, method, path, raw, query, ctype string, gzipped bool, p *reqbody.Body) (reply, error) {
	for attempt := 0; ; attempt++ {
		if err := s.authorize(ctx, attempt > 0); err != nil {
			return reply{}, err
		}
		u := &url.URL{Scheme: s.ingest.Scheme, Host: s.ingest.Host, Path: path, RawPath: raw, RawQuery: query}
		h := http.Header{
			"Authorization": {"Bearer " + s.token},
			"Content-Type":  {ctype},
			"User-Agent":    {"ingestd"},
		}
		if gzipped {
			h["Content-Encoding"] = []string{"gzip"}
		}
		r, err := s.do(ctx, method, u, h, p)
		if err != nil || r.code != http.StatusUnauthorized || attempt > 0 {
			return r, err
		}
	}
}

// authorize makes sure a scoped token and the ingest host are at hand; renew forces a new
// JWT, host discovery and exchange.
func (s *Sink) authorize(ctx context.Context, renew bool) error {
	now := s.now()
	if !renew && s.token != "" && now.Before(s.tokenExp) {
		return nil
	}
	jwt, _, err := s.signer.sign(now)
	if err != nil {
		return fmt.Errorf("%s sink %q: signing the JWT: %w", Type, s.name, err)
	}
	bearer := http.Header{"Authorization": {"Bearer " + jwt}, "User-Agent": {"ingestd"}}

	h := bearer.Clone()
	h.Set("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
	h.Set("Accept", "application/json")
	u := *s.base
	u.Path = "/v2/streaming/hostname"
	r, err := s.do(ctx, http.MethodGet, &u, h, nil)
	if err != nil {
		return err
	}
	if r.code != http.StatusOK {
		return s.fail(ctx, "get the ingest hostname", r, -1)
	}
	host := field(r.body, "hostname")
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return fmt.Errorf("%s sink %q: get the ingest hostname: unusable answer %q", Type, s.name, clip(string(r.body), 100))
	}

	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "scope": {host}}.Encode()
	h = bearer.Clone()
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	u.Path = "/oauth/token"
	p := s.bodies.Get()
	defer p.Release()
	p.Bytes = append(p.Bytes, form...)
	r, err = s.do(ctx, http.MethodPost, &u, h, p)
	if err != nil {
		return err
	}
	if r.code != http.StatusOK {
		return s.fail(ctx, "exchange the JWT for a scoped token", r, -1)
	}
	tok := field(r.body, "token")
	if tok == "" || strings.ContainsFunc(tok, isControl) {
		return fmt.Errorf("%s sink %q: exchange the JWT for a scoped token: answer holds no token", Type, s.name)
	}
	s.ingest = &url.URL{Scheme: s.base.Scheme, Host: host}
	s.token, s.tokenExp = tok, now.Add(tokenLifetime)
	return nil
}

// field reads a string field of a JSON answer, or takes a plain-text answer whole: the
// reference documents JSON, the tutorial uses the answer as it comes.
func field(body []byte, name string) string {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return ""
		}
		v, _ := m[name].(string)
		return v
	}
	return strings.Trim(string(body), `"`)
}

// do sends one request and reads its answer into s.answer.
func (s *Sink) do(ctx context.Context, method string, u *url.URL, h http.Header, p *reqbody.Body) (reply, error) {
	reqCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := (&http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       u.Host,
	}).WithContext(reqCtx)
	if p != nil {
		req.Body = p.Reader()
		req.GetBody = p.GetBody
		req.ContentLength = int64(len(p.Bytes))
	}
	target := u.Host + u.Path
	resp, err := s.tr.RoundTrip(req)
	if err != nil {
		if ctx.Err() == nil && reqCtx.Err() != nil {
			err = fmt.Errorf("no answer within the %v timeout: %w", s.timeout, err)
		}
		return reply{}, fmt.Errorf("%s sink %q: %s %s: %w", Type, s.name, method, target, err)
	}
	defer resp.Body.Close()
	s.answer, err = readAll(s.answer[:0], resp.Body, answerMax)
	if err != nil {
		return reply{}, fmt.Errorf("%s sink %q: %s %s: reading the answer: %w", Type, s.name, method, target, err)
	}
	return reply{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: s.answer}, nil
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

// clip cuts s to at most n bytes on a character boundary and blanks control characters.
func clip(s string, n int) string {
	cut := len(s) > n
	if cut {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
	if cut {
		s += "..."
	}
	return s
}
