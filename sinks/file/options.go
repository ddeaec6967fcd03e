package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// Defaults of the options a config may leave out.
const (
	DefaultMaxFileBytes = 128 << 20
	DefaultFsync        = FsyncBatch
	DefaultFileMode     = "0644"
)

// Values of the fsync option.
const (
	FsyncBatch = "batch" // fsync after every WriteBatch: a delivered batch survives a power cut
	FsyncNone  = "none"  // leave write-back to the OS; Close and rotation still fsync
)

// Options is the file sink's config block.
type Options struct {
	// Path is where events go: a template in which {stream} is the batch's stream key (made
	// safe as one path element) and {date} its receive day, YYYY-MM-DD in UTC.
	Path string `yaml:"path"`
	// MaxFileBytes rotates a file before a batch would take it past this size; 0 turns size
	// rotation off. A batch is never split, so a single larger batch still goes into one file.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// Fsync is FsyncBatch or FsyncNone.
	Fsync string `yaml:"fsync"`
	// FileMode is the octal permission of created files, before the process umask.
	FileMode string `yaml:"file_mode"`
}

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{MaxFileBytes: DefaultMaxFileBytes, Fsync: DefaultFsync, FileMode: DefaultFileMode}
}

// Validate reports every invalid option, keyed by its YAML name.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	if _, err := parseTemplate(o.Path); err != nil {
		errs = append(errs, sinks.FieldError{Key: "path", Msg: err.Error()})
	}
	if o.MaxFileBytes < 0 {
		errs = append(errs, sinks.FieldError{Key: "max_file_bytes", Msg: "must be 0 (no size rotation) or a positive number of bytes"})
	}
	if o.Fsync != FsyncBatch && o.Fsync != FsyncNone {
		errs = append(errs, sinks.FieldError{Key: "fsync", Msg: fmt.Sprintf("must be %q or %q, not %q", FsyncBatch, FsyncNone, o.Fsync)})
	}
	if _, err := parseMode(o.FileMode); err != nil {
		errs = append(errs, sinks.FieldError{Key: "file_mode", Msg: err.Error()})
	}
	return errs
}

func parseMode(s string) (os.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("must be an octal permission from 0 to 0777 such as %q, not %q", DefaultFileMode, s)
	}
	return os.FileMode(m), nil
}

// placeholder is what a template segment expands to.
type placeholder uint8

const (
	literal placeholder = iota
	streamKey
	receiveDate
)

type segment struct {
	kind placeholder
	text string // for literal segments
}

// template is a parsed path option. Parsing once lets WriteBatch expand a path by appending
// into a reused buffer instead of searching and replacing strings.
type template struct {
	segs    []segment
	hasDate bool
	// dir is the directory part before the first placeholder: it exists whatever the stream
	// or date, so Connect can create it and catch a bad location before the first batch.
	dir string
}

func parseTemplate(s string) (template, error) {
	var t template
	if s == "" {
		return t, fmt.Errorf("is required")
	}
	if os.IsPathSeparator(s[len(s)-1]) {
		return t, fmt.Errorf("must name a file, not a directory: %q", s)
	}
	prefix := -1
	rest := s
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			t.segs = append(t.segs, segment{text: rest})
			break
		}
		if open > 0 {
			t.segs = append(t.segs, segment{text: rest[:open]})
		}
		if prefix < 0 {
			prefix = len(s) - len(rest) + open
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return t, fmt.Errorf("has an unclosed %q in %q; allowed placeholders are {stream} and {date}", "{", s)
		}
		switch name := rest[open : open+end+1]; name {
		case "{stream}":
			t.segs = append(t.segs, segment{kind: streamKey})
		case "{date}":
			t.segs = append(t.segs, segment{kind: receiveDate})
			t.hasDate = true
		default:
			return t, fmt.Errorf("has unknown placeholder %q; allowed placeholders are {stream} and {date}", name)
		}
		rest = rest[open+end+1:]
	}
	if prefix < 0 {
		prefix = len(s)
	}
	t.dir = filepath.Dir(s[:prefix])
	return t, nil
}

const nsPerDay = 24 * 60 * 60 * 1e9

// dayOf is the UTC day number (days since 1970-01-01) of a Unix-nanosecond time.
func dayOf(ns int64) int64 {
	d := ns / nsPerDay
	if ns%nsPerDay < 0 {
		d--
	}
	return d
}

// appendPath expands the template for one stream and day onto dst.
func (t *template) appendPath(dst []byte, stream string, day int64) []byte {
	for _, sg := range t.segs {
		switch sg.kind {
		case literal:
			dst = append(dst, sg.text...)
		case streamKey:
			dst = appendSafeName(dst, stream)
		case receiveDate:
			dst = time.Unix(day*24*60*60, 0).UTC().AppendFormat(dst, time.DateOnly)
		}
	}
	return dst
}

// appendSafeName appends s as a single path element that cannot leave its directory: bytes
// outside [A-Za-z0-9._-] (separators included) become '_', and so do "", "." and "..".
func appendSafeName(dst []byte, s string) []byte {
	if s == "" || s == "." || s == ".." {
		return append(dst, '_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}
