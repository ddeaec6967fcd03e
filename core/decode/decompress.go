package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/ingestd/ingestd/core/apierr"
)

// Encoding is a Content-Encoding that ingestd accepts.
type Encoding uint8

// The Content-Encodings of SPEC §1.
const (
	Identity Encoding = iota
	Gzip
	Zstd
	Deflate
)

var encodingNames = [...]string{Identity: "identity", Gzip: "gzip", Zstd: "zstd", Deflate: "deflate"}

func (e Encoding) String() string {
	if int(e) < len(encodingNames) {
		return encodingNames[e]
	}
	return fmt.Sprintf("Encoding(%d)", e)
}

// ParseEncoding maps a Content-Encoding header value to an Encoding: "", "identity", "gzip",
// "x-gzip", "zstd" and "deflate", in any case and with surrounding spaces or tabs. It reports
// false for anything else, including lists of several encodings.
func ParseEncoding(header []byte) (Encoding, bool) {
	h := bytes.Trim(header, " \t")
	switch {
	case len(h) == 0 || equalFold(h, "identity"):
		return Identity, true
	case equalFold(h, "gzip") || equalFold(h, "x-gzip"):
		return Gzip, true
	case equalFold(h, "zstd"):
		return Zstd, true
	case equalFold(h, "deflate"):
		return Deflate, true
	}
	return Identity, false
}

// equalFold compares b with the lower-case ASCII word w, ignoring the case of b.
func equalFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// zstdMaxWindow bounds the history window a zstd frame may declare, and so the memory each
// pooled decoder holds. 8 MiB admits what the zstd tool writes up to level 19 when it streams
// (from a pipe it cannot record the content size, so it declares its full window); frames that
// need more, such as those of zstd --long, are refused.
const zstdMaxWindow = 8 << 20

// growStep is the first buffer size when dst arrives without capacity.
const growStep = 4 << 10

// Decompressor undoes Content-Encodings with pooled decoders. It is safe for concurrent use.
type Decompressor struct {
	limit int
	gzip  sync.Pool // *gzipReader
	zlib  sync.Pool // *zlibReader
	flate sync.Pool // *flateReader
	zstd  sync.Pool // *zstdReader
}

// Each pooled reader carries the bytes.Reader it decodes from, so a call needs no allocation.
type (
	gzipReader struct {
		src bytes.Reader
		r   gzip.Reader
	}
	zlibReader struct {
		src bytes.Reader
		r   io.ReadCloser // also a zlib.Resetter
	}
	flateReader struct {
		src bytes.Reader
		r   io.ReadCloser // also a flate.Resetter
	}
	zstdReader struct {
		src bytes.Reader
		r   *zstd.Decoder
	}
)

// emptyZlib is a complete zlib stream of no data: zlib offers no way to make a reader without
// reading a valid header first.
var emptyZlib = []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}

// NewDecompressor returns a Decompressor that refuses to produce more than limit bytes;
// a limit below 1 means the SPEC default of 1 MiB.
func NewDecompressor(limit int) *Decompressor {
	if limit < 1 {
		limit = 1 << 20
	}
	d := &Decompressor{limit: limit}
	d.gzip.New = func() any { return new(gzipReader) }
	d.flate.New = func() any { return &flateReader{r: flate.NewReader(nil)} }
	d.zlib.New = func() any {
		r, err := zlib.NewReader(bytes.NewReader(emptyZlib))
		if err != nil {
			panic("decode: zlib rejects the empty stream: " + err.Error())
		}
		return &zlibReader{r: r}
	}
	window := uint64(max(limit, zstdMaxWindow))
	d.zstd.New = func() any {
		r, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1), // decode on the caller's goroutine
			zstd.WithDecoderLowmem(false),
			zstd.WithDecoderMaxMemory(window),
			zstd.WithDecoderMaxWindow(window))
		if err != nil {
			panic("decode: zstd rejects its options: " + err.Error())
		}
		return &zstdReader{r: r}
	}
	return d
}

// Decompress appends the decoding of src under enc to dst[:0] and returns it. It stops as soon
// as the output exceeds the limit, so dst never grows much beyond limit+1 bytes whatever src
// claims. Errors are *apierr.Error: payload_too_large past the limit, invalid_format for data
// that is not valid in its encoding.
func (d *Decompressor) Decompress(dst, src []byte, enc Encoding) ([]byte, error) {
	dst = dst[:0]
	var err error
	switch enc {
	case Identity:
		if len(src) > d.limit {
			return dst, d.tooLarge()
		}
		return append(dst, src...), nil
	case Gzip:
		g := d.gzip.Get().(*gzipReader)
		g.src.Reset(src)
		if err = g.r.Reset(&g.src); err == nil {
			dst, err = d.read(dst, &g.r)
		}
		g.src.Reset(nil)
		d.gzip.Put(g)
	case Zstd:
		z := d.zstd.Get().(*zstdReader)
		z.src.Reset(src)
		if err = z.r.Reset(&z.src); err == nil {
			dst, err = d.read(dst, z.r)
		}
		// Reset(nil) drops the decoder's reference to src; it cannot fail.
		_ = z.r.Reset(nil)
		z.src.Reset(nil)
		d.zstd.Put(z)
	case Deflate:
		// HTTP's deflate is zlib-wrapped (RFC 1950), but many clients send raw deflate.
		if isZlib(src) {
			z := d.zlib.Get().(*zlibReader)
			z.src.Reset(src)
			if err = z.r.(zlib.Resetter).Reset(&z.src, nil); err == nil {
				dst, err = d.read(dst, z.r)
			}
			z.src.Reset(nil)
			d.zlib.Put(z)
		} else {
			f := d.flate.Get().(*flateReader)
			f.src.Reset(src)
			if err = f.r.(flate.Resetter).Reset(&f.src, nil); err == nil {
				dst, err = d.read(dst, f.r)
			}
			f.src.Reset(nil)
			d.flate.Put(f)
		}
	default:
		return dst, &apierr.Error{Code: apierr.UnsupportedMediaType, Detail: "unsupported Content-Encoding " + enc.String()}
	}
	if err != nil {
		return dst, d.wrap(err, enc)
	}
	return dst, nil
}

var errTooLarge = errors.New("decompressed size limit exceeded")

// read streams r into dst, growing it by doubling but never past limit+1 bytes: the one extra
// byte tells a body of exactly limit bytes from a larger one.
func (d *Decompressor) read(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(max(len(dst), growStep), d.limit+1-len(dst)))
		}
		n, err := r.Read(dst[len(dst):min(cap(dst), d.limit+1)])
		if dst = dst[:len(dst)+n]; len(dst) > d.limit {
			return dst, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

func (d *Decompressor) tooLarge() error {
	return &apierr.Error{Code: apierr.PayloadTooLarge, Detail: fmt.Sprintf(
		"the body decompresses to more than %d bytes (max_payload_bytes)", d.limit)}
}

func (d *Decompressor) wrap(err error, enc Encoding) error {
	switch {
	case err == errTooLarge || errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return d.tooLarge()
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return &apierr.Error{Code: apierr.InvalidFormat, Detail: fmt.Sprintf(
			"the body's zstd frame needs a window larger than %d bytes; compress without --long", max(d.limit, zstdMaxWindow))}
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return &apierr.Error{Code: apierr.InvalidFormat, Detail: fmt.Sprintf("the body is not valid %s data: %v", enc, err)}
}

// isZlib reports whether b starts with a zlib header: deflate method, a window of at most
// 32 KiB, and the header checksum. Raw deflate from real encoders never passes: a low nibble
// of 8 would mean a non-final stored block with a padding bit set, and encoders pad with zeros.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}
