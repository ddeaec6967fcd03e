package decode

import (
	"fmt"
	"testing"

	"github.com/bytedance/sonic"
)

// go test -run '^$' -bench . -benchmem ./core/decode
// Expect 0 allocs/op everywhere except BenchmarkSonicValid, the baseline for the scanner.

var sinkErr error

func BenchmarkScan(b *testing.B) {
	f := func(format Format, name string, n int) {
		body := []byte(seedEvent)
		if n > 1 {
			body = batchBody(format, n)
		}
		b.Run(fmt.Sprintf("format:%s/batch:%d", name, n), func(b *testing.B) {
			var s Scanner
			if err := s.Scan(body, format, Limits{}); err != nil || len(s.Events) != n {
				b.Fatalf("Scan: %v, %d events", err, len(s.Events))
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				sinkErr = s.Scan(body, format, Limits{})
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	f(JSON, "json", 1)
	f(NDJSON, "ndjson", 100)
	f(JSON, "json", 100)
}

// BenchmarkScanFields measures what finding a typical stream's fields costs over the plain scan.
func BenchmarkScanFields(b *testing.B) {
	body := batchBody(NDJSON, 100)
	for _, c := range []struct {
		name   string
		fields *Fields
	}{{"none", nil}, {"reference", refFields()}} {
		b.Run("fields:"+c.name, func(b *testing.B) {
			s := Scanner{Fields: c.fields}
			if err := s.Scan(body, NDJSON, Limits{}); err != nil || len(s.Events) != 100 {
				b.Fatalf("Scan: %v, %d events", err, len(s.Events))
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				sinkErr = s.Scan(body, NDJSON, Limits{})
			}
			b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

var sinkBool bool

// BenchmarkSonicValid is the baseline: validation alone, without indexing anything.
func BenchmarkSonicValid(b *testing.B) {
	body := batchBody(JSON, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sinkBool = sonic.Valid(body)
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
}

var sinkBytes []byte

func BenchmarkDecompress(b *testing.B) {
	body := batchBody(NDJSON, 100)
	d := NewDecompressor(1 << 20)
	f := func(enc Encoding, src []byte) {
		b.Run("encoding:"+enc.String(), func(b *testing.B) {
			dst, err := d.Decompress(nil, src, enc)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				dst, _ = d.Decompress(dst, src, enc)
			}
			sinkBytes = dst
		})
	}
	f(Gzip, gzipOf(b, body))
	f(Zstd, zstdOf(b, body))
	f(Deflate, zlibOf(b, body))
}
