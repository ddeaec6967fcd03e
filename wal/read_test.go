package wal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, SegmentBytes: 200})
	recs := appendN(t, l, 12, "payload-") // several segments
	var buf []byte
	for _, r := range recs {
		p, err := l.Read(r.pos, buf)
		if err != nil || string(p) != r.payload {
			t.Fatalf("Read(%d) = %q, %v; want %q", r.pos, p, err, r.payload)
		}
		buf = p
	}
	for _, pos := range []Position{0, recs[0].pos + 1, recs[len(recs)-1].pos + 1000} {
		if _, err := l.Read(pos, nil); !errors.Is(err, ErrNoRecord) {
			t.Errorf("Read(%d) = %v, want ErrNoRecord", pos, err)
		}
	}

	// A record whose bytes rotted on disk is refused, not returned.
	last := recs[len(recs)-1]
	var seg string
	for _, name := range segFiles(t, dir) {
		if base, _ := parseSegName(name); base <= uint64(last.pos) {
			seg = name
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, seg), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := parseSegName(seg)
	if _, err := f.WriteAt([]byte("X"), int64(uint64(last.pos)-base)+recHdrSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := l.Read(last.pos, nil); err == nil || errors.Is(err, ErrNoRecord) {
		t.Errorf("Read of a corrupt record = %v, want a checksum error", err)
	}

	// Once every consumer passed a segment and it is deleted, its records are gone.
	if err := l.Ack("a", recs[5].pos); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(recs[0].pos, nil); !errors.Is(err, ErrNoRecord) {
		t.Errorf("Read of a deleted segment's record = %v, want ErrNoRecord", err)
	}
	l.Close()
	if _, err := l.Read(recs[8].pos, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
}

// The reserve is kept for AppendReserved: a log that Append calls full still takes a copy.
func TestReserve(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{MaxBytes: 1000, Reserve: 1000}); err == nil {
		t.Fatal("a reserve as large as the log was accepted")
	}
	l := open(t, t.TempDir(), Options{Consumers: []string{"a"}, MaxBytes: 1000, Reserve: 400})
	payload := make([]byte, 100)
	n := 0
	for ; n < 20; n++ {
		if _, err := l.Append(context.Background(), payload); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	if n == 0 || n >= 6 { // (1000-400-28)/120 records fit below the reserve
		t.Fatalf("%d appends before ErrFull, want 1 to 4", n)
	}
	if _, err := l.AppendReserved(context.Background(), payload); err != nil {
		t.Fatalf("AppendReserved into the reserve: %v", err)
	}
	for range 10 {
		if _, err := l.AppendReserved(context.Background(), payload); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			return // the reserve is bounded too
		}
	}
	t.Fatal("AppendReserved passed MaxBytes")
}
