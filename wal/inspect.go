package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Problem is one defect found in the log's files.
type Problem struct {
	Segment string // file name: a segment, or "checkpoints"
	Offset  int64  // where the bad data starts in the file
	Bytes   int64  // bytes from Offset to the end of the file that could not be used
	Reason  string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("wal: %s at offset %d: %s (%d bytes)", p.Segment, p.Offset, p.Reason, p.Bytes)
}

// Report is what Inspect finds in a log directory.
type Report struct {
	ID          uint64 // the log's id (Log.ID); 0 when its file is missing or unreadable
	Segments    []SegmentInfo
	Checkpoints []Checkpoint // sorted by consumer
	Problems    []Problem    // in file order; Verify returns the first
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Name    string
	Base    uint64
	Size    int64    // file size in bytes
	Valid   int64    // bytes up to the end of the last good record
	First   Position // first and last record; zero when Records is 0
	Last    Position
	Records int
}

// Checkpoint is a consumer's persisted checkpoint: it has delivered every
// record up to and including Position.
type Checkpoint struct {
	Consumer string
	Position Position
}

// Inspect describes the log in dir without changing anything: segments,
// checkpoints and every problem Open would repair or report. It reads all
// records, so it takes as long as reading the log from disk. It is safe to
// run while a Log has dir open; a group being written may then show as a
// torn tail.
func Inspect(dir string) (Report, error) {
	segs, err := survey(dir)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	if data, err := os.ReadFile(filepath.Join(dir, idName)); err == nil {
		rep.ID, _ = parseID(data)
	}
	for _, s := range segs {
		for _, p := range []*Problem{s.missing, s.corrupt} {
			if p != nil {
				rep.Problems = append(rep.Problems, *p)
			}
		}
		rep.Segments = append(rep.Segments, SegmentInfo{
			Name: segName(s.base), Base: s.base, Size: s.size, Valid: s.valid,
			First: s.first, Last: s.last, Records: s.count,
		})
	}
	cps, err := readCheckpoints(dir)
	var bad *Problem
	switch {
	case errors.As(err, &bad):
		rep.Problems = append(rep.Problems, *bad)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return Report{}, err
	}
	rep.Checkpoints = sortedCheckpoints(cps)
	return rep, nil
}

// Verify checks every record of the log in dir against its checksum and
// position, the segments' headers and links, and the checkpoint file. It
// returns nil if all is well, otherwise the first problem as a *Problem
// (naming the file and offset), or the error that stopped it reading.
func Verify(dir string) error {
	rep, err := Inspect(dir)
	if err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return &rep.Problems[0]
	}
	return nil
}

// segFile is a scanned segment file and what is wrong with it.
type segFile struct {
	scanned
	base    uint64
	size    int64    // file size
	missing *Problem // a segment is missing before this one
	corrupt *Problem // bad data from scanned.valid to the end
}

// survey scans every segment in dir.
func survey(dir string) ([]segFile, error) {
	bases, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	var (
		segs []segFile
		buf  []byte
	)
	for i, base := range bases {
		name := segName(base)
		s, size, err := scanFile(filepath.Join(dir, name), base, -1, &buf, nil)
		if err != nil {
			return nil, err
		}
		f := segFile{scanned: s, base: base, size: size}
		if i > 0 && s.headerOK && s.prev != bases[i-1] {
			f.missing = &Problem{Segment: name,
				Reason: "segment missing between " + segName(bases[i-1]) + " and this one"}
		}
		if s.bad != "" {
			f.corrupt = &Problem{Segment: name, Offset: s.valid, Bytes: size - s.valid, Reason: s.bad}
		}
		segs = append(segs, f)
	}
	return segs, nil
}
