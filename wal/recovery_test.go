package wal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildLog writes n records of 30-byte payloads, segsOf to a segment (0: all
// in one), closes the log and returns the records.
func buildLog(t *testing.T, dir string, n, segsOf int) []rec {
	t.Helper()
	opts := Options{Consumers: []string{"a"}}
	if segsOf > 0 {
		opts.SegmentBytes = int64(segHdrSize + segsOf*(recHdrSize+30))
	}
	l := open(t, dir, opts)
	var recs []rec
	for i := range n {
		p := strings.Repeat(string(rune('a'+i)), 30)
		recs = append(recs, rec{mustAppend(t, l, p), p})
	}
	mustClose(t, l)
	return recs
}

// copyLog copies the log in src to a new directory, the file named segment
// replaced by data.
func copyLog(t *testing.T, src, segment string, data []byte) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == segment {
			b = data
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readSeg(t *testing.T, dir string, base uint64) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, segName(base)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantProblem(t *testing.T, err error, segment string, offset int64) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) || p.Segment != segment || p.Offset != offset {
		t.Errorf("Verify = %v, want a problem in %s at offset %d", err, segment, offset)
	}
}

func TestTornTail(t *testing.T) {
	src := t.TempDir()
	recs := buildLog(t, src, 3, 0)
	data := readSeg(t, src, 0)
	lastStart := int(recs[2].pos)
	for cut := lastStart; cut < len(data); cut++ {
		dir := copyLog(t, src, segName(0), data[:cut])
		if cut > lastStart {
			wantProblem(t, Verify(dir), segName(0), int64(lastStart))
		}
		l := open(t, dir, Options{Consumers: []string{"a"}})
		if got := l.Stats().Truncated; got != int64(cut-lastStart) {
			t.Fatalf("cut at %d: truncated %d bytes, want %d", cut, got, cut-lastStart)
		}
		sameRecs(t, "earlier records", replay(t, l, "a"), recs[:2])
		pos := mustAppend(t, l, "new")
		if cut > lastStart && pos <= recs[2].pos {
			t.Fatalf("cut at %d: new record at %d reuses the torn record's address", cut, pos)
		}
		got := reopenClean(t, l, dir)
		sameRecs(t, "after recovery", got, append(recs[:2:2], rec{pos, "new"}))
	}
}

func TestFlippedBytesNewestSegment(t *testing.T) {
	src := t.TempDir()
	recs := buildLog(t, src, 3, 0)
	data := readSeg(t, src, 0)
	for _, victim := range []int{1, 2} { // a bad record loses everything from it on
		start := int(recs[victim].pos)
		end := start + recHdrSize + 30
		for i := start; i < end; i++ {
			bad := append([]byte(nil), data...)
			bad[i] ^= 0x40
			dir := copyLog(t, src, segName(0), bad)
			wantProblem(t, Verify(dir), segName(0), int64(start))
			l := open(t, dir, Options{Consumers: []string{"a"}})
			if got := l.Stats().Truncated; got != int64(len(data)-start) {
				t.Fatalf("byte %d flipped: truncated %d, want %d", i, got, len(data)-start)
			}
			sameRecs(t, "intact records", replay(t, l, "a"), recs[:victim])
			if p := l.Problems(); len(p) != 1 || !strings.HasSuffix(p[0].Reason, "truncated") {
				t.Errorf("problems = %v", p)
			}
			l.Close()
		}
	}
}

func TestCorruptOlderSegmentSkipped(t *testing.T) {
	src := t.TempDir()
	recs := buildLog(t, src, 6, 2) // three segments of two records
	first := readSeg(t, src, 0)
	segSize := int64(len(first))

	bad := append([]byte(nil), first...)
	bad[int(recs[1].pos)+recHdrSize+3] ^= 1 // the second record's payload
	dir := copyLog(t, src, segName(0), bad)
	wantProblem(t, Verify(dir), segName(0), int64(recs[1].pos))
	l := open(t, dir, Options{Consumers: []string{"a"}})
	if st := l.Stats(); st.Skipped != segSize-int64(recs[1].pos) || st.Truncated != 0 {
		t.Errorf("stats = %+v", st)
	}
	sameRecs(t, "replay", replay(t, l, "a"), append(recs[:1:1], recs[2:]...))
	l.Close()

	// A bad header loses the whole segment; the next one still links to it.
	base2 := uint64(recs[2].pos) - segHdrSize
	second := append([]byte(nil), readSeg(t, src, base2)...)
	second[0] = 'X'
	dir = copyLog(t, src, segName(base2), second)
	wantProblem(t, Verify(dir), segName(base2), 0)
	l = open(t, dir, Options{Consumers: []string{"a"}})
	if st := l.Stats(); st.Skipped != int64(len(second)) || st.Missing != 0 {
		t.Errorf("stats = %+v", st)
	}
	sameRecs(t, "replay", replay(t, l, "a"), append(recs[:2:2], recs[4:]...))
}

func TestMissingSegment(t *testing.T) {
	src := t.TempDir()
	recs := buildLog(t, src, 6, 2)
	base2, base3 := uint64(recs[2].pos)-segHdrSize, uint64(recs[4].pos)-segHdrSize
	if err := os.Remove(filepath.Join(src, segName(base2))); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, Verify(src), segName(base3), 0)
	l := open(t, src, Options{Consumers: []string{"a"}})
	if st := l.Stats(); st.Missing != 1 {
		t.Errorf("stats = %+v", st)
	}
	if p := l.Problems(); len(p) != 1 || !strings.Contains(p[0].Reason, "missing") {
		t.Errorf("problems = %v", p)
	}
	sameRecs(t, "replay", replay(t, l, "a"), append(recs[:2:2], recs[4:]...))
	// The newest segment was whole: writing continues in it.
	if pos := mustAppend(t, l, "x"); pos != recs[5].pos+recHdrSize+30 {
		t.Errorf("append at %d, want right after the last record", pos)
	}
}

func TestJunkFiles(t *testing.T) {
	dir := t.TempDir()
	recs := buildLog(t, dir, 2, 0)
	next := uint64(recs[1].pos) + recHdrSize + 30
	for name, data := range map[string]string{
		segName(next):               "", // an empty newest segment
		segName(next+1000) + ".tmp": "leftover",
		ckName + ".tmp":             "leftover",
		"notes.tmp":                 "kept",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	l := open(t, dir, Options{Consumers: []string{"a"}})
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) != 1 || filepath.Base(m[0]) != "notes.tmp" {
		t.Errorf("temporary files after Open: %v, want only the foreign notes.tmp", m)
	}
	if p := l.Problems(); len(p) != 1 || p[0].Segment != segName(next) {
		t.Errorf("problems = %v", p)
	}
	pos := mustAppend(t, l, "x")
	if uint64(pos) <= next {
		t.Errorf("append at %d reuses the empty segment's base %d", pos, next)
	}
	sameRecs(t, "replay", replay(t, l, "a"), append(recs, rec{pos, "x"}))
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Consumers: []string{"b", "a"}, SegmentBytes: segHdrSize + 2*(recHdrSize+30)}
	l := open(t, dir, opts)
	var recs []rec
	for i := range 5 {
		p := strings.Repeat(string(rune('a'+i)), 30)
		recs = append(recs, rec{mustAppend(t, l, p), p})
	}
	l.Ack("a", recs[3].pos)
	mustClose(t, l)

	rep, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	const full = segHdrSize + 2*(recHdrSize+30)
	want := []SegmentInfo{
		{Name: segName(0), Base: 0, Size: full, Valid: full, First: recs[0].pos, Last: recs[1].pos, Records: 2},
		{Name: segName(full), Base: full, Size: full, Valid: full, First: recs[2].pos, Last: recs[3].pos, Records: 2},
		{Name: segName(2 * full), Base: 2 * full, Size: segHdrSize + recHdrSize + 30, Valid: segHdrSize + recHdrSize + 30,
			First: recs[4].pos, Last: recs[4].pos, Records: 1},
	}
	if len(rep.Segments) != len(want) {
		t.Fatalf("segments = %+v", rep.Segments)
	}
	for i := range want {
		if rep.Segments[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, rep.Segments[i], want[i])
		}
	}
	wantCps := []Checkpoint{{"a", recs[3].pos}, {"b", 0}}
	if len(rep.Checkpoints) != 2 || rep.Checkpoints[0] != wantCps[0] || rep.Checkpoints[1] != wantCps[1] {
		t.Errorf("checkpoints = %+v, want %+v", rep.Checkpoints, wantCps)
	}
	if len(rep.Problems) != 0 {
		t.Errorf("problems = %v", rep.Problems)
	}
	if _, err := Inspect(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("Inspect of a missing directory succeeded")
	}
	if err := Verify(filepath.Join(dir, "nowhere")); err == nil || errors.As(err, new(*Problem)) {
		t.Errorf("Verify of a missing directory = %v, want the read error", err)
	}
}
