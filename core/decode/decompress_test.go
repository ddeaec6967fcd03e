package decode

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	stdzlib "compress/zlib"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ingestd/ingestd/core/apierr"
)

func TestParseEncoding(t *testing.T) {
	f := func(header string, want Encoding, wantOK bool) {
		t.Helper()
		got, ok := ParseEncoding([]byte(header))
		if got != want || ok != wantOK {
			t.Fatalf("ParseEncoding(%q) = %v, %v; want %v, %v", header, got, ok, want, wantOK)
		}
	}
	f("", Identity, true)
	f("  \t", Identity, true)
	f("identity", Identity, true)
	f("IDENTITY", Identity, true)
	f("gzip", Gzip, true)
	f(" GZip ", Gzip, true)
	f("x-gzip", Gzip, true)
	f("X-GZIP", Gzip, true)
	f("zstd", Zstd, true)
	f("\tZSTD", Zstd, true)
	f("deflate", Deflate, true)
	f("Deflate ", Deflate, true)
	f("br", Identity, false)
	f("compress", Identity, false)
	f("gzip, deflate", Identity, false)
	f("gzip;q=1", Identity, false)
	f("gzi", Identity, false)
	f("x-zstd", Identity, false)
	f("identityx", Identity, false)
	f("gzi\xc4\xb1", Identity, false)
}

func TestEncodingString(t *testing.T) {
	for e, want := range map[Encoding]string{Identity: "identity", Gzip: "gzip", Zstd: "zstd", Deflate: "deflate", 4: "Encoding(4)"} {
		if e.String() != want {
			t.Fatalf("%d.String() = %q, want %q", e, e.String(), want)
		}
	}
}

// Encoders for the tests. The standard library writes gzip and deflate, so decoding is checked
// against an independent implementation; zstd comes from klauspost.
func gzipOf(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := stdgzip.NewWriter(&b)
	mustWrite(t, w, data)
	return b.Bytes()
}

func zlibOf(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := stdzlib.NewWriter(&b)
	mustWrite(t, w, data)
	return b.Bytes()
}

func flateOf(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := stdflate.NewWriter(&b, stdflate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, data)
	return b.Bytes()
}

func zstdOf(t testing.TB, data []byte, opts ...zstd.EOption) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, data)
	return b.Bytes()
}

// zstdFrame returns a zstd frame with the given header descriptor and fields, holding the one
// byte "x" in a raw block.
func zstdFrame(header ...byte) []byte {
	return append(append([]byte{0x28, 0xb5, 0x2f, 0xfd}, header...), 0x09, 0x00, 0x00, 'x')
}

func mustWrite(t testing.TB, w io.WriteCloser, data []byte) {
	t.Helper()
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDecompressRoundTrip(t *testing.T) {
	d := NewDecompressor(1 << 20)
	var dst []byte
	f := func(name string, enc Encoding, src, want []byte) {
		t.Helper()
		for round := range 2 {
			var err error
			dst, err = d.Decompress(dst, src, enc)
			if err != nil {
				t.Fatalf("%s round %d: %v", name, round, err)
			}
			if !bytes.Equal(dst, want) {
				t.Fatalf("%s round %d: got %d bytes, want %d", name, round, len(dst), len(want))
			}
		}
	}
	body := batchBody(NDJSON, 100)
	big := bytes.Repeat(body, 30)[:1<<20] // exactly the limit

	f("identity", Identity, body, body)
	f("identity empty", Identity, nil, nil)
	f("gzip", Gzip, gzipOf(t, body), body)
	f("gzip empty", Gzip, gzipOf(t, nil), nil)
	f("gzip at limit", Gzip, gzipOf(t, big), big)
	f("gzip two members", Gzip, append(gzipOf(t, body[:100]), gzipOf(t, body[100:])...), body)
	f("zstd", Zstd, zstdOf(t, body), body)
	f("zstd at limit", Zstd, zstdOf(t, big), big)
	f("zstd empty", Zstd, nil, nil)
	f("zstd declaring an 8 MiB window", Zstd, zstdFrame(0x00, 13<<3), []byte("x"))
	f("deflate zlib", Deflate, zlibOf(t, body), body)
	f("deflate zlib at limit", Deflate, zlibOf(t, big), big)
	f("deflate raw", Deflate, flateOf(t, body), body)
	f("deflate raw at limit", Deflate, flateOf(t, big), big)
	f("deflate raw empty", Deflate, flateOf(t, nil), nil)

	// The result reuses dst's backing array when it is large enough.
	buf := make([]byte, 0, 1<<20+1)
	out, err := d.Decompress(buf, gzipOf(t, body), Gzip)
	if err != nil || &out[0] != &buf[:1][0] {
		t.Fatalf("Decompress did not decode into dst: %v", err)
	}
}

func TestDecompressRejects(t *testing.T) {
	d := NewDecompressor(1000)
	f := func(enc Encoding, src []byte, code apierr.Code, detail string) {
		t.Helper()
		_, err := d.Decompress(nil, src, enc)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != code || !strings.Contains(ae.Detail, detail) {
			t.Fatalf("Decompress(%v) = %v, want %s: ...%s...", enc, err, code, detail)
		}
	}
	data := bytes.Repeat([]byte("0123456789"), 100) // exactly the limit
	over := append(data, 'x')
	tooLarge := "the body decompresses to more than 1000 bytes (max_payload_bytes)"

	f(Identity, over, apierr.PayloadTooLarge, tooLarge)
	f(Gzip, gzipOf(t, over), apierr.PayloadTooLarge, tooLarge)
	f(Zstd, zstdOf(t, over), apierr.PayloadTooLarge, tooLarge)
	f(Deflate, zlibOf(t, over), apierr.PayloadTooLarge, tooLarge)
	f(Deflate, flateOf(t, over), apierr.PayloadTooLarge, tooLarge)

	gz := gzipOf(t, data)
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	f(Gzip, []byte("not gzip at all"), apierr.InvalidFormat, "the body is not valid gzip data: gzip: invalid header")
	f(Gzip, nil, apierr.InvalidFormat, "the body is not valid gzip data: unexpected EOF")
	f(Gzip, gz[:len(gz)/2], apierr.InvalidFormat, "the body is not valid gzip data: unexpected EOF")
	f(Gzip, badCRC, apierr.InvalidFormat, "the body is not valid gzip data: gzip: invalid checksum")
	f(Gzip, append(bytes.Clone(gz), "trailing"...), apierr.InvalidFormat, "the body is not valid gzip data")

	zs := zstdOf(t, data)
	f(Zstd, []byte("not zstd at all"), apierr.InvalidFormat, "the body is not valid zstd data")
	f(Zstd, zs[:len(zs)-3], apierr.InvalidFormat, "the body is not valid zstd data")
	f(Zstd, zstdFrame(0x00, 14<<3), apierr.InvalidFormat, "the body's zstd frame needs a window larger than 8388608 bytes")
	f(Zstd, zstdFrame(0xa0, 0x00, 0x00, 0x90, 0x00), apierr.PayloadTooLarge, tooLarge) // declares 9 MiB of content

	zl := zlibOf(t, data)
	badAdler := bytes.Clone(zl)
	badAdler[len(badAdler)-1] ^= 0xff
	f(Deflate, badAdler, apierr.InvalidFormat, "the body is not valid deflate data: zlib: invalid checksum")
	f(Deflate, zl[:len(zl)/2], apierr.InvalidFormat, "the body is not valid deflate data: unexpected EOF")
	f(Deflate, []byte{0x78, 0xbb, 0, 0, 0, 0}, apierr.InvalidFormat, "the body is not valid deflate data: zlib: invalid dictionary")
	f(Deflate, []byte{0xff, 0xff, 0xff}, apierr.InvalidFormat, "the body is not valid deflate data: flate: corrupt input")
	f(Deflate, nil, apierr.InvalidFormat, "the body is not valid deflate data: unexpected EOF")

	f(Encoding(9), data, apierr.UnsupportedMediaType, "unsupported Content-Encoding Encoding(9)")

	// Failures leave the pooled readers usable.
	if out, err := d.Decompress(nil, gz, Gzip); err != nil || !bytes.Equal(out, data) {
		t.Fatalf("gzip after failures: %v", err)
	}
	if out, err := d.Decompress(nil, zs, Zstd); err != nil || !bytes.Equal(out, data) {
		t.Fatalf("zstd after failures: %v", err)
	}
}

func TestNewDecompressorDefaultLimit(t *testing.T) {
	d := NewDecompressor(0)
	if _, err := d.Decompress(nil, make([]byte, 1<<20), Identity); err != nil {
		t.Fatalf("1 MiB under the default limit: %v", err)
	}
	if _, err := d.Decompress(nil, make([]byte, 1<<20+1), Identity); err == nil {
		t.Fatal("1 MiB + 1 accepted under the default limit")
	}
}

// TestDecompressBomb feeds 100 MiB of zeros, compressed, and checks that decoding stops at the
// limit quickly and without allocating much beyond it. The bombs repeat the compression of
// 1 MiB, so that building them stays cheap even under the race detector: gzip and zstd as
// concatenated members and frames, deflate as repeated flushed blocks, which decode the same
// once the window holds zeros (the checksum after them is never reached).
func TestDecompressBomb(t *testing.T) {
	mib := make([]byte, 1<<20)
	var fl bytes.Buffer
	w, err := stdflate.NewWriter(&fl, stdflate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	blocks := [2][]byte{}
	for i := range blocks {
		if _, err := w.Write(mib); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		blocks[i] = bytes.Clone(fl.Bytes())
		fl.Reset()
	}
	deflate := append(blocks[0], bytes.Repeat(blocks[1], 99)...)
	bombs := []struct {
		name string
		enc  Encoding
		src  []byte
	}{
		{"gzip", Gzip, bytes.Repeat(gzipOf(t, mib), 100)},
		{"zstd", Zstd, bytes.Repeat(zstdOf(t, mib), 100)},
		{"deflate raw", Deflate, deflate},
		{"deflate zlib", Deflate, append([]byte{0x78, 0x01}, deflate...)},
	}

	const limit = 1 << 20
	d := NewDecompressor(limit)
	for _, b := range bombs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := d.Decompress(nil, b.src, b.enc)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != apierr.PayloadTooLarge {
			t.Fatalf("%s bomb (%d bytes): %v, want payload_too_large", b.name, len(b.src), err)
		}
		// Doubling growth of dst costs under 2×limit. A fresh zstd decoder adds its history
		// ring, the frame's window (8 MiB from zstd's streaming writer) plus two blocks, and
		// its block buffers; the other decoders hold fixed tables of well under 1 MiB.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*limit+zstdMaxWindow+3<<20 {
			t.Fatalf("%s bomb allocated %d bytes", b.name, alloc)
		}
		if elapsed > time.Second {
			t.Fatalf("%s bomb took %v", b.name, elapsed)
		}
	}
}

func TestDecompressConcurrent(t *testing.T) {
	d := NewDecompressor(1 << 20)
	body := batchBody(JSON, 50)
	srcs := map[Encoding][]byte{Identity: body, Gzip: gzipOf(t, body), Zstd: zstdOf(t, body), Deflate: zlibOf(t, body)}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var dst []byte
			for i := range 50 {
				enc := Encoding((g + i) % 4)
				var err error
				if dst, err = d.Decompress(dst, srcs[enc], enc); err != nil || !bytes.Equal(dst, body) {
					t.Errorf("%v: %v", enc, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
