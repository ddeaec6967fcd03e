package core

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// lingerListener wraps accepted connections so that an error answer sent before the body was
// read (a body over max_payload_bytes, oversized headers) reaches the client. fasthttp closes
// such a connection with the body still unread; the kernel then answers with a reset and the
// client sees "connection reset" instead of the 400. net/http solves it the same way: half-close,
// drain briefly, then close.
type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

// Bounds on what a lingering close reads, so a client cannot hold the connection open.
const (
	lingerTime  = time.Second
	lingerBytes = 16 << 20
)

type lingerConn struct {
	net.Conn
	linger atomic.Bool // set when an error answer went out before the request was read
}

func (c *lingerConn) Close() error {
	if c.linger.Load() {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
			_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
			_, _ = io.CopyN(io.Discard, c.Conn, lingerBytes)
		}
	}
	return c.Conn.Close()
}
