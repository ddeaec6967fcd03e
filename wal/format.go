package wal

import (
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// On-disk format, all integers little-endian.
//
// A segment file is named after its base position (20 decimal digits, ".wal")
// and starts with a 28-byte header:
//
//	0  "IWAL"
//	4  uint16 format version (1)
//	6  uint16 zero
//	8  uint64 base position (equals the file name)
//	16 uint64 base of the segment written before this one, or MaxUint64
//	24 uint32 CRC32C of bytes 0..24
//
// The link to the previous segment tells a deleted or lost segment from the
// gaps that recovery leaves between segments on purpose.
//
// Records follow back to back, each a 20-byte header and the payload:
//
//	0  uint32 CRC32C of the payload followed by header bytes 4..20
//	4  'R', version (1), two zero bytes
//	8  uint32 payload length
//	12 uint64 the record's position
//
// The checksum covers the payload first so that appenders can compute its
// expensive part in parallel, before the writer knows the position.
const (
	segHdrSize = 28
	recHdrSize = 20
	segMagic   = "IWAL"
	recMagic   = 'R'
	version    = 1
	segExt     = ".wal"
	noPrev     = math.MaxUint64

	// MaxPayload is the largest payload one record holds.
	MaxPayload = 64 << 20
)

var (
	le         = binary.LittleEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

func segName(base uint64) string {
	s := strconv.FormatUint(base, 10)
	return strings.Repeat("0", 20-len(s)) + s + segExt
}

func parseSegName(name string) (uint64, bool) {
	if len(name) != 20+len(segExt) || !strings.HasSuffix(name, segExt) {
		return 0, false
	}
	base, err := strconv.ParseUint(name[:20], 10, 64)
	return base, err == nil
}

func segHeader(base, prev uint64) []byte {
	h := make([]byte, segHdrSize)
	copy(h, segMagic)
	le.PutUint16(h[4:], version)
	le.PutUint64(h[8:], base)
	le.PutUint64(h[16:], prev)
	le.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
	return h
}

// beginRecord writes a record header whose checksum slot holds only the
// payload's CRC (payloadCRC); seal completes it once the position is known.
func beginRecord(h []byte, payloadCRC uint32, n int) {
	le.PutUint32(h, payloadCRC)
	h[4], h[5], h[6], h[7] = recMagic, version, 0, 0
	le.PutUint32(h[8:], uint32(n))
}

func seal(h []byte, pos Position) {
	le.PutUint64(h[12:], uint64(pos))
	le.PutUint32(h, crc32.Update(le.Uint32(h), castagnoli, h[4:recHdrSize]))
}

// scanned describes what scan found in one segment.
type scanned struct {
	prev     uint64
	headerOK bool
	valid    int64 // end of the last good record: the segment's usable length
	first    Position
	last     Position
	count    int
	bad      string // why scanning stopped before the end; "" if all of it is good
}

// scan reads a segment of size bytes whose file name says base: the header,
// then records until the end, the first bad byte, or an error from fn (which
// scan returns, as it does read errors). A length is never trusted beyond
// the bytes that remain, so garbage cannot make it allocate or read more than
// the segment holds. buf is reused for payloads.
func scan(r io.Reader, size int64, base uint64, buf *[]byte, fn func(Position, []byte) error) (scanned, error) {
	s := scanned{prev: noPrev}
	var h [segHdrSize]byte
	if size < segHdrSize {
		s.bad = "short segment header"
		return s, nil
	}
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return s, err
	}
	if string(h[:4]) != segMagic || le.Uint16(h[4:]) != version || le.Uint16(h[6:]) != 0 ||
		le.Uint32(h[24:]) != crc32.Checksum(h[:24], castagnoli) || le.Uint64(h[8:]) != base {
		s.bad = "bad segment header"
		return s, nil
	}
	s.prev, s.headerOK, s.valid = le.Uint64(h[16:]), true, segHdrSize

	var rh [recHdrSize]byte
	for s.valid < size {
		left := size - s.valid
		if left < recHdrSize {
			s.bad = "torn record header"
			return s, nil
		}
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			return s, err
		}
		n := int64(le.Uint32(rh[8:]))
		if rh[4] != recMagic || rh[5] != version || rh[6]|rh[7] != 0 || n > MaxPayload {
			s.bad = "bad record header"
			return s, nil
		}
		if left-recHdrSize < n {
			s.bad = "torn record"
			return s, nil
		}
		*buf = slices.Grow((*buf)[:0], int(n))
		p := (*buf)[:n]
		if _, err := io.ReadFull(r, p); err != nil {
			return s, err
		}
		if le.Uint32(rh[:]) != crc32.Update(crc32.Checksum(p, castagnoli), castagnoli, rh[4:]) {
			s.bad = "bad checksum"
			return s, nil
		}
		pos := Position(base + uint64(s.valid))
		if Position(le.Uint64(rh[12:])) != pos {
			s.bad = "record position does not match its place"
			return s, nil
		}
		if fn != nil {
			if err := fn(pos, p); err != nil {
				return s, err
			}
		}
		if s.count == 0 {
			s.first = pos
		}
		s.last = pos
		s.count++
		s.valid += recHdrSize + n
	}
	return s, nil
}

// scanFile scans the segment file path, reading at most limit bytes of it
// (all of it if limit < 0). It also returns the file's size.
func scanFile(path string, base uint64, limit int64, buf *[]byte, fn func(Position, []byte) error) (scanned, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanned{}, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return scanned{}, 0, err
	}
	size := fi.Size()
	if limit >= 0 && limit < size {
		size = limit
	}
	s, err := scan(bufio.NewReaderSize(f, 256<<10), size, base, buf, fn)
	return s, fi.Size(), err
}

// listSegments returns the base positions of the segment files in dir, in order.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []uint64
	for _, e := range entries {
		if base, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	return bases, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
