// Package bench measures ingestd's ingest path end to end and compares it with Baseline, the
// ingest service a typical Go team would write with net/http and encoding/json. The benchmarks
// and the allocation test live in this package's test files; Baseline is exported so that the
// load test can serve it over a real socket too.
package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync/atomic"
	"time"
)

// Limits Baseline applies, the defaults of SPEC §1.
const (
	baselineMaxBody   = 1 << 20
	baselineMaxEvents = 10000
	baselineQueue     = 4096 // stored lines waiting for the writer
)

// receivedLayout matches the engine's received_at: RFC 3339, UTC, always nine fraction digits.
const receivedLayout = "2006-01-02T15:04:05.000000000Z"

// Baseline answers POST /v1/streams/ingest for one token and one stream the straightforward
// way: read the body, decode every event into a map, validate it, add the fields ingestd adds,
// marshal it back and queue the line for a single writer goroutine. Content-Encoding gzip is
// supported; zstd and deflate are not (415). It has no nesting limit beyond encoding/json's.
type Baseline struct {
	token    string
	streamID string

	out      io.Writer
	lines    chan []byte
	accepted atomic.Int64 // events queued for the writer
	written  atomic.Int64 // events the writer has written
	done     chan struct{}
}

// NewBaseline starts a Baseline that accepts `Authorization: Bearer <token>` for the stream
// streamID, and its writer goroutine, which writes to io.Discard until Close.
func NewBaseline(token, streamID string) *Baseline {
	return newBaseline(token, streamID, io.Discard)
}

// newBaseline is NewBaseline writing to out, which only the writer goroutine touches until
// Close returns.
func newBaseline(token, streamID string, out io.Writer) *Baseline {
	b := &Baseline{
		token:    token,
		streamID: streamID,
		out:      out,
		lines:    make(chan []byte, baselineQueue),
		done:     make(chan struct{}),
	}
	go b.write()
	return b
}

func (b *Baseline) write() {
	defer close(b.done)
	for line := range b.lines {
		_, _ = b.out.Write(line) // io.Discard or a test's bytes.Buffer: cannot fail
		b.written.Add(1)
	}
}

// Count returns how many events the writer has written.
func (b *Baseline) Count() int64 { return b.written.Load() }

// Wait returns once the writer has written every event accepted so far.
func (b *Baseline) Wait() {
	for b.written.Load() < b.accepted.Load() {
		time.Sleep(50 * time.Microsecond)
	}
}

// Close stops the writer after it has written every queued event. ServeHTTP must not be called
// after Close.
func (b *Baseline) Close() {
	close(b.lines)
	<-b.done
}

type acceptedBody struct {
	Status        string `json:"status"`
	IngestedBytes int    `json:"ingested_bytes"`
	StreamID      string `json:"stream_id"`
	Events        int    `json:"events"`
}

type errorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
}

// requestError is a rejection: the HTTP status, the SPEC's error code and a sentence.
type requestError struct {
	status int
	code   string
	detail string
}

func reject(status int, code, format string, args ...any) *requestError {
	return &requestError{status: status, code: code, detail: fmt.Sprintf(format, args...)}
}

// ServeHTTP answers one ingest request.
func (b *Baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	events, size, re := b.read(w, r)
	if re != nil {
		if re.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeJSON(w, re.status, errorBody{Error: re.code, Detail: re.detail})
		return
	}

	received := now.UTC().Format(receivedLayout)
	lines := make([][]byte, 0, len(events))
	for _, ev := range events {
		ev["stream_id"] = b.streamID
		ev["received_at"] = received
		if _, ok := ev["timestamp"]; !ok {
			ev["timestamp"] = received
		}
		// Every value came from json.Unmarshal or is a string, so Marshal cannot fail.
		line, _ := json.Marshal(ev)
		lines = append(lines, append(line, '\n'))
	}
	b.accepted.Add(int64(len(lines)))
	for _, line := range lines {
		b.lines <- line
	}
	writeJSON(w, http.StatusOK, acceptedBody{Status: "accepted", IngestedBytes: size, StreamID: b.streamID, Events: len(events)})
}

// read checks the request's headers, reads and decodes its body and validates every event. It
// returns the events and the decoded body's size.
func (b *Baseline) read(w http.ResponseWriter, r *http.Request) ([]map[string]any, int, *requestError) {
	if r.Method != http.MethodPost {
		return nil, 0, reject(http.StatusMethodNotAllowed, "method_not_allowed", "events are sent with POST")
	}
	if r.Header.Get("Authorization") != "Bearer "+b.token {
		return nil, 0, reject(http.StatusUnauthorized, "unauthorized", "the bearer token is missing or not valid")
	}
	sid := r.Header.Get("X-Stream-Id")
	if sid == "" {
		return nil, 0, reject(http.StatusBadRequest, "missing_stream_id", "the X-Stream-Id header is required")
	}
	// The token may write to one stream, so any other id is forbidden, as for a scoped token.
	if sid != b.streamID {
		return nil, 0, reject(http.StatusForbidden, "forbidden", "this token may not write to stream %q", sid)
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" && mediaType != "application/x-ndjson" {
		return nil, 0, reject(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type must be application/json or application/x-ndjson")
	}

	var body io.Reader = http.MaxBytesReader(w, r.Body, baselineMaxBody)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, 0, decodeError(err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, 0, reject(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Encoding must be gzip or absent; got %q", enc)
	}
	data, err := io.ReadAll(io.LimitReader(body, baselineMaxBody+1))
	if err != nil {
		return nil, 0, decodeError(err)
	}
	if len(data) > baselineMaxBody {
		return nil, 0, reject(http.StatusBadRequest, "payload_too_large",
			"the decompressed body is larger than %d bytes", baselineMaxBody)
	}

	var events []map[string]any
	var re *requestError
	if mediaType == "application/json" {
		events, re = decodeJSON(data)
	} else {
		events, re = decodeNDJSON(data)
	}
	if re != nil {
		return nil, 0, re
	}
	if len(events) > baselineMaxEvents {
		return nil, 0, reject(http.StatusBadRequest, "payload_too_large",
			"the request carries %d events; the limit is %d", len(events), baselineMaxEvents)
	}
	for i, ev := range events {
		if re := validate(ev); re != nil {
			re.detail = fmt.Sprintf("event %d: %s", i, re.detail)
			return nil, 0, re
		}
	}
	return events, len(data), nil
}

// decodeError classifies a body that could not be read: too large, or corrupt.
func decodeError(err error) *requestError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return reject(http.StatusBadRequest, "payload_too_large", "the body is larger than %d bytes", tooLarge.Limit)
	}
	return reject(http.StatusBadRequest, "invalid_json", "the body could not be decompressed: %v", err)
}

// decodeJSON decodes one object or an array of objects.
func decodeJSON(data []byte) ([]map[string]any, *requestError) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var events []map[string]any
		if err := json.Unmarshal(data, &events); err != nil {
			return nil, notObject("the body", err)
		}
		for i, ev := range events {
			if ev == nil {
				return nil, notObject(fmt.Sprintf("event %d", i), nil)
			}
		}
		return events, nil
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil || ev == nil {
		return nil, notObject("the body", err)
	}
	return []map[string]any{ev}, nil
}

// decodeNDJSON decodes one object per non-blank line.
func decodeNDJSON(data []byte) ([]map[string]any, *requestError) {
	var events []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), baselineMaxBody+1)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev == nil {
			return nil, notObject(fmt.Sprintf("line %d", line), err)
		}
		events = append(events, ev)
	}
	// No line is longer than the body, and the scanner's buffer holds the largest body, so
	// the scan cannot fail.
	return events, nil
}

// notObject rejects a value (what) that is not valid JSON (err) or not an object (err nil).
func notObject(what string, err error) *requestError {
	if err != nil {
		return reject(http.StatusBadRequest, "invalid_json", "%s is not valid JSON: %v", what, err)
	}
	return reject(http.StatusBadRequest, "invalid_json", "%s is not a JSON object", what)
}

// validate applies the field rules of SPEC §1 to one event.
func validate(ev map[string]any) *requestError {
	src, ok := ev["source"]
	if !ok {
		return reject(http.StatusBadRequest, "missing_field", "the 'source' field is required")
	}
	if s, _ := src.(string); s == "" {
		return reject(http.StatusBadRequest, "invalid_format", "the 'source' field must be a non-empty string")
	}
	data, ok := ev["event"]
	if !ok {
		return reject(http.StatusBadRequest, "missing_field", "the 'event' field is required")
	}
	if _, ok := data.(map[string]any); !ok {
		return reject(http.StatusBadRequest, "invalid_format", "the 'event' field must be a JSON object")
	}
	if ts, ok := ev["timestamp"]; ok {
		s, isString := ts.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !isString || err != nil {
			return reject(http.StatusBadRequest, "invalid_format", "The 'timestamp' field must be a valid ISO 8601 string.")
		}
	}
	if md, ok := ev["metadata"]; ok {
		if _, ok := md.(map[string]any); !ok {
			return reject(http.StatusBadRequest, "invalid_format", "the 'metadata' field must be a JSON object")
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v) // v is acceptedBody or errorBody: strings and ints only
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
