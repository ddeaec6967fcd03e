package s3

import (
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Values of the format option.
const (
	FormatNDJSON     = "ndjson"      // the events' lines as they are
	FormatNDJSONGzip = "ndjson_gzip" // the lines in one gzip member
	FormatNDJSONZstd = "ndjson_zstd" // the lines in one zstd frame
)

// Format is how the events of one object are encoded. Encode runs on the sink's delivery
// workers, up to Concurrency at once, so an implementation must be safe for concurrent use.
type Format interface {
	// Encode appends the encoding of ndjson, whole event lines each ending in '\n', to dst.
	Encode(dst, ndjson []byte) ([]byte, error)
	// Extension ends the default key, such as ".ndjson.gz".
	Extension() string
	// ContentType is the objects' Content-Type.
	ContentType() string
}

// Formats maps the format option's values to their encodings. Objects are stored as encoded,
// without a Content-Encoding, so that a download is the same .gz or .zst file a query engine
// reads.
var Formats = map[string]Format{
	FormatNDJSON:     ndjson{},
	FormatNDJSONGzip: &gzipFormat{},
	FormatNDJSONZstd: zstdFormat{},
}

func formatNames() []string {
	names := make([]string, 0, len(Formats))
	for n := range Formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type ndjson struct{}

func (ndjson) Encode(dst, src []byte) ([]byte, error) { return append(dst, src...), nil }
func (ndjson) Extension() string                      { return ".ndjson" }
func (ndjson) ContentType() string                    { return "application/x-ndjson" }

// appender is an io.Writer that appends to b.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// gzipWriter is a pooled gzip.Writer with the appender it writes to; its compression tables
// are the costly part to build.
type gzipWriter struct {
	zw  *gzip.Writer
	out appender
}

type gzipFormat struct{ pool sync.Pool }

func (g *gzipFormat) Encode(dst, src []byte) ([]byte, error) {
	w, _ := g.pool.Get().(*gzipWriter)
	if w == nil {
		w = &gzipWriter{}
		w.zw = gzip.NewWriter(&w.out)
	}
	w.out.b = dst
	w.zw.Reset(&w.out)
	_, err := w.zw.Write(src)
	if err == nil {
		err = w.zw.Close()
	}
	dst, w.out.b = w.out.b, nil // the pool must not keep the caller's buffer
	g.pool.Put(w)
	return dst, err
}

func (*gzipFormat) Extension() string   { return ".ndjson.gz" }
func (*gzipFormat) ContentType() string { return "application/gzip" }

// zstdEncoder is shared by every sink: EncodeAll is safe for concurrent use and keeps a pool of
// encoder states, one per delivery worker at most. It is built on first use.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(Concurrency))
	if err != nil {
		panic(err) // only invalid options fail, and these are fixed
	}
	return enc
})

type zstdFormat struct{}

func (zstdFormat) Encode(dst, src []byte) ([]byte, error) {
	return zstdEncoder().EncodeAll(src, dst), nil
}
func (zstdFormat) Extension() string   { return ".ndjson.zst" }
func (zstdFormat) ContentType() string { return "application/zstd" }
