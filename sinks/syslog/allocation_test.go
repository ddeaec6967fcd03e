//go:build !race

package syslog

import (
	"context"
	"testing"
)

// TestAllocations: a warm sink encodes and writes batches without allocating, in every format,
// framing and transport.
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
			srv := newServer(t, c.network, c.octets, nil)
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
