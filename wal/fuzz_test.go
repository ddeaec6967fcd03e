package wal

import (
	"bytes"
	"hash/crc32"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the segment reader as a segment. It
// must never panic, and every record it returns must be exactly what the
// bytes hold at its position, with a checksum that matches.
func FuzzReader(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzReader (whole, torn, flipped and empty segments).
	tab := crc32.MakeTable(crc32.Castagnoli)
	f.Fuzz(func(t *testing.T, data []byte) {
		var base uint64
		if len(data) >= 16 {
			base = le.Uint64(data[8:]) // let records through the header's name check
		}
		next := int64(segHdrSize)
		var buf []byte
		s, err := scan(bytes.NewReader(data), int64(len(data)), base, &buf, func(pos Position, p []byte) error {
			off := int64(uint64(pos) - base)
			if off != next {
				t.Fatalf("record at offset %d, want %d (records are back to back)", off, next)
			}
			raw := data[off:]
			if int64(len(raw)) < recHdrSize+int64(len(p)) || !bytes.Equal(raw[recHdrSize:recHdrSize+len(p)], p) {
				t.Fatalf("payload at %d is not the bytes there", off)
			}
			sum := crc32.Update(crc32.Checksum(p, tab), tab, raw[4:recHdrSize])
			if le.Uint32(raw) != sum || le.Uint64(raw[12:]) != uint64(pos) {
				t.Fatalf("record at %d returned with a checksum or position that does not match", off)
			}
			next = off + recHdrSize + int64(len(p))
			return nil
		})
		if err != nil {
			t.Fatalf("scan of in-memory bytes failed: %v", err)
		}
		if s.valid > int64(len(data)) || (s.bad == "") != (s.headerOK && s.valid == int64(len(data))) {
			t.Fatalf("valid %d of %d bytes, bad %q", s.valid, len(data), s.bad)
		}
		if s.headerOK && s.valid != next {
			t.Fatalf("valid %d, but the last record ends at %d", s.valid, next)
		}
	})
}
