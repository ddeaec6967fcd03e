//go:build linux || darwin || freebsd || netbsd || openbsd

package syslog

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"time"
)

// closedCheck tells whether the server has closed a stream connection. Syslog servers never
// answer, so a writer learns of a closed connection only from a later write, after the bytes
// of the write before have been lost in the kernel's buffer; peeking at the socket before each
// batch notices the server's FIN or RST in time to reconnect instead.
type closedCheck struct {
	raw    syscall.RawConn // the TCP socket; nil for UDP
	tls    *tls.Conn       // set when raw is under TLS
	peekFn func(fd uintptr) bool
	state  peekState
	one    [1]byte
}

type peekState uint8

const (
	peekEmpty peekState = iota
	peekData
	peekClosed
)

func (cc *closedCheck) reset(c net.Conn) {
	cc.raw, cc.tls = nil, nil
	if cc.peekFn == nil {
		cc.peekFn = cc.peek // bound once, so that checks do not allocate
	}
	inner := c
	if t, ok := c.(*tls.Conn); ok {
		cc.tls, inner = t, t.NetConn()
	}
	if tc, ok := inner.(*net.TCPConn); ok {
		cc.raw, _ = tc.SyscallConn()
	}
}

// check reports whether c, the connection of the last reset, has been closed by its peer.
func (cc *closedCheck) check(c net.Conn) bool {
	if cc.raw == nil {
		return false
	}
	cc.state = peekEmpty
	if err := cc.raw.Read(cc.peekFn); err != nil {
		return true
	}
	switch cc.state {
	case peekClosed:
		return true
	case peekData:
		if cc.tls == nil {
			return false // a plain TCP server that talks back is still there
		}
		// TLS records (session tickets, a close_notify alert): let crypto/tls read them.
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := cc.tls.Read(cc.one[:])
		c.SetReadDeadline(time.Time{})
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	return false
}

func (cc *closedCheck) peek(fd uintptr) bool {
	n, _, err := syscall.Recvfrom(int(fd), cc.one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		cc.state = peekEmpty
	case err != nil || n == 0:
		cc.state = peekClosed
	default:
		cc.state = peekData
	}
	return true // never wait for readiness
}
