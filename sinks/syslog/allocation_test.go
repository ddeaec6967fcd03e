//go:build !race

package syslog

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestAllocations: a warm sink encodes and writes batches without allocating, in every format,
// framing and transport. testing.AllocsPerRun counts every goroutine's allocations, so the
// receiver here counts frames in fixed buffers instead of keeping messages as the other tests'
// server does.
func TestAllocations(t *testing.T) {
	for _, c := range []struct {
		name, network string
		octets        bool
		edit          func(*Options)
	}{
		{"5424-octets", "tcp", true, allOptions},
		{"3164-lf", "tcp", false, func(o *Options) {
			o.Format, o.Framing, o.FacilityField, o.MessageField = FormatRFC3164, FramingNonTransparent, "log.facility", "event.message"
		}},
		{"udp", "udp", false, func(o *Options) { allOptions(o); o.Transport = TransportUDP }},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newCounter(t, c.network, c.octets)
			s := newSink(t, srv.addr, c.edit)
			b := batch(event, mapped, `{"source":"x"}`)
			write := func() {
				if err := s.WriteBatch(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			write()
			if n := testing.AllocsPerRun(100, write); n != 0 {
				t.Errorf("%v allocations per batch, want 0", n)
			}
			if c.network == "udp" {
				srv.wait(3) // loopback UDP may drop datagrams of a burst
			} else {
				srv.wait(3 * 102)
			}
		})
	}
}

// counter is a receiver that counts syslog frames without allocating per frame.
type counter struct {
	t      *testing.T
	addr   string
	octets bool
	frames atomic.Int64
}

func newCounter(t *testing.T, network string, octets bool) *counter {
	t.Helper()
	c := &counter{t: t, octets: octets}
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		c.addr = pc.LocalAddr().String()
		go func() {
			buf := make([]byte, 1<<16)
			for {
				if _, err := pc.(*net.UDPConn).Read(buf); err != nil {
					return
				}
				c.frames.Add(1)
			}
		}()
		return c
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c.addr = ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			go c.readStream(conn)
		}
	}()
	return c
}

// readStream counts LF-terminated frames, or octet-counted ones ("<len> <msg>").
func (c *counter) readStream(conn net.Conn) {
	buf := make([]byte, 1<<16)
	size, skip := 0, 0 // the length being read; the message bytes still to skip
	for {
		n, err := conn.Read(buf)
		for _, b := range buf[:n] {
			switch {
			case !c.octets:
				if b == '\n' {
					c.frames.Add(1)
				}
			case skip > 0:
				if skip--; skip == 0 {
					c.frames.Add(1)
				}
			case b == ' ':
				skip, size = size, 0
			default:
				size = size*10 + int(b-'0')
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *counter) wait(n int64) {
	c.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); c.frames.Load() < n; {
		if time.Now().After(deadline) {
			c.t.Fatalf("receiver counted %d frames, want %d", c.frames.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
