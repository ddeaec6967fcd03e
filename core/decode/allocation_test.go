//go:build !race

package decode

import (
	"strings"
	"testing"
)

// Zero allocations on the success path is a tested property: go test -run Allocs ./core/decode
// must report none once the Scanner and the pools have warmed up.

func TestScanAllocs(t *testing.T) {
	f := func(name string, body []byte, format Format) {
		t.Helper()
		for _, fields := range []*Fields{nil, refFields()} {
			s := Scanner{Fields: fields}
			if err := s.Scan(body, format, Limits{}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n := testing.AllocsPerRun(100, func() { _ = s.Scan(body, format, Limits{}) }); n != 0 {
				t.Fatalf("%s, fields %t: %v allocations per Scan, want 0", name, fields != nil, n)
			}
		}
	}
	f("one event", []byte(seedEvent), JSON)
	f("ndjson batch:100", batchBody(NDJSON, 100), NDJSON)
	f("json batch:100", batchBody(JSON, 100), JSON)
	f("escaped timestamp", []byte(`{"source":"a","event":{},"timestamp":"2025-02-12T14:32:15.123\u005a","sourc\u0065s":1}`), JSON)
	f("escaped keys", []byte(`{"source":"a","event":{"st\u0061tus":1,"\u00e9":2,"`+strings.Repeat(`\u0061`, 40)+`":3},"metadata":{"e\u006ev":"p"}}`), JSON)
	f("nested", []byte(`{"source":"a","event":{"card":{"number":"4242","exp":{"m":1}},"l":[{"a":{}}]},"metadata":{"x":{}}}`), JSON)
}

func TestDecompressAllocs(t *testing.T) {
	body := batchBody(NDJSON, 100)
	d := NewDecompressor(1 << 20)
	f := func(enc Encoding, src []byte) {
		t.Helper()
		dst, err := d.Decompress(nil, src, enc)
		if err != nil {
			t.Fatalf("%v: %v", enc, err)
		}
		if n := testing.AllocsPerRun(100, func() { dst, _ = d.Decompress(dst, src, enc) }); n != 0 {
			t.Fatalf("%v: %v allocations per Decompress, want 0", enc, n)
		}
	}
	f(Identity, body)
	f(Gzip, gzipOf(t, body))
	f(Zstd, zstdOf(t, body))
	f(Deflate, zlibOf(t, body))
	f(Deflate, flateOf(t, body))
}
