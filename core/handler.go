package core

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/ingestd/ingestd/core/apierr"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/ratelimit"
	"github.com/ingestd/ingestd/wal"
)

// IngestPath is the one ingest endpoint (SPEC §1).
const IngestPath = "/v1/streams/ingest"

// Handler serves the ingest API and the operations endpoints. It is exported so that a program
// embedding the engine can mount it in its own fasthttp server.
func (e *Engine) Handler(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case IngestPath:
		e.serveIngest(ctx)
	case "/healthz":
		if e.opsMethod(ctx) {
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString("ok\n")
		}
	case "/readyz":
		if e.opsMethod(ctx) {
			ctx.SetContentType("text/plain; charset=utf-8")
			if e.Ready() {
				ctx.SetBodyString("ready\n")
			} else {
				ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
				ctx.SetBodyString("not ready\n")
			}
		}
	case "/metrics":
		if e.opsMethod(ctx) {
			e.metricsHandler()(ctx)
		}
	default:
		writeError(ctx, apierr.NotFound, "there is nothing at this path; events go to POST "+IngestPath)
	}
}

func (e *Engine) opsMethod(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() || ctx.IsHead() {
		return true
	}
	ctx.Response.Header.Set("Allow", "GET, HEAD")
	writeError(ctx, apierr.MethodNotAllowed, "this endpoint answers GET only")
	return false
}

func (e *Engine) metricsHandler() fasthttp.RequestHandler {
	e.metricsOnce.Do(func() {
		e.metricsServe = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.met.reg, promhttp.HandlerOpts{}))
	})
	return e.metricsServe
}

// serveIngest answers one ingest request and records its outcome.
func (e *Engine) serveIngest(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	// Held before the draining check, so draining never misses a request that passed it.
	g := e.acquire()
	st, code, events := e.ingest(ctx, g, start)
	g.inflight.Add(-1)

	sm := e.unknown
	if st != nil {
		sm = st.met
	}
	sm.requests[code].Inc()
	if code != apierr.OK && events > 0 {
		sm.rejected[code].Add(float64(events))
	}
	e.met.duration.Observe(time.Since(start).Seconds())
}

// ingest runs the request through every check, hands it to a shard and writes the answer. It
// returns the stream (nil when unknown), the outcome and how many events the body held (as far
// as it was read).
func (e *Engine) ingest(ctx *fasthttp.RequestCtx, g *generation, now time.Time) (*stream, apierr.Code, int) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		return nil, writeError(ctx, apierr.MethodNotAllowed, "events are sent with POST"), 0
	}
	if e.draining.Load() {
		return nil, e.overloaded(ctx, "ingestd is shutting down; retry against another instance or after the restart"), 0
	}
	h := &ctx.Request.Header

	tk, code, detail := g.authenticate(h.Peek("Authorization"), now.UnixNano())
	if code != apierr.OK {
		return nil, writeError(ctx, code, detail), 0
	}
	sid := h.Peek("X-Stream-Id")
	if len(sid) == 0 {
		return nil, writeError(ctx, apierr.MissingStreamID, "the X-Stream-Id header is required: it names the stream the events are for"), 0
	}
	if !tk.all {
		if _, ok := tk.streams[string(sid)]; !ok {
			return nil, writeError(ctx, apierr.Forbidden, "this token may not write to stream "+quote(sid)), 0
		}
	}
	st := g.streams[string(sid)]
	if st == nil {
		return nil, writeError(ctx, apierr.StreamNotFound, "no stream has the id "+quote(sid)+"; check the X-Stream-Id header"), 0
	}
	if sr := st.blockedSink(); sr != nil {
		return st, e.overloaded(ctx, "sink "+quote([]byte(sr.name))+" is behind: its buffer (max_batches) is full; retry shortly"), 0
	}

	format, ok := parseContentType(h.ContentType())
	if !ok {
		return st, writeError(ctx, apierr.UnsupportedMediaType,
			"Content-Type must be application/json or application/x-ndjson; got "+quote(h.ContentType())), 0
	}
	enc, ok := decode.ParseEncoding(h.ContentEncoding())
	if !ok {
		return st, writeError(ctx, apierr.UnsupportedMediaType,
			"Content-Encoding must be gzip, zstd or deflate, or absent; got "+quote(h.ContentEncoding())), 0
	}
	sent := ctx.PostBody()
	if limit := e.server.MaxPayloadBytes; len(sent) > limit {
		return st, writeError(ctx, apierr.PayloadTooLarge, "the body is "+strconv.Itoa(len(sent))+
			" bytes; the limit (max_payload_bytes) is "+strconv.Itoa(limit)), 0
	}

	u := e.acquireUnit()
	var err error
	u.body, err = e.decomp.Decompress(u.body, sent, enc)
	queued := e.queued.Add(int64(len(u.body)))
	if err != nil {
		e.release(u)
		return st, writeAPIError(ctx, err), 0
	}
	if queued > int64(e.server.MaxQueueBytes) {
		e.release(u)
		return st, e.overloaded(ctx, "ingestd holds more than max_queue_bytes of unsent events; retry shortly"), 0
	}
	lim := decode.Limits{MaxEvents: e.server.MaxEventsPerRequest, MaxDepth: e.server.MaxDepth}
	u.scan.Fields = st.pipe.ScanFields()
	if err := u.scan.Scan(u.body, format, lim); err != nil {
		// The failing event is the last one indexed; a body broken before any event counts one.
		n := max(len(u.scan.Events), 1)
		e.release(u)
		return st, writeAPIError(ctx, err), n
	}
	n := len(u.scan.Events)
	if code, detail, wait := takeRate(tk, st, now.UnixNano(), n); code != apierr.OK {
		e.release(u)
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		return st, writeError(ctx, code, detail), n
	}
	if n == 0 {
		size := len(u.body)
		e.release(u)
		writeAccepted(ctx, size, st, 0)
		return st, apierr.OK, 0
	}

	u.stream = st
	u.token = tk
	u.stamp(now)
	var t *ticket
	switch {
	case st.ackDelivered:
		t = newTicket(true)
		u.ticket = t
	case st.ackDisk:
		var pos wal.Position
		var err error
		if u.record, pos, err = e.wal.appendRecord(u.record, u, format); err != nil {
			e.release(u)
			giveBack(tk, st, n)
			if errors.Is(err, wal.ErrFull) {
				return st, e.overloaded(ctx, "the write-ahead log is full (server.wal.max_bytes) until the sinks catch up; retry shortly"), n
			}
			e.log.Error("write-ahead log append failed", "stream", st.key, "err", err)
			return st, e.overloaded(ctx, "the write-ahead log could not be written; retry shortly"), n
		}
		u.ticket = e.wal.ticket(pos)
		e.wal.track(u.ticket)
		u.setID(e.wal.log.ID(), uint64(pos))
	}
	if !st.ackDisk {
		u.setID(e.instance, e.requests.Add(1))
	}
	size := len(u.body)
	if !g.enqueue(u) {
		if u.ticket != nil {
			u.ticket.appended() // no event will follow it: the log may move past it
		}
		e.release(u)
		giveBack(tk, st, n)
		return st, e.overloaded(ctx, "every shard queue is full; retry shortly or add shards (server.shards, server.queue_size)"), n
	}
	st.met.received.Add(float64(n))
	st.met.bytes.Add(float64(size))
	if t != nil {
		if code := e.awaitDelivery(ctx, t); code != apierr.OK {
			return st, code, 0 // accepted and counted so: not rejected, though the answer is 503
		}
	}
	writeAccepted(ctx, size, st, n)
	return st, apierr.OK, n
}

// awaitDelivery waits, for a stream with ack: delivered, until every sink the request's events
// route to has delivered them, and answers 503 when one could not or server.ack_timeout passed.
// The events were accepted either way: a client that retries may duplicate some.
func (e *Engine) awaitDelivery(ctx *fasthttp.RequestCtx, t *ticket) apierr.Code {
	timer := time.NewTimer(e.server.AckTimeout)
	defer timer.Stop()
	select {
	case <-t.done:
		if t.failed.Load() {
			return e.overloaded(ctx, "accepted but not delivered: "+t.failure.Load().(string))
		}
		return apierr.OK
	case <-timer.C:
		return e.overloaded(ctx, "accepted but not delivered within ack_timeout ("+e.server.AckTimeout.String()+
			"); delivery goes on, so a retry may duplicate events")
	}
}

// enqueue pushes u onto the next shard's ring, trying every shard once before giving up, so a
// single hot stream spreads over all shards and a full ring costs one extra try, not a wait.
func (g *generation) enqueue(u *unit) bool {
	n := uint32(len(g.shards))
	first := g.next.Add(1)
	for i := uint32(0); i < n; i++ {
		if g.shards[(first+i)%n].ring.TryPush(u) {
			return true
		}
	}
	return false
}

// authenticate finds the token of an Authorization header. Tokens are kept only as SHA-256
// digests: the presented token is hashed and its digest looked up, then compared in constant
// time. Timing can at most reveal how digests compare, which says nothing usable about tokens.
func (g *generation) authenticate(header []byte, now int64) (*token, apierr.Code, string) {
	const scheme = "bearer "
	if len(header) <= len(scheme) || !asciiEqualFold(header[:len(scheme)], scheme) {
		return nil, apierr.Unauthorized, "missing bearer token: send the header 'Authorization: Bearer <token>'"
	}
	secret := bytes.TrimSpace(header[len(scheme):])
	sum := sha256.Sum256(secret)
	tk := g.tokens[sum]
	if tk == nil || subtle.ConstantTimeCompare(sum[:], tk.digest[:]) != 1 {
		return nil, apierr.Unauthorized, "the bearer token is not valid"
	}
	if tk.expiresAt != 0 && now >= tk.expiresAt {
		return nil, apierr.Unauthorized, "the token " + quote([]byte(tk.name)) + " expired at " +
			time.Unix(0, tk.expiresAt).UTC().Format(time.RFC3339) + "; ask for a new one"
	}
	return tk, apierr.OK, ""
}

// takeRate charges n events to the token's and then the stream's bucket. When the stream
// refuses, the token gets its events back so that a refused request costs nothing.
func takeRate(tk *token, st *stream, now int64, n int) (apierr.Code, string, time.Duration) {
	if n == 0 {
		return apierr.OK, "", 0
	}
	if tk.limit != nil {
		if ok, wait := tk.limit.Take(now, n); !ok {
			return apierr.RateLimited, rateDetail("token "+quote([]byte(tk.name)), tk.limit, n, wait), wait
		}
	}
	if st.limit != nil {
		if ok, wait := st.limit.Take(now, n); !ok {
			if tk.limit != nil {
				tk.limit.Refund(n)
			}
			return apierr.RateLimited, rateDetail("stream "+quote([]byte(st.key)), st.limit, n, wait), wait
		}
	}
	return apierr.OK, "", 0
}

// giveBack returns a refused request's events to both buckets.
func giveBack(tk *token, st *stream, n int) {
	if tk.limit != nil {
		tk.limit.Refund(n)
	}
	if st.limit != nil {
		st.limit.Refund(n)
	}
}

func rateDetail(who string, b *ratelimit.Bucket, n int, wait time.Duration) string {
	if wait < 0 {
		return "the request carries " + strconv.Itoa(n) + " events but the " + who +
			" allows bursts of at most " + strconv.Itoa(b.Burst()) + "; send smaller batches"
	}
	return "the " + who + " is over its rate limit; retry after the Retry-After seconds or send fewer events"
}

func (e *Engine) overloaded(ctx *fasthttp.RequestCtx, detail string) apierr.Code {
	ctx.Response.Header.Set("Retry-After", "1")
	return writeError(ctx, apierr.Overloaded, detail)
}

// serverError answers what fasthttp rejects before the handler runs: bodies over the limit,
// oversized headers, timeouts and malformed requests.
func (e *Engine) serverError(ctx *fasthttp.RequestCtx, err error) {
	var code apierr.Code
	var detail string
	var small *fasthttp.ErrSmallBuffer
	var nerr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code, detail = apierr.PayloadTooLarge, "the body is larger than the limit (max_payload_bytes) of "+
			strconv.Itoa(e.server.MaxPayloadBytes)+" bytes"
	case errors.As(err, &small):
		code, detail = apierr.HeadersTooLarge, "the request headers are larger than max_header_bytes ("+
			strconv.Itoa(e.server.MaxHeaderBytes)+")"
	case errors.As(err, &nerr) && nerr.Timeout():
		code, detail = apierr.RequestTimeout, "the request was not received within read_timeout"
	default:
		code, detail = apierr.InvalidFormat, "malformed HTTP request: "+err.Error()
	}
	if lc, ok := ctx.Conn().(*lingerConn); ok {
		lc.linger.Store(true)
	}
	writeError(ctx, code, detail)
	e.unknown.requests[code].Inc()
}

func parseContentType(ct []byte) (decode.Format, bool) {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	switch {
	case asciiEqualFold(ct, "application/json"):
		return decode.JSON, true
	case asciiEqualFold(ct, "application/x-ndjson"):
		return decode.NDJSON, true
	}
	return 0, false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func writeAccepted(ctx *fasthttp.RequestCtx, size int, st *stream, n int) {
	var arr [256]byte
	b := append(arr[:0], `{"status":"accepted","ingested_bytes":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `,"stream_id":`...)
	b = append(b, st.idJSON...)
	b = append(b, `,"events":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.Response.AppendBody(b)
}

func writeAPIError(ctx *fasthttp.RequestCtx, err error) apierr.Code {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return writeError(ctx, ae.Code, ae.Detail)
	}
	return writeError(ctx, apierr.InvalidFormat, err.Error())
}

// writeError writes the SPEC's error body and returns code, so callers can report it.
func writeError(ctx *fasthttp.RequestCtx, code apierr.Code, detail string) apierr.Code {
	b := make([]byte, 0, 64+len(detail))
	b = append(b, `{"error":"`...)
	b = append(b, code.String()...)
	b = append(b, `","detail":`...)
	b = appendJSONString(b, detail)
	b = append(b, '}')
	ctx.SetStatusCode(code.Status())
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return code
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, so a detail that
// quotes a client's header can never break the response.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// quote renders a client-supplied value for a detail sentence, cut to a readable length.
func quote(v []byte) string {
	const max = 64
	if len(v) > max {
		return strconv.Quote(string(v[:max])) + "…"
	}
	return strconv.Quote(string(v))
}
