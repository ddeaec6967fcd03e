package main

import (
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/ingestd/ingestd/core/config"
)

// walProcs gives a one-P process a second P under ack: disk, and only then: not for ack: memory,
// and not when GOMAXPROCS was set by hand.
func TestWALProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	streams := []config.Stream{{ID: "s"}}
	disk := &config.Config{Server: config.Server{Ack: config.AckDisk}, Streams: streams}
	memory := &config.Config{Server: config.Server{Ack: config.AckMemory}, Streams: streams}
	if !disk.UsesWAL() || memory.UsesWAL() {
		t.Fatal("UsesWAL does not follow server.ack")
	}
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		env  string
		want int
	}{
		{"disk", disk, "", 2},
		{"memory", memory, "", 1},
		{"set by hand", disk, "1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", tc.env)
			runtime.GOMAXPROCS(1)
			walProcs(tc.cfg, quiet)
			if got := runtime.GOMAXPROCS(0); got != tc.want {
				t.Fatalf("GOMAXPROCS %d, want %d", got, tc.want)
			}
		})
	}
}
