//go:build !race

package file

import (
	"path/filepath"
	"testing"
)

func TestWriteBatchAllocations(t *testing.T) {
	f := func(fsync string) {
		t.Helper()
		s := newSink(t, filepath.Join(t.TempDir(), "{stream}", "{date}.ndjson"), func(o *Options) { o.Fsync = fsync })
		a, b := batch("a", at(0), "{\"n\":1}\n"), batch("b", at(0), "{\"n\":2}\n")
		write(t, s, a)
		write(t, s, b)
		n := testing.AllocsPerRun(100, func() {
			if err := s.WriteBatch(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteBatch(ctx, b); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Fatalf("fsync %s: %v allocations per two batches, want 0", fsync, n)
		}
	}
	f(FsyncNone)
	f(FsyncBatch)
}
