package syslog

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkEncode measures framing a 100-event batch with every field mapping set.
func BenchmarkEncode(b *testing.B) {
	s := newSink(b, "127.0.0.1:1", allOptions)
	data := batch(strings.Split(strings.Repeat(mapped+"\n", 100), "\n")[:100]...).Data
	buf := s.bufs.Get().(*buffer)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := s.encode(buf, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBatch sends 100-event batches to a loopback TCP server that discards them.
func BenchmarkWriteBatch(b *testing.B) {
	for _, name := range []string{"default", "mapped"} {
		b.Run(name, func(b *testing.B) {
			addr := discardServer(b)
			edit := func(*Options) {}
			if name == "mapped" {
				edit = allOptions
			}
			s := newSink(b, addr, edit)
			bt := batch(strings.Split(strings.Repeat(event+"\n", 100), "\n")[:100]...)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(bt.Data)))
			for b.Loop() {
				if err := s.WriteBatch(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bt.Events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRsyslog sends 1000-event batches to a real rsyslogd (skipped when it is not
// installed) over TCP, RFC 5424 octet-counted, and counts an event delivered once rsyslog has
// written it to its raw log: waiting for the last one is timed, so what a full socket buffer
// would hide is not counted as sent. rsyslog writes every message to two files (startRsyslog);
// it runs in its own process, so its allocations do not count here, but the polling of the file
// at the end does, a few allocations per run.
func BenchmarkRsyslog(b *testing.B) {
	if _, err := exec.LookPath("rsyslogd"); err != nil {
		b.Skip("rsyslogd is not installed: apt-get install -y rsyslog")
	}
	const perBatch = 1000
	bt := batch(slices.Repeat([]string{event}, perBatch)...)
	ctx := context.Background()
	r := startRsyslog(b) // a fresh one, and an empty log, for each b.N
	s := newSink(b, r.tcp, nil)
	// One batch first: the connection is open, and all lines being alike, the log's size tells
	// how many it holds.
	if err := s.WriteBatch(ctx, bt); err != nil {
		b.Fatal(err)
	}
	r.lines(b, "raw.log", perBatch)
	raw := filepath.Join(r.dir, "raw.log")
	fi, err := os.Stat(raw)
	if err != nil {
		b.Fatal(err)
	}
	lineSize := fi.Size() / perBatch
	b.ReportAllocs()
	b.SetBytes(int64(len(bt.Data)))
	b.ResetTimer()
	for range b.N {
		if err := s.WriteBatch(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N+1) * perBatch * lineSize
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		fi, err := os.Stat(raw)
		if err != nil {
			b.Fatal(err)
		}
		if fi.Size() >= want {
			if fi.Size() > want {
				b.Fatalf("raw.log holds %d bytes, want %d: lines are not alike", fi.Size(), want)
			}
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("rsyslog wrote %d of %d bytes within a minute", fi.Size(), want)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
}
