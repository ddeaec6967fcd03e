package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
)

// ErrNoRecord: no durable record starts at the position (it never existed, or its segment was
// deleted once every consumer passed it).
var ErrNoRecord = errors.New("wal: no record at this position")

// Read returns the payload of the durable record at pos, in buf's space when it fits. It is for
// the rare reader that needs one record again — a consumer moving the records it holds back to
// the head of the log — not for reading the log in order, which is Replay's job.
func (l *Log) Read(pos Position, buf []byte) ([]byte, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	var seg segment
	found := false
	for _, s := range l.segs {
		if s.count > 0 && pos >= s.first && pos <= s.last {
			seg, found = segment{base: s.base, size: s.size}, true
			break
		}
	}
	l.mu.Unlock()
	if !found {
		return nil, fmt.Errorf("%w %d", ErrNoRecord, pos)
	}
	f, err := os.Open(filepath.Join(l.dir, segName(seg.base)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w %d", ErrNoRecord, pos) // deleted meanwhile
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	off := int64(uint64(pos) - seg.base)
	var h [recHdrSize]byte
	if off+recHdrSize > seg.size {
		return nil, fmt.Errorf("%w %d", ErrNoRecord, pos)
	}
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, err
	}
	n := int64(le.Uint32(h[8:]))
	if h[4] != recMagic || h[5] != version || h[6]|h[7] != 0 || n > MaxPayload ||
		Position(le.Uint64(h[12:])) != pos || off+recHdrSize+n > seg.size {
		return nil, fmt.Errorf("%w %d", ErrNoRecord, pos)
	}
	p := slices.Grow(buf[:0], int(n))[:n]
	if _, err := f.ReadAt(p, off+recHdrSize); err != nil {
		return nil, err
	}
	if le.Uint32(h[:]) != crc32.Update(crc32.Checksum(p, castagnoli), castagnoli, h[4:]) {
		return nil, fmt.Errorf("wal: record %d in %s fails its checksum", pos, segName(seg.base))
	}
	return p, nil
}
