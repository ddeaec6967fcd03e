package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rec is a replayed record.
type rec struct {
	pos     Position
	payload string
}

func open(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func mustAppend(t *testing.T, l *Log, payload string) Position {
	t.Helper()
	pos, err := l.Append(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Append(%q): %v", payload, err)
	}
	return pos
}

// appendN appends prefix0, prefix1, ... and returns what it appended.
func appendN(t *testing.T, l *Log, n int, prefix string) []rec {
	t.Helper()
	var out []rec
	for i := range n {
		p := fmt.Sprintf("%s%d", prefix, i)
		out = append(out, rec{mustAppend(t, l, p), p})
	}
	return out
}

func replay(t *testing.T, l *Log, consumer string) []rec {
	t.Helper()
	var out []rec
	err := l.Replay(consumer, func(pos Position, p []byte) error {
		out = append(out, rec{pos, string(p)})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay(%q): %v", consumer, err)
	}
	return out
}

func mustClose(t *testing.T, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func sameRecs(t *testing.T, what string, got, want []rec) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"sink"}})
	want := appendN(t, l, 5, "event-")
	want = append(want, rec{mustAppend(t, l, ""), ""}) // an empty payload is a record too

	sameRecs(t, "replay while open", replay(t, l, "sink"), want)
	if want[0].pos != segHdrSize {
		t.Errorf("first position = %d, want %d (just after the first segment's header)", want[0].pos, segHdrSize)
	}
	for i := 1; i < len(want); i++ {
		if gap := want[i].pos - want[i-1].pos; gap != Position(recHdrSize+len(want[i-1].payload)) {
			t.Errorf("record %d starts %d bytes after the previous one", i, gap)
		}
	}
	st := l.Stats()
	if st.Appends != 6 || st.Fsyncs != 6 || st.Segments != 1 || st.Bytes != uint64(want[5].pos)+recHdrSize-segHdrSize {
		t.Errorf("stats = %+v", st)
	}
	mustClose(t, l)

	l = open(t, dir, Options{Consumers: []string{"sink"}})
	sameRecs(t, "replay after reopen", replay(t, l, "sink"), want)
	next := mustAppend(t, l, "after")
	if next != want[5].pos+recHdrSize {
		t.Errorf("append after reopen at %d, want %d (same segment, right after)", next, want[5].pos+recHdrSize)
	}
	if p := l.Problems(); len(p) != 0 {
		t.Errorf("problems on a clean log: %v", p)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestReplayAfterCheckpoint(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Consumers: []string{"a", "b"}}
	l := open(t, dir, opts)
	recs := appendN(t, l, 10, "r")
	if err := l.Ack("a", recs[4].pos); err != nil {
		t.Fatal(err)
	}
	if err := l.Ack("a", recs[2].pos); err != nil { // backwards: ignored
		t.Fatal(err)
	}
	if err := l.Ack("b", recs[8].pos); err != nil {
		t.Fatal(err)
	}
	sameRecs(t, "a before restart", replay(t, l, "a"), recs[5:])
	mustClose(t, l)

	l = open(t, dir, opts)
	sameRecs(t, "a after restart", replay(t, l, "a"), recs[5:])
	sameRecs(t, "b after restart", replay(t, l, "b"), recs[9:])
}

func TestReplayStopsOnError(t *testing.T) {
	l := open(t, t.TempDir(), Options{Consumers: []string{"a"}})
	appendN(t, l, 3, "r")
	stop := errors.New("stop")
	calls := 0
	err := l.Replay("a", func(Position, []byte) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Replay = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func TestConcurrentAppenders(t *testing.T) {
	const goroutines, each = 16, 60
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, SegmentBytes: 4 << 10})
	var wg sync.WaitGroup
	got := make([][]Position, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				pos, err := l.Append(context.Background(), fmt.Appendf(nil, "g%d-%d-%s", g, i, strings.Repeat("x", i)))
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], pos)
			}
		})
	}
	wg.Wait()
	mustClose(t, l)

	l = open(t, dir, Options{Consumers: []string{"a"}})
	recs := replay(t, l, "a")
	if len(recs) != goroutines*each {
		t.Fatalf("replayed %d records, want %d", len(recs), goroutines*each)
	}
	byPos := make(map[Position]string)
	seen := make(map[string]bool)
	for i, r := range recs {
		if i > 0 && r.pos <= recs[i-1].pos {
			t.Fatalf("replay out of order at %d: %d after %d", i, r.pos, recs[i-1].pos)
		}
		if seen[r.payload] {
			t.Fatalf("payload %q replayed twice", r.payload)
		}
		seen[r.payload] = true
		byPos[r.pos] = r.payload
	}
	for g, ps := range got {
		for i, pos := range ps {
			want := fmt.Sprintf("g%d-%d-%s", g, i, strings.Repeat("x", i))
			if byPos[pos] != want {
				t.Fatalf("position %d holds %q, want %q", pos, byPos[pos], want)
			}
			if i > 0 && pos <= ps[i-1] {
				t.Fatalf("goroutine %d: append %d got %d, not after %d", g, i, pos, ps[i-1])
			}
		}
	}
	if st := l.Stats(); st.Segments < 2 {
		t.Errorf("expected several 4 KiB segments, got %d", st.Segments)
	}
}

func TestGroupCommit(t *testing.T) {
	fs := &faults{}
	// A slow disk: appenders pile up behind each fsync and share the next one.
	fs.setSync(func(int) error { time.Sleep(2 * time.Millisecond); return nil })
	l := open(t, t.TempDir(), Options{openFile: fs.open})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				if _, err := l.Append(context.Background(), []byte("x")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	if st.Appends != 320 || st.Fsyncs >= st.Appends/4 {
		t.Errorf("%d appends took %d fsyncs; want them grouped (< a quarter)", st.Appends, st.Fsyncs)
	}
}

func TestAppendAsync(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}})
	type result struct {
		pos Position
		err error
	}
	results := make(chan result, 100)
	cb := func(pos Position, err error) { results <- result{pos, err} }
	payload := []byte("async-00")
	for i := range 100 {
		copy(payload[6:], fmt.Sprintf("%02d", i))
		if err := l.AppendAsync(payload, cb); err != nil { // payload reused at once: it was copied
			t.Fatal(err)
		}
	}
	var prev Position
	for i := range 100 {
		r := <-results
		if r.err != nil || r.pos <= prev {
			t.Fatalf("callback %d: pos %d err %v (previous %d)", i, r.pos, r.err, prev)
		}
		prev = r.pos
	}
	recs := replay(t, l, "a")
	for i, r := range recs {
		if want := fmt.Sprintf("async-%02d", i); r.payload != want {
			t.Fatalf("record %d = %q, want %q", i, r.payload, want)
		}
	}
	if len(recs) != 100 {
		t.Errorf("replayed %d, want 100", len(recs))
	}
}

func TestSegmentDeletionAfterAllAck(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Consumers: []string{"a", "b"}, SegmentBytes: 200}
	l := open(t, dir, opts)
	recs := appendN(t, l, 12, strings.Repeat("p", 60)) // 81- and 82-byte records: two per segment
	if n := len(segFiles(t, dir)); n != 6 {
		t.Fatalf("%d segment files, want 6", n)
	}
	l.Ack("a", recs[11].pos)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 6 {
		t.Errorf("b has acked nothing, yet %d of 6 segments are left", n)
	}
	l.Ack("b", recs[4].pos) // the first record of the third segment
	l.Sync()
	if files := segFiles(t, dir); len(files) != 4 || files[0] != segName(uint64(recs[4].pos)-segHdrSize) {
		t.Errorf("after b acked record 4: %v, want the two oldest segments gone", files)
	}
	l.Ack("b", recs[11].pos)
	l.Sync()
	if n := len(segFiles(t, dir)); n != 1 {
		t.Errorf("after everything was acked %d segments remain, want the newest only", n)
	}
	st := l.Stats()
	if st.Segments != 1 || st.UsedBytes != segHdrSize+2*(recHdrSize+62) {
		t.Errorf("stats after deletion = %+v", st)
	}
	mustClose(t, l)
	if err := Verify(dir); err != nil {
		t.Errorf("Verify after deletions: %v", err) // the oldest's missing predecessor is not a problem
	}
	l = open(t, dir, opts)
	if p := l.Problems(); len(p) != 0 {
		t.Errorf("problems after deletions: %v", p)
	}
	if r := replay(t, l, "a"); len(r) != 0 {
		t.Errorf("replayed %v after everything was acked", r)
	}
}

func TestNoConsumersDeletesOldSegments(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{SegmentBytes: 100})
	appendN(t, l, 5, strings.Repeat("p", 60))
	l.Sync()
	if n := len(segFiles(t, dir)); n != 1 {
		t.Errorf("%d segments with nobody to read them, want 1", n)
	}
}

func TestRemovedConsumerForgotten(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"keep", "gone"}, SegmentBytes: 100})
	recs := appendN(t, l, 4, strings.Repeat("p", 60))
	l.Ack("keep", recs[3].pos)
	mustClose(t, l)

	l = open(t, dir, Options{Consumers: []string{"keep"}, SegmentBytes: 100})
	cps, err := readCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cps["gone"]; ok || len(cps) != 1 {
		t.Errorf("checkpoint file after dropping a consumer: %v", cps)
	}
	if err := l.Ack("gone", recs[3].pos); !errors.Is(err, ErrUnknownConsumer) {
		t.Errorf("Ack of a forgotten consumer = %v", err)
	}
	if err := l.Replay("gone", nil); !errors.Is(err, ErrUnknownConsumer) {
		t.Errorf("Replay of a forgotten consumer = %v", err)
	}
	l.Sync()
	if n := len(segFiles(t, dir)); n != 1 {
		t.Errorf("%d segments left; the forgotten consumer still pins them", n)
	}
}

func TestNewConsumerStartsAtEnd(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}})
	old := appendN(t, l, 3, "old")
	mustClose(t, l)

	opts := Options{Consumers: []string{"a", "b"}}
	l = open(t, dir, opts)
	if r := replay(t, l, "b"); len(r) != 0 {
		t.Errorf("new consumer replayed %v", r)
	}
	fresh := mustAppend(t, l, "new")
	mustClose(t, l) // no ack from b: its start must be on disk all the same

	l = open(t, dir, opts)
	sameRecs(t, "b", replay(t, l, "b"), []rec{{fresh, "new"}})
	sameRecs(t, "a", replay(t, l, "a"), append(old, rec{fresh, "new"}))
}

func TestCheckpointPersistedOnInterval(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, CheckpointInterval: 5 * time.Millisecond})
	pos := mustAppend(t, l, "x")
	l.Ack("a", pos)
	deadline := time.Now().Add(5 * time.Second)
	for {
		cps, err := readCheckpoints(dir)
		if err == nil && cps["a"] == pos {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint never persisted: %v %v", cps, err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCheckpointFileLostOrCorrupt(t *testing.T) {
	for _, damage := range []string{"corrupt", "missing"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Consumers: []string{"a"}}
			l := open(t, dir, opts)
			recs := appendN(t, l, 3, "r")
			l.Ack("a", recs[2].pos)
			mustClose(t, l)
			path := filepath.Join(dir, ckName)
			if damage == "corrupt" {
				data, _ := os.ReadFile(path)
				data[len(ckHeader)] ^= 1 // a digit of a's position
				os.WriteFile(path, data, 0o644)
			} else {
				os.Remove(path)
			}
			if err := Verify(dir); damage == "corrupt" && err == nil {
				t.Error("Verify missed the corrupt checkpoint file")
			}
			l = open(t, dir, opts)
			sameRecs(t, "replay", replay(t, l, "a"), recs) // never loss: everything again
			if p := l.Problems(); len(p) != 1 || p[0].Segment != ckName {
				t.Errorf("problems = %v", p)
			}
		})
	}
}

func TestCheckpointAheadOfLog(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}})
	mustAppend(t, l, "x")
	mustClose(t, l)
	// As if the log's tail had been lost after a delivery.
	if err := writeCheckpoints(dir, map[string]Position{"a": 1 << 20}); err != nil {
		t.Fatal(err)
	}
	l = open(t, dir, Options{Consumers: []string{"a"}})
	pos := mustAppend(t, l, "y")
	if pos <= 1<<20 {
		t.Fatalf("new record at %d, not after the checkpoint", pos)
	}
	sameRecs(t, "replay", replay(t, l, "a"), []rec{{pos, "y"}})
}

func TestErrFull(t *testing.T) {
	dir := t.TempDir()
	const rec = recHdrSize + 60
	opts := Options{Consumers: []string{"a"}, SegmentBytes: segHdrSize + rec, MaxBytes: 3*(segHdrSize+rec) + segHdrSize}
	l := open(t, dir, opts)
	recs := appendN(t, l, 3, strings.Repeat("p", 59)) // one record per segment
	if _, err := l.Append(context.Background(), make([]byte, 60)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append past MaxBytes = %v, want ErrFull", err)
	}
	if err := l.AppendAsync(make([]byte, 60), func(Position, error) { t.Error("callback of a refused append") }); !errors.Is(err, ErrFull) {
		t.Fatalf("AppendAsync past MaxBytes = %v, want ErrFull", err)
	}
	if st := l.Stats(); st.Full != 2 || st.UsedBytes != 3*(segHdrSize+rec) {
		t.Errorf("stats = %+v", st)
	}
	l.Ack("a", recs[1].pos)
	l.Sync()
	if _, err := l.Append(context.Background(), make([]byte, 60)); err != nil {
		t.Errorf("Append after delivery freed space: %v", err)
	}
}

func TestAppendErrors(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}})
	if _, err := l.Append(context.Background(), make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized payload: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if st := l.Stats(); st.Appends != 0 || st.Bytes != 0 {
		t.Errorf("refused appends wrote something: %+v", st)
	}
	mustClose(t, l)
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := l.Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if err := l.AppendAsync([]byte("x"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("AppendAsync after Close: %v", err)
	}
	if err := l.Ack("a", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
	if err := l.Replay("a", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Replay after Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, names := range [][]string{{""}, {"a\nb"}, {"a", "a"}} {
		if _, err := Open(dir, Options{Consumers: names}); err == nil {
			t.Errorf("Open with consumers %q succeeded", names)
		}
	}
	l := open(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open of the same directory = %v, want ErrLocked", err)
	}
	mustClose(t, l)
	l2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()

	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	if _, err := Open(notDir, Options{}); err == nil {
		t.Error("Open on a plain file succeeded")
	}
}

func TestConsumerNamesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	names := []string{"with space", " leading", "ünïcode", "x"}
	l := open(t, dir, Options{Consumers: names})
	pos := mustAppend(t, l, "r")
	for _, n := range names {
		l.Ack(n, pos)
	}
	mustClose(t, l)
	rep, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checkpoints {
		if !slices.Contains(names, c.Consumer) || c.Position != pos {
			t.Errorf("checkpoint %+v", c)
		}
	}
	if len(rep.Checkpoints) != len(names) {
		t.Errorf("checkpoints %v", rep.Checkpoints)
	}
}

func TestReplayWhileAppending(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{Consumers: []string{"a"}, SegmentBytes: 256, CheckpointInterval: time.Millisecond})
	appendN(t, l, 20, strings.Repeat("o", 39))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // rolls segments and acks, so old ones are deleted meanwhile
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			pos, err := l.Append(context.Background(), []byte(strings.Repeat("n", 40)))
			if err != nil {
				t.Error(err)
				return
			}
			if i%4 == 0 {
				l.Ack("a", pos)
			}
		}
	})
	for range 20 {
		var prev Position
		err := l.Replay("a", func(pos Position, p []byte) error {
			if pos <= prev || !strings.HasPrefix(string(p), strings.Repeat("o", 39)) && string(p) != strings.Repeat("n", 40) {
				return fmt.Errorf("record %q at %d after %d", p, pos, prev)
			}
			prev = pos
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// Consumers added while the log is open start after what is durable; removed ones stop
// keeping segments.
func TestAddRemoveConsumer(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{Consumers: []string{"a"}, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := l.Append(context.Background(), []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AddConsumer("b"); err != nil {
		t.Fatal(err)
	}
	if cp, ok := l.Checkpoint("b"); !ok || cp != p1 {
		t.Fatalf("new consumer at %d (%v), want after the last record %d", cp, ok, p1)
	}
	p2, _ := l.Append(context.Background(), []byte("two"))
	var got []string
	if err := l.Replay("b", func(_ Position, p []byte) error { got = append(got, string(p)); return nil }); err != nil || len(got) != 1 || got[0] != "two" {
		t.Fatalf("replay of the new consumer: %q %v", got, err)
	}
	if err := l.Ack("b", p2); err != nil {
		t.Fatal(err)
	}
	if err := l.RemoveConsumer("a"); err != nil {
		t.Fatal(err)
	}
	if err := l.Ack("a", p2); !errors.Is(err, ErrUnknownConsumer) {
		t.Fatalf("ack of a removed consumer: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Inspect(dir)
	if err != nil || len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Consumer != "b" || rep.Checkpoints[0].Position != p2 {
		t.Fatalf("checkpoints after close: %+v %v", rep.Checkpoints, err)
	}
}
