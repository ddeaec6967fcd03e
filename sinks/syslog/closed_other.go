//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package syslog

import "net"

// closedCheck cannot peek at sockets on this system: a closed connection is noticed only when
// a write fails.
type closedCheck struct{}

func (*closedCheck) reset(net.Conn) {}

func (*closedCheck) check(net.Conn) bool { return false }
