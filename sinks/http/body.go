package http

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// payload is one request body with the scratch space that builds it, taken from the sink's pool
// per WriteBatch. It goes back to the pool only when WriteBatch and every reader of the body
// are done with it: the transport may still be writing the body after RoundTrip returns (when the
// server answers before reading it all), so whoever lets go last returns it.
type payload struct {
	s       *Sink
	body    []byte       // what is sent
	tmp     []byte       // the JSON array before compression
	gz      appendWriter // gzip's output, appended to body
	refs    atomic.Int32 // WriteBatch, plus each body reader not yet closed
	first   bodyReader   // the request's Body; embedded so that a request allocates no reader
	getBody func() (io.ReadCloser, error)
	scratch [excerptMax + 1]byte // response excerpt (and one byte to see if it was cut); draining
}

func newPayload(s *Sink) *payload {
	p := &payload{s: s}
	p.first.p = p
	p.getBody = p.replay // bound once: a method value per request would allocate
	return p
}

// take prepares a pooled payload for a new request: WriteBatch and the first reader hold it.
func (s *Sink) take() *payload {
	p := s.payloads.Get().(*payload)
	p.first.off = 0
	p.first.closed.Store(false)
	p.refs.Store(2)
	return p
}

func (p *payload) release() {
	if p.refs.Add(-1) == 0 {
		p.s.payloads.Put(p)
	}
}

// replay is the request's GetBody: the transport calls it, during RoundTrip, to send the body again on
// a fresh connection (HTTP/2 GOAWAY, a keep-alive connection closed before anything was sent).
func (p *payload) replay() (io.ReadCloser, error) {
	p.refs.Add(1)
	return &bodyReader{p: p}, nil
}

var errBodyClosed = errors.New("http sink: read of a closed request body")

// bodyReader reads a payload's body; closing it (once) drops its hold on the payload.
type bodyReader struct {
	p      *payload
	off    int
	closed atomic.Bool
}

func (r *bodyReader) Read(b []byte) (int, error) {
	if r.closed.Load() {
		return 0, errBodyClosed
	}
	if r.off >= len(r.p.body) {
		return 0, io.EOF
	}
	n := copy(b, r.p.body[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.p.release()
	}
	return nil
}

// appendWriter is an io.Writer appending to a reused slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(b []byte) (int, error) {
	w.b = append(w.b, b...)
	return len(b), nil
}

// encode builds p.body from a batch's NDJSON in the sink's format and compression. It never
// keeps data: the batch's buffer belongs to the engine once WriteBatch returns, while the body
// may outlive it.
func (s *Sink) encode(p *payload, data []byte) {
	raw := data
	switch {
	case s.compression == CompressionNone && s.array:
		p.body = appendArray(p.body[:0], data)
		return
	case s.compression == CompressionNone:
		p.body = append(p.body[:0], data...)
		return
	case s.array:
		p.tmp = appendArray(p.tmp[:0], data)
		raw = p.tmp
	}
	if s.compression == CompressionZstd {
		p.body = s.zstd.EncodeAll(raw, p.body[:0])
		return
	}
	zw := s.gzips.Get().(*gzip.Writer)
	p.gz.b = p.body[:0]
	zw.Reset(&p.gz)
	// Writes to an appendWriter cannot fail, so neither can the compressor's.
	_, _ = zw.Write(raw)
	_ = zw.Close()
	p.body = p.gz.b
	s.gzips.Put(zw)
}

// appendArray appends NDJSON lines as one JSON array: each line's '\n' becomes the separating
// comma and the last one the closing bracket.
func appendArray(dst, data []byte) []byte {
	dst = append(dst, '[')
	start := len(dst)
	dst = append(dst, data...)
	rest := dst[start:]
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		rest[i] = ','
		rest = rest[i+1:]
	}
	if n := len(dst); n > start && dst[n-1] == ',' {
		dst[n-1] = ']'
		return dst
	}
	return append(dst, ']') // an empty batch, or a last line without its '\n'
}
