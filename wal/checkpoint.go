package wal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The checkpoint file is text, one consumer a line, so an operator can read it:
//
//	ingestd-wal-checkpoints 1
//	<position> <consumer>
//	crc32c <CRC32C of everything above, 8 hex digits>
const (
	ckName   = "checkpoints"
	ckHeader = "ingestd-wal-checkpoints 1\n"
	ckFooter = len("crc32c 00000000\n")
)

// Ack records that consumer has delivered every record up to and including
// upTo. Checkpoints only move forward: an upTo at or below the current one
// is ignored, so a consumer whose deliveries complete out of order must pass
// the end of its contiguous delivered prefix, never a later position.
// The checkpoint reaches disk at the next checkpoint interval, Sync or Close.
func (l *Log) Ack(consumer string, upTo Position) error {
	if l.isClosed.Load() {
		return ErrClosed
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	cp, ok := l.cps[consumer]
	if !ok {
		return ErrUnknownConsumer
	}
	if upTo > cp {
		l.cps[consumer] = upTo
		l.ckDirty = true
	}
	return nil
}

// Sync persists the checkpoints now if they changed since the last time and
// deletes the segments every consumer has passed. Appended records need no
// Sync: Append returns only once they are on disk.
func (l *Log) Sync() error {
	if l.isClosed.Load() {
		return ErrClosed
	}
	return l.checkpoint()
}

// Replay calls fn, in position order, for every record after consumer's
// checkpoint that was durable when Replay was called; records appended
// meanwhile are not included. The payload is valid only during the call.
// An error from fn stops the replay and is returned. Data that has become
// corrupt since Open is skipped to the end of its segment, counted in
// Stats().Skipped and listed in Problems.
func (l *Log) Replay(consumer string, fn func(pos Position, payload []byte) error) error {
	l.ckMu.Lock()
	from, ok := l.cps[consumer]
	l.ckMu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownConsumer, consumer)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	segs := make([]segment, len(l.segs))
	for i, s := range l.segs {
		// Not s.f: the writer owns it and changes it without the lock.
		segs[i] = segment{base: s.base, size: s.size, last: s.last, count: s.count}
	}
	l.mu.Unlock()

	after := func(pos Position, p []byte) error {
		if pos <= from {
			return nil
		}
		return fn(pos, p)
	}
	var buf []byte
	for _, s := range segs {
		if s.count == 0 || s.last <= from {
			continue
		}
		name := segName(s.base)
		sc, _, err := scanFile(filepath.Join(l.dir, name), s.base, s.size, &buf, after)
		if errors.Is(err, fs.ErrNotExist) {
			continue // every consumer passed it while we replayed
		}
		if err != nil {
			return err
		}
		if sc.bad != "" {
			l.stats.skipped.Add(s.size - sc.valid)
			l.mu.Lock()
			l.problems = append(l.problems, Problem{Segment: name, Offset: sc.valid, Bytes: s.size - sc.valid, Reason: sc.bad})
			l.mu.Unlock()
		}
	}
	return nil
}

// checkpoint persists changed checkpoints, then deletes every leading
// segment whose records all consumers have passed. Deleting only after the
// checkpoints are on disk keeps the files consistent with each other.
func (l *Log) checkpoint() error {
	l.persistMu.Lock()
	defer l.persistMu.Unlock()
	l.ckMu.Lock()
	var snap map[string]Position
	if l.ckDirty {
		snap, l.ckDirty = maps.Clone(l.cps), false
	}
	l.ckMu.Unlock()
	if snap != nil {
		if err := writeCheckpoints(l.dir, snap); err != nil {
			l.ckMu.Lock()
			l.ckDirty = true
			l.ckMu.Unlock()
			l.stats.ckErrors.Add(1)
			return err
		}
		l.floor = minCheckpoint(snap)
	}
	return l.collect(l.floor)
}

// collect deletes leading segments whose last record is at or below floor.
// The newest segment always stays: the next one links to it.
func (l *Log) collect(floor Position) error {
	var dead []uint64
	l.mu.Lock()
	for len(l.segs) > 1 && (l.segs[0].count == 0 || l.segs[0].last <= floor) {
		dead = append(dead, l.segs[0].base)
		l.used -= l.segs[0].disk
		l.segs[0] = nil
		l.segs = l.segs[1:]
	}
	l.mu.Unlock()
	var first error
	for _, base := range dead {
		if err := os.Remove(filepath.Join(l.dir, segName(base))); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

func (l *Log) checkpointLoop() {
	defer close(l.loopDone)
	t := time.NewTicker(l.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stopLoop:
			return
		case <-t.C:
			l.checkpoint() // a failure is counted and retried at the next tick
		}
	}
}

// minCheckpoint is the checkpoint every consumer has reached; with no
// consumers nobody needs any record.
func minCheckpoint(cps map[string]Position) Position {
	floor := Position(math.MaxUint64)
	for _, p := range cps {
		floor = min(floor, p)
	}
	return floor
}

func sortedCheckpoints(cps map[string]Position) []Checkpoint {
	out := make([]Checkpoint, 0, len(cps))
	for _, name := range slices.Sorted(maps.Keys(cps)) {
		out = append(out, Checkpoint{Consumer: name, Position: cps[name]})
	}
	return out
}

// readCheckpoints reads dir's checkpoint file. A file that exists but cannot
// be trusted yields a *Problem.
func readCheckpoints(dir string) (map[string]Position, error) {
	data, err := os.ReadFile(filepath.Join(dir, ckName))
	if err != nil {
		return nil, err
	}
	cps, reason := decodeCheckpoints(data)
	if reason != "" {
		return nil, &Problem{Segment: ckName, Bytes: int64(len(data)), Reason: reason}
	}
	return cps, nil
}

func decodeCheckpoints(data []byte) (map[string]Position, string) {
	if len(data) < len(ckHeader)+ckFooter || !bytes.HasPrefix(data, []byte(ckHeader)) {
		return nil, "not a checkpoint file"
	}
	body, foot := data[:len(data)-ckFooter], string(data[len(data)-ckFooter:])
	sum, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(foot, "crc32c "), "\n"), 16, 32)
	if err != nil || !strings.HasPrefix(foot, "crc32c ") || crc32.Checksum(body, castagnoli) != uint32(sum) {
		return nil, "checkpoint file checksum mismatch"
	}
	cps := make(map[string]Position)
	for line := range strings.Lines(string(body[len(ckHeader):])) {
		pos, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		p, err := strconv.ParseUint(pos, 10, 64)
		if !ok || err != nil || name == "" {
			return nil, "malformed checkpoint line"
		}
		cps[name] = Position(p)
	}
	return cps, ""
}

// writeCheckpoints replaces dir's checkpoint file atomically: a crash leaves
// either the old file or the new one, never a mix.
func writeCheckpoints(dir string, cps map[string]Position) error {
	b := []byte(ckHeader)
	for _, c := range sortedCheckpoints(cps) {
		b = strconv.AppendUint(b, uint64(c.Position), 10)
		b = append(b, ' ')
		b = append(b, c.Consumer...)
		b = append(b, '\n')
	}
	b = fmt.Appendf(b, "crc32c %08x\n", crc32.Checksum(b, castagnoli))

	return writeSynced(dir, ckName, b)
}

// AddConsumer adds a consumer to an open log, as Open does for a name it has not seen: the new
// consumer starts after the last durable record, so it is not replayed what came before it.
// Adding a consumer that exists does nothing.
func (l *Log) AddConsumer(name string) error {
	if l.isClosed.Load() {
		return ErrClosed
	}
	last := l.Last()
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	if _, ok := l.cps[name]; !ok {
		l.cps[name] = last
		l.ckDirty = true
	}
	return nil
}

// Last returns the position of the newest durable record, or 0 when the log holds none.
func (l *Log) Last() Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last Position
	for _, s := range l.segs {
		if s.count > 0 {
			last = max(last, s.last)
		}
	}
	return last
}

// RemoveConsumer forgets a consumer, so that its checkpoint no longer keeps segments. Removing
// an unknown consumer does nothing.
func (l *Log) RemoveConsumer(name string) error {
	if l.isClosed.Load() {
		return ErrClosed
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	if _, ok := l.cps[name]; ok {
		delete(l.cps, name)
		l.ckDirty = true
	}
	return nil
}

// Checkpoint returns a consumer's checkpoint: every record at or below it is delivered.
func (l *Log) Checkpoint(name string) (Position, bool) {
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	p, ok := l.cps[name]
	return p, ok
}
