//go:build !race

package wal

import (
	"context"
	"testing"
	"time"
)

func TestAllocsPerAppend(t *testing.T) {
	// No background checkpoint during the measurement: persisting allocates.
	l := open(t, t.TempDir(), Options{Consumers: []string{"a"}, CheckpointInterval: time.Hour})
	ctx := context.Background()
	payload := make([]byte, 50<<10)
	f := func(name string, op func()) {
		t.Helper()
		if n := testing.AllocsPerRun(200, op); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, n)
		}
	}
	f("Append", func() {
		if _, err := l.Append(ctx, payload); err != nil {
			t.Fatal(err)
		}
	})
	done := make(chan error, 1)
	cb := func(_ Position, err error) { done <- err }
	f("AppendAsync", func() {
		if err := l.AppendAsync(payload, cb); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	var pos Position
	f("Ack", func() {
		pos++
		if err := l.Ack("a", pos); err != nil {
			t.Fatal(err)
		}
	})
}
