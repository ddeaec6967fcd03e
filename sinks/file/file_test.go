package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

var ctx = context.Background()

// at is the receive time of a batch on day 2026-11-(26+days), in Unix nanoseconds.
func at(days int) int64 {
	return time.Date(2026, 11, 26+days, 12, 0, 0, 0, time.UTC).UnixNano()
}

func batch(stream string, receivedAt int64, data string) *sinks.Batch {
	return &sinks.Batch{Stream: stream, StreamID: "id-" + stream, Data: []byte(data), Events: strings.Count(data, "\n"), ReceivedAt: receivedAt}
}

// line returns one line of exactly n bytes; the sink does not look inside lines.
func line(tag string, n int) string {
	return tag + strings.Repeat("x", n-len(tag)-1) + "\n"
}

func newSink(t *testing.T, path string, edit func(o *Options)) *Sink {
	t.Helper()
	o := NewOptions()
	o.Path = path
	if edit != nil {
		edit(o)
	}
	s, err := New("local", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

func write(t *testing.T, s *Sink, b *sinks.Batch) {
	t.Helper()
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s holds %q, want %q", path, got, want)
	}
}

// wantTree checks that dir holds exactly the files named in want (relative, slash-separated).
func wantTree(t *testing.T, dir string, want ...string) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s holds %q, want %q", dir, got, want)
	}
}

// countSyncs makes syncFile count its calls and return err from the call numbered failAt on
// (counting from 1; 0 never fails).
func countSyncs(t *testing.T, failAt int, err error) *int {
	t.Helper()
	n := new(int)
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		*n++
		if failAt > 0 && *n >= failAt {
			return &os.PathError{Op: "sync", Path: f.Name(), Err: err}
		}
		return f.Sync()
	}
	return n
}

func TestRegistration(t *testing.T) {
	reg, ok := sinks.Lookup("file")
	if !ok {
		t.Fatal(`type "file" is not registered`)
	}
	if reg.Concurrency > 1 {
		t.Fatalf("concurrency %d: WriteBatch is not made for concurrent batches", reg.Concurrency)
	}
	o, ok := reg.NewOptions().(*Options)
	if !ok || *o != *NewOptions() {
		t.Fatalf("NewOptions gave %#v", reg.NewOptions())
	}
	o.Path = filepath.Join(t.TempDir(), "{stream}.ndjson")
	sk, err := reg.New("local", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sk.(*Sink); !ok {
		t.Fatalf("New gave %T", sk)
	}

	// invalid options and options of another type
	o.Fsync = "never"
	if sk, err := reg.New("local", o); err == nil || sk != nil || !strings.Contains(err.Error(), `fsync: must be "batch" or "none"`) {
		t.Fatalf("invalid options: got %v, %v", sk, err)
	}
	if sk, err := reg.New("local", otherOptions{}); err == nil || sk != nil || !strings.Contains(err.Error(), "file.otherOptions, not *file.Options") {
		t.Fatalf("foreign options: got %v, %v", sk, err)
	}

	// a second "file" type is refused
	err = sinks.Register(sinks.Registration{Type: "file", NewOptions: reg.NewOptions, New: reg.New})
	if err == nil || !strings.Contains(err.Error(), `"file" is already registered`) {
		t.Fatalf("duplicate registration: %v", err)
	}
}

type otherOptions struct{}

func (otherOptions) Validate() []sinks.FieldError { return nil }

func TestNewInvalid(t *testing.T) {
	o := &Options{Path: "x/{nope}", MaxFileBytes: -1, Fsync: "batch", FileMode: "0644"}
	s, err := New("local", o)
	if s != nil || err == nil {
		t.Fatalf("got %v, %v", s, err)
	}
	const want = `file sink "local": invalid options: path: has unknown placeholder "{nope}"; ` +
		`allowed placeholders are {stream} and {date}; max_file_bytes: must be 0 (no size rotation) or a positive number of bytes`
	if err.Error() != want {
		t.Fatalf("error\n%s\nwant\n%s", err, want)
	}
}

func TestConnect(t *testing.T) {
	dir := t.TempDir()
	// creates the fixed directory part of the template
	s := newSink(t, filepath.Join(dir, "a", "b", "{stream}", "{date}.ndjson"), nil)
	if fi, err := os.Stat(filepath.Join(dir, "a", "b")); err != nil || !fi.IsDir() {
		t.Fatalf("connect did not create the directory: %v", err)
	}
	wantTree(t, dir)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// fails when a regular file is in the way
	if err := os.WriteFile(filepath.Join(dir, "blocker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	o.Path = filepath.Join(dir, "blocker", "sub", "{stream}.ndjson")
	s, err := New("local", o)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Connect(ctx)
	if err == nil || !strings.Contains(err.Error(), `file sink "local"`) || !strings.Contains(err.Error(), filepath.Join(dir, "blocker")) {
		t.Fatalf("connect: %v", err)
	}
}

func TestWriteBatchPaths(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "{stream}", "events-{date}.ndjson"), nil)
	write(t, s, batch("payments", at(0), "{\"a\":1}\n"))
	write(t, s, batch("payments", at(0), "{\"a\":2}\n{\"a\":3}\n"))
	write(t, s, batch("../../etc", at(0), "{\"b\":1}\n"))
	write(t, s, batch("..", at(1), "{\"c\":1}\n"))
	write(t, s, batch("a/b", time.Date(2026, 11, 26, 23, 59, 59, 999999999, time.UTC).UnixNano(), "{\"d\":1}\n"))
	write(t, s, batch("a/b", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).UnixNano(), "{\"d\":2}\n"))
	write(t, s, batch("empty", at(0), "")) // no data: no file

	wantTree(t, dir,
		".._.._etc/events-2026-11-26.ndjson",
		"_/events-2026-11-27.ndjson",
		"a_b/events-2026-11-26.ndjson",
		"a_b/events-2026-11-27.ndjson",
		"payments/events-2026-11-26.ndjson",
	)
	wantFile(t, filepath.Join(dir, "payments", "events-2026-11-26.ndjson"), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n")
	wantFile(t, filepath.Join(dir, ".._.._etc", "events-2026-11-26.ndjson"), "{\"b\":1}\n")
	wantFile(t, filepath.Join(dir, "_", "events-2026-11-27.ndjson"), "{\"c\":1}\n")
	wantFile(t, filepath.Join(dir, "a_b", "events-2026-11-26.ndjson"), "{\"d\":1}\n")
	wantFile(t, filepath.Join(dir, "a_b", "events-2026-11-27.ndjson"), "{\"d\":2}\n")
}

func TestFileMode(t *testing.T) {
	dir := t.TempDir()
	f := func(mode string, want os.FileMode) {
		t.Helper()
		s := newSink(t, filepath.Join(dir, mode, "{stream}.ndjson"), func(o *Options) { o.FileMode = mode })
		write(t, s, batch("s", at(0), "{}\n"))
		fi, err := os.Stat(filepath.Join(dir, mode, "s.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Fatalf("mode %s: file has %v, want %v", mode, fi.Mode().Perm(), want)
		}
	}
	f("0600", 0o600)
	f("0640", 0o640)
	f("644", 0o644)
}

func TestAppendAfterRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "{stream}-{date}.ndjson")
	file := filepath.Join(dir, "s-2026-11-26.ndjson")
	edit := func(o *Options) { o.MaxFileBytes = 100 }

	s := newSink(t, path, edit)
	write(t, s, batch("s", at(0), line("a", 40)))
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// the next process appends, and counts the 40 bytes already there
	s = newSink(t, path, edit)
	write(t, s, batch("s", at(0), line("b", 40)))
	wantFile(t, file, line("a", 40)+line("b", 40))
	write(t, s, batch("s", at(0), line("c", 40)))
	wantFile(t, filepath.Join(dir, "s-2026-11-26.1.ndjson"), line("a", 40)+line("b", 40))
	wantFile(t, file, line("c", 40))

	// after Close the same sink reopens and appends
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	write(t, s, batch("s", at(0), line("d", 40)))
	wantFile(t, file, line("c", 40)+line("d", 40))
}

func TestSizeRotation(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "events-{date}.ndjson"), func(o *Options) { o.MaxFileBytes = 100 })
	b1, b2, b3 := line("1", 40), line("2", 40), line("3", 40)
	b4 := line("4a", 30) + line("4b", 30)
	b5 := line("5", 150)
	b6 := line("6", 10)
	for _, data := range []string{b1, b2, b3, b4, b5, b6} {
		write(t, s, batch("s", at(0), data))
	}
	wantTree(t, dir, "events-2026-11-26.1.ndjson", "events-2026-11-26.2.ndjson", "events-2026-11-26.3.ndjson", "events-2026-11-26.ndjson")
	wantFile(t, filepath.Join(dir, "events-2026-11-26.1.ndjson"), b1+b2) // b3 would pass 100
	wantFile(t, filepath.Join(dir, "events-2026-11-26.2.ndjson"), b3+b4) // exactly 100 fits
	wantFile(t, filepath.Join(dir, "events-2026-11-26.3.ndjson"), b5)    // too big, still whole
	wantFile(t, filepath.Join(dir, "events-2026-11-26.ndjson"), b6)
}

func TestSizeRotationSkipsTakenNames(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"e.ndjson": line("old", 90), "e.1.ndjson": "one\n", "e.3.ndjson": "three\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := newSink(t, filepath.Join(dir, "e.ndjson"), func(o *Options) { o.MaxFileBytes = 100 })
	for _, tag := range []string{"a", "b", "c"} {
		write(t, s, batch("s", at(0), line(tag, 60)))
	}
	wantTree(t, dir, "e.1.ndjson", "e.2.ndjson", "e.3.ndjson", "e.4.ndjson", "e.5.ndjson", "e.ndjson")
	wantFile(t, filepath.Join(dir, "e.1.ndjson"), "one\n")
	wantFile(t, filepath.Join(dir, "e.2.ndjson"), line("old", 90))
	wantFile(t, filepath.Join(dir, "e.3.ndjson"), "three\n")
	wantFile(t, filepath.Join(dir, "e.4.ndjson"), line("a", 60))
	wantFile(t, filepath.Join(dir, "e.5.ndjson"), line("b", 60))
	wantFile(t, filepath.Join(dir, "e.ndjson"), line("c", 60))
}

func TestSizeRotationNames(t *testing.T) {
	f := func(name, want string) {
		t.Helper()
		dir := t.TempDir()
		s := newSink(t, filepath.Join(dir, name), func(o *Options) { o.MaxFileBytes = 10 })
		write(t, s, batch("s", at(0), line("a", 10)))
		write(t, s, batch("s", at(0), line("b", 10)))
		wantFile(t, filepath.Join(dir, want), line("a", 10))
		wantFile(t, filepath.Join(dir, name), line("b", 10))
	}
	f("events.ndjson", "events.1.ndjson")
	f("events.tar.gz", "events.tar.1.gz")
	f("events", "events.1")
	f(".events", ".events.1")
}

func TestNoSizeRotation(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "e.ndjson"), func(o *Options) { o.MaxFileBytes = 0 })
	want := ""
	for i := range 5 {
		data := line(fmt.Sprint(i), 1000)
		write(t, s, batch("s", at(0), data))
		want += data
	}
	wantTree(t, dir, "e.ndjson")
	wantFile(t, filepath.Join(dir, "e.ndjson"), want)
}

func TestDateRotation(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "{stream}", "{date}.ndjson"), nil)
	open := func(want ...string) {
		t.Helper()
		var got []string
		for p, out := range s.files {
			if out.f == nil || out.path != p {
				t.Fatalf("files[%q] holds %+v", p, out)
			}
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		if strings.Join(sortStrings(got), " ") != strings.Join(want, " ") {
			t.Fatalf("open files %q, want %q", got, want)
		}
	}
	write(t, s, batch("a", at(0), "a0\n"))
	write(t, s, batch("b", at(0), "b0\n"))
	open("a/2026-11-26.ndjson", "b/2026-11-26.ndjson")

	// a newer day closes the older files, also those of the idle stream b
	write(t, s, batch("a", at(1), "a1\n"))
	open("a/2026-11-27.ndjson")

	// a late batch for an older day reopens that day's file and appends
	write(t, s, batch("b", at(0), "b0late\n"))
	open("a/2026-11-27.ndjson", "b/2026-11-26.ndjson")

	// and b's move to the newer day closes it again
	write(t, s, batch("b", at(1), "b1\n"))
	open("a/2026-11-27.ndjson", "b/2026-11-27.ndjson")

	// a late batch does not close the newer file, which the stream returns to
	write(t, s, batch("a", at(0), "a0late\n"))
	write(t, s, batch("a", at(1), "a1again\n"))
	open("a/2026-11-27.ndjson", "b/2026-11-27.ndjson")

	wantFile(t, filepath.Join(dir, "a", "2026-11-26.ndjson"), "a0\na0late\n")
	wantFile(t, filepath.Join(dir, "a", "2026-11-27.ndjson"), "a1\na1again\n")
	wantFile(t, filepath.Join(dir, "b", "2026-11-26.ndjson"), "b0\nb0late\n")
	wantFile(t, filepath.Join(dir, "b", "2026-11-27.ndjson"), "b1\n")

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	open()
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestSharedFile(t *testing.T) {
	// without {stream} every stream appends to the same file, with one size account
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "all-{date}.ndjson"), func(o *Options) { o.MaxFileBytes = 100 })
	write(t, s, batch("a", at(0), line("a", 40)))
	write(t, s, batch("b", at(0), line("b", 40)))
	write(t, s, batch("a", at(0), line("a2", 40)))
	if len(s.files) != 1 {
		t.Fatalf("%d open files, want 1", len(s.files))
	}
	wantFile(t, filepath.Join(dir, "all-2026-11-26.1.ndjson"), line("a", 40)+line("b", 40))
	wantFile(t, filepath.Join(dir, "all-2026-11-26.ndjson"), line("a2", 40))

	// b's next day closes the file a still points at; a's late batch reopens it
	write(t, s, batch("b", at(1), line("b1", 40)))
	write(t, s, batch("a", at(0), line("a3", 40)))
	wantFile(t, filepath.Join(dir, "all-2026-11-26.ndjson"), line("a2", 40)+line("a3", 40))
	wantFile(t, filepath.Join(dir, "all-2026-11-27.ndjson"), line("b1", 40))
}

func TestStreamsInterleaved(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "{stream}.ndjson"), func(o *Options) { o.Fsync = FsyncNone })
	want := map[string]string{}
	for i := range 30 {
		st := fmt.Sprint("s", i%3)
		data := fmt.Sprintf("{\"n\":%d}\n", i)
		write(t, s, batch(st, at(0), data))
		want[st] += data
	}
	for st, data := range want {
		wantFile(t, filepath.Join(dir, st+".ndjson"), data)
	}
}

func TestStreamsFromGoroutines(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "{stream}", "{date}.ndjson"), func(o *Options) { o.Fsync = FsyncNone; o.MaxFileBytes = 200 })
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if err := s.WriteBatch(ctx, batch(fmt.Sprint("s", g), at(0), line(fmt.Sprint(i), 50))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// 50 lines of 50 bytes, four to a file: rotations .1 to .12 and a current file of two lines
	for g := range 4 {
		var got string
		d := filepath.Join(dir, fmt.Sprint("s", g))
		for n := 1; n <= 12; n++ {
			b, err := os.ReadFile(filepath.Join(d, fmt.Sprintf("2026-11-26.%d.ndjson", n)))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 200 {
				t.Fatalf("rotated file %d of stream %d has %d bytes", n, g, len(b))
			}
			got += string(b)
		}
		b, err := os.ReadFile(filepath.Join(d, "2026-11-26.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		got += string(b)
		var want string
		for i := range 50 {
			want += line(fmt.Sprint(i), 50)
		}
		if got != want {
			t.Fatalf("stream %d: lines lost, reordered or split", g)
		}
	}
}

func TestFsync(t *testing.T) {
	f := func(mode string, wantPerBatch int) {
		t.Helper()
		syncs := countSyncs(t, 0, nil)
		dir := t.TempDir()
		s := newSink(t, filepath.Join(dir, "{stream}.ndjson"), func(o *Options) { o.Fsync = mode; o.MaxFileBytes = 100 })
		for _, st := range []string{"a", "b", "a"} {
			write(t, s, batch(st, at(0), line(st, 40)))
		}
		if *syncs != 3*wantPerBatch {
			t.Fatalf("fsync %s: %d fsyncs after 3 batches, want %d", mode, *syncs, 3*wantPerBatch)
		}
		// rotation fsyncs the full file whatever the mode
		*syncs = 0
		write(t, s, batch("a", at(0), line("a", 40)))
		if *syncs != 1+wantPerBatch {
			t.Fatalf("fsync %s: %d fsyncs for a rotating batch, want %d", mode, *syncs, 1+wantPerBatch)
		}
		// Close fsyncs each open file, once
		*syncs = 0
		for range 2 {
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if *syncs != 2 {
			t.Fatalf("fsync %s: %d fsyncs on Close, want 2", mode, *syncs)
		}
	}
	f(FsyncBatch, 1)
	f(FsyncNone, 0)
}

func TestCloseUnused(t *testing.T) {
	o := NewOptions()
	o.Path = filepath.Join(t.TempDir(), "x", "{stream}.ndjson")
	s, err := New("local", o)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenError(t *testing.T) {
	f := func(obstacle func(dir string) (undo func() error), stream, wantInErr string) {
		t.Helper()
		dir := t.TempDir()
		s := newSink(t, filepath.Join(dir, "{stream}", "e.ndjson"), nil)
		undo := obstacle(dir)
		err := s.WriteBatch(ctx, batch(stream, at(0), "lost\n"))
		if err == nil || !strings.Contains(err.Error(), `file sink "local": `) || !strings.Contains(err.Error(), wantInErr) {
			t.Fatalf("got %v, want an error naming %s", err, wantInErr)
		}
		if err := undo(); err != nil {
			t.Fatal(err)
		}
		write(t, s, batch(stream, at(0), "kept\n"))
		wantFile(t, filepath.Join(dir, stream, "e.ndjson"), "kept\n")
	}
	// a regular file where the stream's directory must go
	f(func(dir string) func() error {
		p := filepath.Join(dir, "s")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return func() error { return os.Remove(p) }
	}, "s", "s")
	// a directory where the file must go
	f(func(dir string) func() error {
		p := filepath.Join(dir, "s", "e.ndjson")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return func() error { return os.Remove(p) }
	}, "s", filepath.Join("s", "e.ndjson"))
}

func TestSyncError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "e.ndjson")
	s := newSink(t, file, nil)
	write(t, s, batch("s", at(0), "one\n"))

	countSyncs(t, 1, errors.New("disk on fire"))
	err := s.WriteBatch(ctx, batch("s", at(0), "two\n"))
	if err == nil || err.Error() != `file sink "local": sync `+file+": disk on fire" {
		t.Fatalf("got %v", err)
	}
	// the unsynced batch is taken back so the retry does not duplicate it
	wantFile(t, file, "one\n")
	if len(s.files) != 0 {
		t.Fatal("the failed file is still open")
	}

	syncFile = (*os.File).Sync
	write(t, s, batch("s", at(0), "two\n"))
	wantFile(t, file, "one\ntwo\n")
}

func TestRotateError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "e.ndjson")
	s := newSink(t, file, func(o *Options) { o.MaxFileBytes = 10; o.Fsync = FsyncNone })

	// the fsync before rotation fails: nothing is renamed or written, and the retry rotates
	write(t, s, batch("s", at(0), line("a", 10)))
	countSyncs(t, 1, errors.New("io error"))
	if err := s.WriteBatch(ctx, batch("s", at(0), line("b", 10))); err == nil || !strings.Contains(err.Error(), "sync "+file+": io error") {
		t.Fatalf("got %v", err)
	}
	wantTree(t, dir, "e.ndjson")
	syncFile = (*os.File).Sync
	write(t, s, batch("s", at(0), line("b", 10)))
	wantFile(t, filepath.Join(dir, "e.1.ndjson"), line("a", 10))
	wantFile(t, file, line("b", 10))

	// the file vanished under the sink: the rename fails, the next batch starts a new file
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, batch("s", at(0), line("c", 10))); err == nil || !strings.Contains(err.Error(), "rename "+file) {
		t.Fatalf("got %v", err)
	}
	write(t, s, batch("s", at(0), line("c", 10)))
	wantTree(t, dir, "e.1.ndjson", "e.ndjson")
	wantFile(t, file, line("c", 10))
}

func TestDateSwitchCloseError(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "{stream}-{date}.ndjson"), func(o *Options) { o.Fsync = FsyncNone })
	write(t, s, batch("a", at(0), "a0\n"))
	write(t, s, batch("b", at(0), "b0\n"))

	// the older files fail their last fsync when a newer day retires them
	countSyncs(t, 1, errors.New("io error"))
	err := s.WriteBatch(ctx, batch("a", at(1), "a1\n"))
	if err == nil || !strings.Contains(err.Error(), "a-2026-11-26.ndjson: io error") || !strings.Contains(err.Error(), "b-2026-11-26.ndjson: io error") {
		t.Fatalf("got %v", err)
	}
	syncFile = (*os.File).Sync
	write(t, s, batch("a", at(1), "a1\n"))
	wantFile(t, filepath.Join(dir, "a-2026-11-27.ndjson"), "a1\n")

	// a stream leaving a late day's file for a newer one: that close fails too
	write(t, s, batch("b", at(0), "b0late\n"))
	countSyncs(t, 1, errors.New("io error"))
	if err := s.WriteBatch(ctx, batch("b", at(1), "b1\n")); err == nil || !strings.Contains(err.Error(), "b-2026-11-26.ndjson: io error") {
		t.Fatalf("got %v", err)
	}
	syncFile = (*os.File).Sync
	write(t, s, batch("b", at(1), "b1\n"))
	wantFile(t, filepath.Join(dir, "b-2026-11-26.ndjson"), "b0\nb0late\n")
	wantFile(t, filepath.Join(dir, "b-2026-11-27.ndjson"), "b1\n")
}

func TestCloseError(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, filepath.Join(dir, "{stream}.ndjson"), nil)
	write(t, s, batch("a", at(0), "a\n"))
	write(t, s, batch("b", at(0), "b\n"))
	countSyncs(t, 1, errors.New("io error"))
	err := s.Close(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), `file sink "local": `) ||
		!strings.Contains(err.Error(), "a.ndjson: io error") || !strings.Contains(err.Error(), "b.ndjson: io error") {
		t.Fatalf("got %v", err)
	}
	// every file was closed all the same
	if len(s.files) != 0 {
		t.Fatalf("%d files still open", len(s.files))
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
