// Package wal is ingestd's write-ahead log: accepted request payloads in
// segment files on local disk, fsync'd before the request is answered, kept
// until every consumer (sink) has delivered them, and replayed after a
// restart.
//
// # Guarantees
//
//   - Durable on return: when Append returns a position without error, the
//     record has been written and fsync'd (and so has the segment file's
//     directory entry). It survives a crash of the process or the machine and
//     is replayed to every consumer whose checkpoint is before it, until that
//     consumer acknowledges it. Only loss or corruption of the disk itself
//     can lose it; Open then reports what it had to skip.
//   - At least once: a consumer's checkpoint reaches disk at most every
//     Options.CheckpointInterval, and on Sync and Close. After a crash a
//     consumer is replayed everything after its last persisted checkpoint, so
//     records it delivered in the last interval before the crash are
//     delivered again. A record whose Append failed, or was abandoned through
//     its context, may also have reached disk and then is replayed; callers
//     must treat "error" as "maybe", never as "no".
//   - Order: positions increase in the order records were queued, and Replay
//     returns them in that order. Appends from one goroutine, each waiting
//     for the previous one, and AppendAsync calls from one goroutine get
//     increasing positions.
//   - Unique ids: a record's Position is its byte address in the log (segment
//     base + offset in the file) and is never handed out twice, even across
//     restarts, segment deletion, recovery truncation and I/O errors: the log
//     never writes at an address that was ever used, it only moves on, which
//     leaves gaps. No record has position 0.
//
// # Recovery
//
// Open reads every record of every segment (so it takes as long as reading
// the retained log) and never fails because of what it finds in them:
//
//   - A bad tail of the newest segment (a short header, a short payload, a
//     bad checksum or header) is what a crash during a write leaves. The file
//     is truncated at the last good record, the bytes are counted in
//     Stats().Truncated, and writing continues in a new segment placed after
//     the bytes that were cut. Those records' Appends had not returned, except
//     when the disk corrupted synced data; a bad record is then
//     indistinguishable from a torn write and the good records after it are
//     lost with it.
//   - Bad data in an older segment can only be disk corruption (a segment is
//     synced before the next one starts). The rest of that segment is skipped,
//     counted in Stats().Skipped and reading resumes at the next segment.
//     Later records are worth more than stopping the whole log.
//   - Each segment names its predecessor, so a segment missing from the
//     sequence is reported (Stats().Missing) and skipped over. A missing
//     oldest segment looks like one deleted after delivery and is not reported.
//
// Every problem is also listed by Problems, with file and offset. Inspect and
// Verify report the same without changing anything.
//
// # Consumers and checkpoints
//
// The consumers are named at Open. A consumer new to the log starts after
// the last record present at Open: it is not replayed what was accepted
// before it existed. A consumer no longer named is forgotten, so it does not
// keep segments forever. A segment is deleted once every consumer's
// checkpoint has reached its last record (with no consumers, as soon as it
// is no longer the newest). If the checkpoint file is lost or corrupt while
// records exist, every consumer replays the whole retained log.
//
// One process at a time may open a directory; Open takes a lock file.
package wal

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Position is a record's address in the log: its segment's base plus its
// offset in the segment file. It identifies the record for good.
type Position uint64

var (
	// ErrFull: the record would take the log past Options.MaxBytes. Space is
	// freed when consumers acknowledge records and their segments are deleted.
	ErrFull = errors.New("wal: log full")
	// ErrTooLarge: the payload is longer than MaxPayload.
	ErrTooLarge = errors.New("wal: payload too large")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("wal: log closed")
	// ErrUnknownConsumer: the consumer was not named in Options.Consumers.
	ErrUnknownConsumer = errors.New("wal: unknown consumer")
	// ErrLocked: another Log has the directory open.
	ErrLocked = errors.New("wal: directory in use by another log")
)

// Options configure a Log. The zero value of each field selects its default.
type Options struct {
	// Consumers are the names of the readers whose checkpoints keep records
	// alive (one per sink). Names are non-empty and contain no newline.
	Consumers []string
	// SegmentBytes is the size past which writing moves to a new segment
	// (default 64 MiB). A record larger than that gets a segment of its own.
	SegmentBytes int64
	// MaxBytes caps the total size of the segment files; Append returns
	// ErrFull rather than pass it. 0 means no cap.
	MaxBytes int64
	// Reserve is the part of MaxBytes only AppendReserved may use, so that a
	// consumer can still move records it holds to the head of a full log.
	Reserve int64
	// CheckpointInterval is how often changed checkpoints are persisted and
	// delivered segments deleted (default 1s).
	CheckpointInterval time.Duration
	// CommitDelay is how long the writer lets a group gather before
	// committing it, when the log is busy: when the previous group held at
	// least CommitSiblings records (default 8). Fewer, larger fsyncs leave
	// more CPU and disk time to the appenders, at the cost of up to this much
	// latency under load; a lone appender never waits. A group reaching
	// lingerBytes is committed at once. 0 commits as soon as the writer is free.
	CommitDelay    time.Duration
	CommitSiblings int

	// openFile opens the files the writer writes; tests inject faults here.
	openFile func(name string, flag int, perm os.FileMode) (file, error)
}

// file is what the writer needs of an *os.File.
type file interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Stats are the log's counters since Open.
type Stats struct {
	Appends          uint64 // records made durable
	Fsyncs           uint64 // fsyncs of record data: one per group commit
	Bytes            uint64 // bytes made durable, headers included
	Full             uint64 // appends refused with ErrFull
	Errors           uint64 // appends failed by a write, fsync or segment creation error
	CheckpointErrors uint64 // failed background checkpoint writes (retried)
	Truncated        int64  // bytes cut from the newest segment's tail at Open
	Skipped          int64  // bytes of corrupt data skipped in older segments
	Missing          int    // segments missing from the sequence at Open
	Segments         int    // segment files now
	UsedBytes        int64  // their total size, including appends in flight
}

// Log is an open write-ahead log. Its methods are safe for concurrent use.
type Log struct {
	dir    string
	opts   Options
	unlock func() error
	id     uint64

	mu       sync.Mutex // guards the fields up to kick
	closed   bool
	pending  *batch     // records waiting for the writer
	segs     []*segment // oldest first; the writer's current segment is last
	used     int64      // bytes of segs plus records reserved in pending
	problems []Problem
	kick     chan struct{} // wakes the writer; capacity 1
	done     chan struct{} // closed when the writer has exited
	// full ends the writer's wait for a group early (CommitDelay) once the group holds
	// lingerBytes; capacity 1. lingering says the writer waits on it.
	full      chan struct{}
	lingering bool

	// Owned by the writer goroutine.
	cur  *segment // nil after an I/O error: the next group starts a new segment
	next uint64   // lowest address never used: where a new segment goes

	ckMu      sync.Mutex // guards cps, ckDirty
	cps       map[string]Position
	ckDirty   bool
	persistMu sync.Mutex // serialises checkpoint(); guards floor
	floor     Position   // lowest persisted checkpoint
	stopLoop  chan struct{}
	loopDone  chan struct{}

	isClosed  atomic.Bool
	closeOnce sync.Once
	closeErr  error
	waiters   sync.Pool
	stats     struct {
		appends, fsyncs, bytes, full, errors, ckErrors atomic.Uint64
		truncated, skipped                             atomic.Int64
		missing                                        atomic.Int64
	}
}

// segment is one segment file. The writer changes size, disk, first, last
// and count under Log.mu; others read them under Log.mu.
type segment struct {
	base  uint64
	size  int64 // bytes of header and good, synced records
	disk  int64 // bytes the file takes (more than size if a cut failed)
	first Position
	last  Position
	count int
	f     file // open only while it is the writer's current segment
}

// batch is the records of one group commit: sealed one after the other in
// buf, with the waiter of each.
type batch struct {
	buf     []byte
	waiters []*waiter
}

const (
	waiting uint32 = iota
	finished
	abandoned
)

// waiter carries one record's outcome back to its Append; pooled.
type waiter struct {
	n     int // record length, header included
	pos   Position
	err   error
	fn    func(Position, error) // AppendAsync's callback; nil for Append
	state atomic.Uint32
	done  chan struct{}
}

// Open opens (creating if needed) the log in dir, recovers it as the package
// documentation describes, and starts its writer.
func Open(dir string, opts Options) (*Log, error) {
	if opts.Reserve < 0 || opts.MaxBytes > 0 && opts.Reserve >= opts.MaxBytes {
		return nil, fmt.Errorf("wal: reserve %d must be less than max bytes %d", opts.Reserve, opts.MaxBytes)
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	if opts.CommitSiblings <= 0 {
		opts.CommitSiblings = 8
	}
	if opts.openFile == nil {
		opts.openFile = func(name string, flag int, perm os.FileMode) (file, error) {
			return os.OpenFile(name, flag, perm)
		}
	}
	seen := make(map[string]bool)
	for _, c := range opts.Consumers {
		if c == "" || strings.ContainsAny(c, "\n") || seen[c] {
			return nil, fmt.Errorf("wal: consumer name %q is empty, has a newline or is repeated", c)
		}
		seen[c] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir: dir, opts: opts, unlock: unlock,
		pending:  &batch{},
		kick:     make(chan struct{}, 1),
		full:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		stopLoop: make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	l.waiters.New = func() any { return &waiter{done: make(chan struct{}, 1)} }
	if l.id, err = loadID(dir); err != nil {
		unlock()
		return nil, err
	}
	if err := l.recover(); err != nil {
		if l.cur != nil {
			l.cur.f.Close()
		}
		unlock()
		return nil, err
	}
	go l.run()
	go l.checkpointLoop()
	return l, nil
}

// recover scans the segments, repairs the newest one, settles the
// checkpoints and opens the segment to write to.
func (l *Log) recover() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		// A segment or checkpoint file that was never renamed into place.
		name, ok := strings.CutSuffix(e.Name(), ".tmp")
		if _, isSeg := parseSegName(name); ok && (isSeg || name == ckName || name == idName) {
			if err := os.Remove(filepath.Join(l.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	found, err := survey(l.dir)
	if err != nil {
		return err
	}
	var lastPos Position
	newest := len(found) - 1
	for i, f := range found {
		s := &segment{base: f.base, size: f.valid, disk: f.size, first: f.first, last: f.last, count: f.count}
		l.segs = append(l.segs, s)
		l.used += f.size
		if f.count > 0 {
			lastPos = f.last
		}
		// Never reuse an address: not even the base of a file too short to hold a header.
		l.next = f.base + uint64(max(f.size, segHdrSize))
		if p := f.missing; p != nil {
			l.stats.missing.Add(1)
			l.problems = append(l.problems, *p)
		}
		if p := f.corrupt; p != nil {
			if i == newest && f.headerOK {
				if err := l.cut(s, f.valid); err != nil {
					return err
				}
				l.stats.truncated.Add(p.Bytes)
				p.Reason += "; truncated"
			} else {
				l.stats.skipped.Add(p.Bytes)
				p.Reason += "; skipped to the next segment"
			}
			l.problems = append(l.problems, *p)
		}
	}

	if err := l.loadCheckpoints(lastPos); err != nil {
		return err
	}
	// Positions handed out from now on must also be past every checkpoint,
	// or a consumer would skip them.
	maxCp := Position(0)
	for _, p := range l.cps {
		maxCp = max(maxCp, p)
	}
	if maxCp != 0 && uint64(maxCp) >= l.next {
		l.next = uint64(maxCp) + 1
	}
	// Keep writing the newest segment only if it is whole and nothing has
	// been cut from it: the cut bytes' positions must not be reused.
	if newest >= 0 && found[newest].bad == "" && found[newest].base+uint64(found[newest].size) == l.next {
		s := l.segs[newest]
		f, err := l.opts.openFile(filepath.Join(l.dir, segName(s.base)), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		s.f, l.cur = f, s
		return nil
	}
	return l.roll()
}

// cut truncates segment s to its good bytes at Open.
func (l *Log) cut(s *segment, size int64) error {
	f, err := l.opts.openFile(filepath.Join(l.dir, segName(s.base)), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	l.used -= s.disk - size
	s.disk = size
	return nil
}

// loadCheckpoints reads the checkpoint file, keeps the configured consumers'
// checkpoints, starts new consumers after lastPos, forgets the others, and
// persists the result if it differs from the file.
func (l *Log) loadCheckpoints(lastPos Position) error {
	saved, err := readCheckpoints(l.dir)
	fromStart := false
	var bad *Problem
	switch {
	case errors.As(err, &bad):
		bad.Reason += "; every consumer replays the whole log"
		l.problems = append(l.problems, *bad)
		fromStart = true
	case errors.Is(err, os.ErrNotExist):
		if lastPos != 0 {
			l.problems = append(l.problems, Problem{Segment: ckName,
				Reason: "checkpoint file missing; every consumer replays the whole log"})
			fromStart = true
		}
	case err != nil:
		return err
	}
	l.cps = make(map[string]Position, len(l.opts.Consumers))
	kept := 0
	for _, c := range l.opts.Consumers {
		p, ok := saved[c]
		switch {
		case fromStart:
			p = 0
		case ok:
			kept++
		default:
			p = lastPos
		}
		l.cps[c] = p
	}
	if fromStart || kept != len(saved) || kept != len(l.cps) {
		if err := writeCheckpoints(l.dir, l.cps); err != nil {
			return err
		}
	}
	l.floor = minCheckpoint(l.cps)
	return nil
}

// Append writes payload to the log as one record and returns once it is on
// disk and fsync'd, sharing the fsync with concurrent Appends. payload is
// copied before Append waits, and is not retained.
//
// If ctx is done before the record is queued, Append returns ctx.Err() and
// nothing is written. If ctx ends while Append waits, Append returns
// ctx.Err() at once, but the record may still become durable (and be
// replayed) without its position being known.
func (l *Log) Append(ctx context.Context, payload []byte) (Position, error) {
	return l.append(ctx, payload, false)
}

// AppendReserved is Append allowed into Options.Reserve: for the copies a
// consumer makes of records it still holds, which free more than they take.
func (l *Log) AppendReserved(ctx context.Context, payload []byte) (Position, error) {
	return l.append(ctx, payload, true)
}

func (l *Log) append(ctx context.Context, payload []byte, reserved bool) (Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	w := l.getWaiter()
	if err := l.enqueue(w, payload, reserved); err != nil {
		l.waiters.Put(w)
		return 0, err
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		if w.state.CompareAndSwap(waiting, abandoned) {
			return 0, ctx.Err() // the writer recycles w
		}
		<-w.done
	}
	pos, err := w.pos, w.err
	l.waiters.Put(w)
	return pos, err
}

// AppendAsync queues payload (copied; not retained) as one record and
// returns at once. fn is called exactly once, from the log's writer
// goroutine, when the record is durable or has failed; it must be quick and
// must not call Append. If AppendAsync returns an error, fn is never called.
func (l *Log) AppendAsync(payload []byte, fn func(Position, error)) error {
	w := l.getWaiter()
	w.fn = fn
	if err := l.enqueue(w, payload, false); err != nil {
		l.waiters.Put(w)
		return err
	}
	return nil
}

func (l *Log) getWaiter() *waiter {
	w := l.waiters.Get().(*waiter)
	w.pos, w.err, w.fn = 0, nil, nil
	w.state.Store(waiting)
	return w
}

// enqueue copies the record into the pending batch and wakes the writer.
// Only a reserved record may use Options.Reserve.
func (l *Log) enqueue(w *waiter, payload []byte, reserved bool) error {
	if len(payload) > MaxPayload {
		return ErrTooLarge
	}
	w.n = recHdrSize + len(payload)
	sum := crc32.Checksum(payload, castagnoli) // outside the lock: the costly part of the checksum
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	// Leave room for the header of a segment the record may start.
	limit := l.opts.MaxBytes
	if !reserved {
		limit -= l.opts.Reserve
	}
	if l.opts.MaxBytes > 0 && l.used+int64(w.n)+segHdrSize > limit {
		l.mu.Unlock()
		l.stats.full.Add(1)
		return ErrFull
	}
	l.used += int64(w.n)
	b := l.pending
	off := len(b.buf)
	b.buf = append(b.buf, make([]byte, recHdrSize)...)
	beginRecord(b.buf[off:], sum, len(payload))
	b.buf = append(b.buf, payload...)
	b.waiters = append(b.waiters, w)
	full := l.lingering && len(b.buf) >= lingerBytes
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default: // the writer is already due to look
	}
	if full {
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
	return nil
}

// lingerBytes is the group size that ends the writer's wait at once: past it, an fsync's cost
// is the bytes it writes, and waiting for more only adds latency.
const lingerBytes = 1 << 20

// run is the writer: it takes everything queued, commits it with one write
// and one fsync per segment touched, wakes the waiters, and repeats. While it
// waits for an fsync the next group gathers.
func (l *Log) run() {
	defer close(l.done)
	spare := &batch{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	last := 0 // records in the previous group: how busy the log is
	for range l.kick {
		if l.opts.CommitDelay > 0 && last >= l.opts.CommitSiblings {
			l.linger(timer)
		}
		l.mu.Lock()
		b := l.pending
		l.pending = spare
		closed := l.closed
		l.mu.Unlock()
		last = len(b.waiters)
		if len(b.waiters) > 0 {
			l.commit(b)
		}
		clear(b.waiters)
		b.buf, b.waiters = b.buf[:0], b.waiters[:0]
		if cap(b.buf) > 16<<20 {
			b.buf = nil // do not keep a huge group's buffer for ever
		}
		spare = b
		if closed {
			return
		}
	}
}

// linger lets the pending group gather for CommitDelay, or until it holds lingerBytes or the
// log is closing.
func (l *Log) linger(timer *time.Timer) {
	l.mu.Lock()
	if l.closed || len(l.pending.buf) >= lingerBytes {
		l.mu.Unlock()
		return
	}
	l.lingering = true
	l.mu.Unlock()
	timer.Reset(l.opts.CommitDelay)
	select {
	case <-timer.C:
	case <-l.full:
		timer.Stop()
	}
	l.mu.Lock()
	l.lingering = false
	l.mu.Unlock()
	select { // a signal sent as the wait ended must not cut the next one short
	case <-l.full:
	default:
	}
}

// commit writes batch b. Every waiter gets its position, or the error that
// stopped its group.
func (l *Log) commit(b *batch) {
	ws := b.waiters
	var err error
	// b.buf[start:off] holds the sealed records of ws[first:i], not yet written.
	start, first, off := 0, 0, 0
	for i, w := range ws {
		if l.cur == nil || l.mustRoll(int64(off-start), int64(w.n)) {
			if err = l.write(b.buf[start:off], ws[first:i]); err != nil {
				break
			}
			start, first = off, i
			if err = l.roll(); err != nil {
				break
			}
		}
		w.pos = Position(l.cur.base + uint64(l.cur.size) + uint64(off-start))
		seal(b.buf[off:], w.pos)
		off += w.n
	}
	if err == nil {
		err = l.write(b.buf[start:off], ws[first:])
	}
	if err != nil {
		var lost int64
		for _, w := range ws[first:] {
			w.pos, w.err = 0, err
			lost += int64(w.n)
		}
		l.mu.Lock()
		l.used -= lost
		l.mu.Unlock()
		l.stats.errors.Add(uint64(len(ws) - first))
	}
	for _, w := range ws {
		l.finish(w)
	}
}

func (l *Log) finish(w *waiter) {
	switch {
	case w.fn != nil:
		w.fn(w.pos, w.err)
		l.waiters.Put(w)
	case w.state.CompareAndSwap(waiting, finished):
		w.done <- struct{}{}
	default: // abandoned by its Append
		l.waiters.Put(w)
	}
}

// mustRoll reports whether a record of n bytes, after chunk bytes not yet
// written, belongs in a new segment.
func (l *Log) mustRoll(chunk, n int64) bool {
	size := l.cur.size + chunk
	return size > segHdrSize && size+n > l.opts.SegmentBytes
}

// write appends chunk, the records of ws, to the current segment and fsyncs.
func (l *Log) write(chunk []byte, ws []*waiter) error {
	if len(chunk) == 0 {
		return nil
	}
	s := l.cur
	_, err := s.f.WriteAt(chunk, s.size)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		l.abandon(len(chunk))
		return err
	}
	n := int64(len(chunk))
	l.mu.Lock()
	if s.count == 0 {
		s.first = ws[0].pos
	}
	s.last = ws[len(ws)-1].pos
	s.count += len(ws)
	s.size += n
	s.disk += n
	l.mu.Unlock()
	l.next = s.base + uint64(s.size)
	l.stats.fsyncs.Add(1)
	l.stats.appends.Add(uint64(len(ws)))
	l.stats.bytes.Add(uint64(n))
	return nil
}

// abandon gives up the current segment after a failed write or fsync of n
// bytes. After a failed fsync the kernel may have dropped the data or may
// still write it, so the file is cut back to its last synced record (kept
// as is if even that fails: the records then may be replayed, which the
// contract allows) and the next group starts a new segment past those bytes.
func (l *Log) abandon(n int) {
	s := l.cur
	l.next = s.base + uint64(s.size) + uint64(n)
	if s.f.Truncate(s.size) != nil || s.f.Sync() != nil {
		l.mu.Lock()
		s.disk = s.size + int64(n)
		l.used += int64(n) // commit releases the group's reservation; the bytes stay
		l.mu.Unlock()
	}
	s.f.Close()
	s.f, l.cur = nil, nil
}

// roll starts a new segment at l.next, linked to the newest one. The file is
// created under a temporary name and renamed once its header is synced, so
// every segment file has a whole header.
func (l *Log) roll() error {
	prev := uint64(noPrev)
	l.mu.Lock()
	if n := len(l.segs); n > 0 {
		prev = l.segs[n-1].base
	}
	l.mu.Unlock()
	base := l.next
	path := filepath.Join(l.dir, segName(base))
	f, err := l.opts.openFile(path+".tmp", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(segHeader(base, prev), 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err == nil {
		err = syncDir(l.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path + ".tmp")
		os.Remove(path)
		return err
	}
	if l.cur != nil {
		l.cur.f.Close()
		l.cur.f = nil
	}
	s := &segment{base: base, size: segHdrSize, disk: segHdrSize, f: f}
	l.mu.Lock()
	l.segs = append(l.segs, s)
	l.used += segHdrSize
	l.mu.Unlock()
	l.cur, l.next = s, base+segHdrSize
	return nil
}

// Close waits for the queued appends, persists the checkpoints, deletes the
// segments every consumer has passed and releases the directory. Appends
// after Close fail with ErrClosed. Calling Close again returns the first
// call's result.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.isClosed.Store(true)
		select {
		case l.kick <- struct{}{}:
		default:
		}
		select { // end a wait for the group at once
		case l.full <- struct{}{}:
		default:
		}
		<-l.done
		close(l.stopLoop)
		<-l.loopDone
		err := l.checkpoint()
		if l.cur != nil {
			if cerr := l.cur.f.Close(); err == nil {
				err = cerr
			}
		}
		if uerr := l.unlock(); err == nil {
			err = uerr
		}
		l.closeErr = err
	})
	return l.closeErr
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	segs, used := len(l.segs), l.used
	l.mu.Unlock()
	return Stats{
		Appends:          l.stats.appends.Load(),
		Fsyncs:           l.stats.fsyncs.Load(),
		Bytes:            l.stats.bytes.Load(),
		Full:             l.stats.full.Load(),
		Errors:           l.stats.errors.Load(),
		CheckpointErrors: l.stats.ckErrors.Load(),
		Truncated:        l.stats.truncated.Load(),
		Skipped:          l.stats.skipped.Load(),
		Missing:          int(l.stats.missing.Load()),
		Segments:         segs,
		UsedBytes:        used,
	}
}

// Problems lists what Open (and later Replays) found wrong in the files,
// and what was done about it.
func (l *Log) Problems() []Problem {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Problem(nil), l.problems...)
}
