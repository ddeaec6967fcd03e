// Package reqbody holds the request bodies of the HTTP sinks: pooled, built or gzipped in place,
// and safe when the transport still reads a body after RoundTrip returns (when the server
// answers before reading it all), because a body goes back to its pool only once its sender
// and every reader have let go of it.
package reqbody

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// Pool hands out Bodies. Its zero value is not usable: use New.
type Pool struct {
	closedErr error
	bodies    sync.Pool // *Body
	gzips     sync.Pool // *gzip.Writer
}

// New returns a pool whose readers name sinkType in their errors.
func New(sinkType string) *Pool {
	p := &Pool{closedErr: errors.New(sinkType + " sink: read of a closed request body")}
	p.bodies.New = func() any {
		b := &Body{pool: p}
		b.first.b = b
		b.GetBody = b.replay // bound once: a method value per request would allocate
		return b
	}
	p.gzips.New = func() any {
		zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
		return zw
	}
	return p
}

// Body is one request body. Bytes is what is sent; the sender fills it (Set, Gzip, or by
// appending) before handing out readers. GetBody goes in http.Request.GetBody.
type Body struct {
	Bytes   []byte
	GetBody func() (io.ReadCloser, error)

	pool      *Pool
	refs      atomic.Int32
	first     reader // handed out first, so that a request allocates no reader
	firstUsed bool
	gz        appendWriter
}

// Get returns a body held by the caller, who calls Release when done with it.
func (p *Pool) Get() *Body {
	b := p.bodies.Get().(*Body)
	b.Bytes = b.Bytes[:0]
	b.refs.Store(1)
	b.firstUsed = false
	return b
}

// Release drops the caller's hold; the body returns to its pool once no reader holds it either.
func (b *Body) Release() {
	if b.refs.Add(-1) == 0 {
		b.pool.bodies.Put(b)
	}
}

// Reader returns a reader of Bytes that holds the body until it is closed: the request's Body.
// The first one of a Get is embedded in the body and allocates nothing.
func (b *Body) Reader() io.ReadCloser {
	b.refs.Add(1)
	if !b.firstUsed {
		b.firstUsed = true
		b.first.off = 0
		b.first.closed.Store(false)
		return &b.first
	}
	return &reader{b: b}
}

// replay is GetBody: the transport calls it during RoundTrip to send the body again on a fresh
// connection.
func (b *Body) replay() (io.ReadCloser, error) {
	b.refs.Add(1)
	return &reader{b: b}, nil
}

// Set makes Bytes a copy of raw: the caller's buffer may be reused once the sender returns,
// while the transport may still be reading the body.
func (b *Body) Set(raw []byte) { b.Bytes = append(b.Bytes[:0], raw...) }

// Fill makes Bytes raw, gzipped when gzipped is set: the body of a sink whose compression is
// gzip or none.
func (b *Body) Fill(raw []byte, gzipped bool) {
	if gzipped {
		b.Gzip(raw)
	} else {
		b.Set(raw)
	}
}

// Gzip makes Bytes raw compressed with gzip.
func (b *Body) Gzip(raw []byte) {
	zw := b.pool.gzips.Get().(*gzip.Writer)
	b.gz.b = b.Bytes[:0]
	zw.Reset(&b.gz)
	_, _ = zw.Write(raw) // writes to an appendWriter cannot fail, so neither can gzip's
	_ = zw.Close()
	b.Bytes = b.gz.b
	b.pool.gzips.Put(zw)
}

type reader struct {
	b      *Body
	off    int
	closed atomic.Bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, r.b.pool.closedErr
	}
	if r.off >= len(r.b.Bytes) {
		return 0, io.EOF
	}
	n := copy(p, r.b.Bytes[r.off:])
	r.off += n
	return n, nil
}

// Close drops the reader's hold on the body, once.
func (r *reader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.b.Release()
	}
	return nil
}

// appendWriter is an io.Writer appending to a reused slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
