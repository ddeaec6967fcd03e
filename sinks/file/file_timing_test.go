package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/sinks"
)

// go test -run '^$' -bench FileWriteBatch -benchmem ./sinks/file
//
// Expect 0 allocs/op for the sink: a stream's expanded path and open file are cached, so a
// batch costs a map lookup and one write(2) (plus fsync(2) with fsync:batch). sink:raw is the
// baseline: the same bytes written straight to an *os.File. Size rotation is off and the file
// is truncated outside the timer every 1024 batches so the run does not fill the disk.

func benchBatch(events, size int) *sinks.Batch {
	var sb strings.Builder
	for i := range events {
		l := fmt.Sprintf(`{"stream_id":"a0c3b4de-1923-4ff1-8dba-f92ad912d20f","received_at":"2026-11-26T12:00:00.123456789Z","source":"bench","event":{"n":%d,"pad":"`, i)
		sb.WriteString(l)
		sb.WriteString(strings.Repeat("x", size-len(l)-4))
		sb.WriteString("\"}}\n")
	}
	return &sinks.Batch{Stream: "payments", Data: []byte(sb.String()), Events: events, ReceivedAt: at(0)}
}

func BenchmarkFileWriteBatch(b *testing.B) {
	bt := benchBatch(100, 500)
	for _, fsync := range []string{FsyncNone, FsyncBatch} {
		b.Run("sink:file/fsync:"+fsync, func(b *testing.B) {
			dir := b.TempDir()
			o := NewOptions()
			o.Path, o.Fsync, o.MaxFileBytes = filepath.Join(dir, "{stream}", "events-{date}.ndjson"), fsync, 0
			s, err := New("bench", o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(ctx)
			if err := s.WriteBatch(ctx, bt); err != nil {
				b.Fatal(err)
			}
			file := filepath.Join(dir, "payments", "events-2026-11-26.ndjson")
			b.SetBytes(int64(len(bt.Data)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%1024 == 1023 {
					b.StopTimer()
					if err := os.Truncate(file, 0); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if err := s.WriteBatch(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("sink:raw/fsync:"+fsync, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), "events.ndjson")
			f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(int64(len(bt.Data)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%1024 == 1023 {
					b.StopTimer()
					if err := f.Truncate(0); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if _, err := f.Write(bt.Data); err != nil {
					b.Fatal(err)
				}
				if fsync == FsyncBatch {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
