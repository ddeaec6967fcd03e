// Package file is the "file" sink: it appends each batch's NDJSON to a local file chosen by a
// path template, rotating by size and, through {date}, by day.
//
// Files are opened in append mode and their current size is read on open, so a restarted
// process continues the files it left. A batch is written with one write call and is never
// split across files. A failed write or fsync is rolled back (the file is truncated to its size
// before the batch) and its handle dropped, so the engine's retry reopens the file and appends
// the batch after the last complete one instead of after a fragment of itself.
package file

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/ingestd/ingestd/sinks"
)

func init() {
	sinks.MustRegister(sinks.Typed("file", 1, NewOptions, New))
}

// syncFile is (*os.File).Sync; tests replace it to count and to fail fsyncs.
var syncFile = (*os.File).Sync

// Sink writes batches to files. WriteBatch, Connect and Close may be called from any goroutine;
// calls are serialised by an internal mutex.
type Sink struct {
	name     string
	tmpl     template
	mode     os.FileMode
	maxBytes int64
	syncEach bool

	mu      sync.Mutex
	streams map[string]*streamState // by Batch.Stream
	files   map[string]*output      // every open file, by path
	newest  int64                   // newest day a batch was written for
	buf     []byte                  // path expansion scratch
}

// streamState caches one stream's expanded path, so the steady state neither expands the
// template nor allocates the path string.
type streamState struct {
	day  int64
	path string // "" until the first batch
	out  *output
}

// output is one open file. Several streams share it when the template lacks {stream}.
type output struct {
	path string
	day  int64
	f    *os.File // nil once closed; the output is then no longer in Sink.files
	size int64
}

// New returns a file sink named name (the name appears in its errors). It fails when opts do
// not validate.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("file sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	tmpl, _ := parseTemplate(opts.Path)
	mode, _ := parseMode(opts.FileMode)
	return &Sink{
		name:     name,
		tmpl:     tmpl,
		mode:     mode,
		maxBytes: opts.MaxFileBytes,
		syncEach: opts.Fsync == FsyncBatch,
		streams:  map[string]*streamState{},
		files:    map[string]*output{},
		newest:   math.MinInt64,
	}, nil
}

// Connect creates the directory the template starts with, so a path that can never be written
// fails at start-up rather than on the first batch.
func (s *Sink) Connect(context.Context) error {
	if err := os.MkdirAll(s.tmpl.dir, 0o755); err != nil {
		return fmt.Errorf("file sink %q: %w", s.name, err)
	}
	return nil
}

// WriteBatch appends b.Data to the stream's file for b's receive day. It does not watch ctx: a
// local write cannot be interrupted, and finishing it beats dropping the batch.
func (s *Sink) WriteBatch(_ context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.outputFor(b)
	if err == nil && s.maxBytes > 0 && out.size > 0 && out.size+int64(len(b.Data)) > s.maxBytes {
		if err = s.rotate(out); err == nil {
			out, err = s.outputFor(b)
		}
	}
	if err == nil {
		err = s.write(out, b.Data)
	}
	if err != nil {
		return fmt.Errorf("file sink %q: %w", s.name, err)
	}
	return nil
}

// Close fsyncs and closes every open file. The sink stays usable: a later batch reopens its file.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, out := range s.files {
		if err := s.closeOutput(out); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("file sink %q: %w", s.name, err)
	}
	return nil
}

// outputFor returns the open file for b, opening it (and closing older days' files) when the
// stream's cached one does not fit.
func (s *Sink) outputFor(b *sinks.Batch) (*output, error) {
	var day int64
	if s.tmpl.hasDate {
		day = dayOf(b.ReceivedAt)
	}
	st := s.streams[b.Stream]
	if st == nil {
		st = &streamState{}
		s.streams[b.Stream] = st
	}
	if st.out != nil && st.out.f != nil && st.day == day {
		return st.out, nil
	}
	if st.path == "" || st.day != day {
		// A newer day retires every older file: that of this stream and of idle streams.
		// A late batch for an older day reopens its file; it is closed again when the
		// stream's next batch is for a newer day.
		var errs []error
		if day > s.newest {
			s.newest = day
			for _, out := range s.files {
				if out.day < day {
					errs = append(errs, s.closeOutput(out))
				}
			}
		} else if prev := st.out; prev != nil && prev.f != nil && prev.day < day {
			errs = append(errs, s.closeOutput(prev))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		s.buf = s.tmpl.appendPath(s.buf[:0], b.Stream, day)
		st.path, st.day = string(s.buf), day
	}
	out := s.files[st.path]
	if out == nil {
		f, size, err := s.open(st.path)
		if err != nil {
			return nil, err
		}
		out = &output{path: st.path, day: day, f: f, size: size}
		s.files[st.path] = out
	}
	st.out = out
	return out, nil
}

// open opens path for appending, creating it and its directories, and returns its current size.
func (s *Sink) open(path string) (*os.File, int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, s.mode)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func (s *Sink) write(out *output, data []byte) error {
	_, err := out.f.Write(data)
	if err == nil && s.syncEach {
		err = syncFile(out.f)
	}
	if err != nil {
		s.abandon(out)
		return err
	}
	out.size += int64(len(data))
	return nil
}

// rotate closes the full file and moves it aside under the first free numbered name; the
// caller then opens a new file at the path. On failure the next batch reopens the path and
// tries again.
func (s *Sink) rotate(out *output) error {
	if err := s.closeOutput(out); err != nil {
		return err
	}
	ext := filepath.Ext(out.path)
	if ext == filepath.Base(out.path) {
		ext = "" // a dot file such as ".events" has no extension to keep
	}
	stem := out.path[:len(out.path)-len(ext)]
	for n := 1; ; n++ {
		target := stem + "." + strconv.Itoa(n) + ext
		if _, err := os.Lstat(target); err != nil {
			return os.Rename(out.path, target)
		}
	}
}

// closeOutput fsyncs and closes out and forgets it.
func (s *Sink) closeOutput(out *output) error {
	err := syncFile(out.f)
	if cerr := out.f.Close(); err == nil {
		err = cerr
	}
	out.f = nil
	delete(s.files, out.path)
	return err
}

// abandon drops out after a failed write or fsync. Truncating to the size before the batch
// removes a partly written batch, so the retry neither duplicates lines nor leaves half of one.
func (s *Sink) abandon(out *output) {
	_ = out.f.Truncate(out.size)
	_ = out.f.Close()
	out.f = nil
	delete(s.files, out.path)
}
