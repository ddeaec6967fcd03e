// Package stdout is the "stdout" sink: it writes each batch's NDJSON to the process's standard
// output, for trying ingestd out and for piping events into another program.
package stdout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ingestd/ingestd/sinks"
)

func init() {
	sinks.MustRegister(sinks.Registration{
		Type:       "stdout",
		NewOptions: func() sinks.Options { return &Options{} },
		New: func(name string, _ sinks.Options) (sinks.Sink, error) {
			return New(name, os.Stdout), nil
		},
	})
}

// Options is the stdout sink's config block: it has no options.
type Options struct{}

// Validate has nothing to check.
func (*Options) Validate() []sinks.FieldError { return nil }

// writeMu serialises writes of every stdout sink: several may share the process's stdout, and
// one Write per batch under this lock keeps their lines from interleaving.
var writeMu sync.Mutex

// Sink writes batches to an io.Writer.
type Sink struct {
	name string
	w    io.Writer
}

// New returns a sink named name that writes to w (os.Stdout when built from a config).
func New(name string, w io.Writer) *Sink {
	return &Sink{name: name, w: w}
}

// Connect has nothing to prepare.
func (*Sink) Connect(context.Context) error { return nil }

// WriteBatch writes b.Data with a single Write call.
func (s *Sink) WriteBatch(_ context.Context, b *sinks.Batch) error {
	if len(b.Data) == 0 {
		return nil
	}
	writeMu.Lock()
	_, err := s.w.Write(b.Data)
	writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("stdout sink %q: %w", s.name, err)
	}
	return nil
}

// Close has nothing to flush: every batch was written through when WriteBatch returned.
func (*Sink) Close(context.Context) error { return nil }
