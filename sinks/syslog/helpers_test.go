package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// server stands for a syslog server: it listens on loopback and collects the messages it reads,
// parsing octet-counted or LF-delimited frames on TCP and TLS, one message per UDP datagram.
type server struct {
	t       *testing.T
	network string // "tcp" or "udp"
	octets  bool
	tls     *tls.Config
	addr    string

	mu    sync.Mutex
	ln    net.Listener
	pc    net.PacketConn
	conns []net.Conn
	msgs  []string
	errs  []error
	ch    chan struct{} // signalled on every message
}

func newServer(t *testing.T, network string, octets bool, cfg *tls.Config) *server {
	t.Helper()
	s := &server{t: t, network: network, octets: octets, tls: cfg, addr: "127.0.0.1:0", ch: make(chan struct{}, 1<<16)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start listens on s.addr: a fresh port the first time, the same one after stop.
func (s *server) start() {
	s.t.Helper()
	var err error
	for range 50 { // the old port may take a moment to be free again
		if s.network == "udp" {
			var pc net.PacketConn
			if pc, err = net.ListenPacket("udp", s.addr); err == nil {
				s.mu.Lock()
				s.pc, s.addr = pc, pc.LocalAddr().String()
				s.mu.Unlock()
				go s.readUDP(pc)
				return
			}
		} else {
			var ln net.Listener
			if ln, err = net.Listen("tcp", s.addr); err == nil {
				if s.tls != nil {
					ln = tls.NewListener(ln, s.tls)
				}
				s.mu.Lock()
				s.ln, s.addr = ln, ln.Addr().String()
				s.mu.Unlock()
				go s.accept(ln)
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("listen %s %s: %v", s.network, s.addr, err)
}

// stop closes the listener and every connection, as a server going down does.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	if s.pc != nil {
		s.pc.Close()
		s.pc = nil
	}
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *server) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		go s.read(c)
	}
}

func (s *server) read(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var msg []byte
		var err error
		if s.octets {
			var n string
			if n, err = r.ReadString(' '); err == nil {
				var size int
				if size, err = strconv.Atoi(n[:len(n)-1]); err == nil {
					msg = make([]byte, size)
					_, err = io.ReadFull(r, msg)
				}
			}
		} else if msg, err = r.ReadBytes('\n'); err == nil {
			msg = msg[:len(msg)-1]
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
			return
		}
		s.add(string(msg))
	}
}

func (s *server) readUDP(pc net.PacketConn) {
	buf := make([]byte, 1<<16)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.add(string(buf[:n]))
	}
}

func (s *server) add(msg string) {
	s.mu.Lock()
	s.msgs = append(s.msgs, msg)
	s.mu.Unlock()
	s.ch <- struct{}{}
}

// wait returns the first n messages the server has read, failing after a few seconds.
func (s *server) wait(n int) []string {
	s.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		got, errs := len(s.msgs), s.errs
		s.mu.Unlock()
		if len(errs) > 0 {
			s.t.Fatalf("server: bad frames: %v", errs)
		}
		if got >= n {
			s.mu.Lock()
			defer s.mu.Unlock()
			return append([]string(nil), s.msgs[:n]...)
		}
		select {
		case <-s.ch:
		case <-deadline:
			s.t.Fatalf("server read %d messages, want %d", got, n)
		}
	}
}

// count is the number of messages read so far.
func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// newSink returns a connected sink for addr with the test defaults (hostname "host") and the
// changes of edit.
func newSink(t testing.TB, addr string, edit func(*Options)) *Sink {
	t.Helper()
	o := NewOptions()
	o.Address, o.Hostname = addr, "host"
	if edit != nil {
		edit(o)
	}
	s, err := New("test", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func batch(lines ...string) *sinks.Batch {
	b := &sinks.Batch{Stream: "s", StreamID: "s1", Events: len(lines)}
	for _, l := range lines {
		b.Data = append(b.Data, l...)
		b.Data = append(b.Data, '\n')
	}
	return b
}

// discardServer accepts TCP connections and reads them to nowhere, for benchmarks.
func discardServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// allOptions maps every field the encoder can read, so that the test covers every path.
func allOptions(o *Options) {
	o.FacilityField, o.SeverityField, o.AppNameField = "log.facility", "log.level", "source"
	o.MsgIDField, o.MessageField = "event.status", "event.message"
	o.StructuredData = map[string]map[string]string{"ingest@32473": {"env": "metadata.env", "tx": "event.transactionId", "amount": "event.amount"}}
}

const mapped = `{"timestamp":"2025-02-12T14:32:15.5+01:00","source":"payments-app","log":{"facility":"Local4","level":"error"},"event":{"transactionId":"tx \"1\" ]","status":"declined","amount":1234.5,"message":"card\ndeclined"},"metadata":{"env":"prod"}}`
