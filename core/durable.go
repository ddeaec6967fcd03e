package core

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/wal"
)

// durable is the engine's write-ahead log for streams with ack: disk. A request is appended
// (and fsync'd, in a group with the requests that arrive meanwhile) before it is answered 200
// and queued; its ticket then follows its events to the sinks. Each sink is a consumer of the
// log with its own checkpoint, moved past a request once the sink finished with its events
// (delivered them, kept them in its dead-letter queue, or dropped them by its when_full
// policy) — or at once when none of them went to it. Events a sink dropped at shutdown freeze
// that sink's checkpoint before their request, so the next start replays it to that sink, with
// whatever the sink delivered after it: at-least-once, with duplicates only after a crash or an
// unfinished shutdown.
type durable struct {
	log     *wal.Log
	tickets sync.Pool // *ticket, recycled once every sink has passed them

	mu        sync.Mutex
	inflight  []*ticket // by position; the head is the oldest request some sink has not finished
	consumers [maxSinkIDs]string
	active    uint64 // sink ids that are consumers
	stuck     uint64 // sinks whose checkpoint is frozen until the next start
	// marks holds each sink's checkpoint as sinks.Batch.Checkpoint spells it.
	marks [maxSinkIDs]atomic.Pointer[string]

	copies     []*ticket // copies made by relocate and not yet resolved
	relocateAt int64     // log size past which held-back requests are copied to the head; 0: never
	relocated  atomic.Uint64
	relocBytes atomic.Uint64
	warn       *slog.Logger

	stop chan struct{}
	done chan struct{}
}

const (
	walCheckpoint = 100 * time.Millisecond // how often finished requests are acknowledged
	walVersion    = 1                      // a request record
	walCopy       = 2                      // a request record copied to the head for some sinks
)

// openDurable opens the log with the given sinks (id -> name) as its consumers.
func openDurable(c config.WAL, sinks map[int]string) (*durable, error) {
	// An eighth of the log is kept for the copies relocate makes, so that they can be made when
	// the log is full for requests; relocating starts when requests have used half of the rest.
	reserve := c.MaxBytes / 8
	d := &durable{stop: make(chan struct{}), done: make(chan struct{}), relocateAt: (c.MaxBytes - reserve) / 2, warn: slog.Default()}
	var names []string
	for id, name := range sinks {
		d.consumers[id] = name
		d.active |= 1 << id
		names = append(names, name)
	}
	var delay time.Duration // a config that did not go through config.Load has none
	if c.CommitDelay != nil {
		delay = *c.CommitDelay
	}
	l, err := wal.Open(c.Dir, wal.Options{
		Consumers:    names,
		MaxBytes:     c.MaxBytes,
		Reserve:      reserve,
		SegmentBytes: c.SegmentBytes,
		// Under load, fewer and larger fsyncs leave the CPUs and the disk to the requests.
		CommitDelay:    delay,
		CommitSiblings: c.CommitSiblings,
		// What a crash replays is what was delivered since the last persisted checkpoint;
		// persisting one costs a few small writes and fsyncs.
		CheckpointInterval: 5 * walCheckpoint,
	})
	if err != nil {
		return nil, fmt.Errorf("write-ahead log %s: %w", c.Dir, err)
	}
	d.log = l
	for m := d.active; m != 0; m &= m - 1 {
		id := bits.TrailingZeros64(m)
		d.setMark(id, d.checkpoint(id))
	}
	go d.loop()
	return d, nil
}

func (d *durable) checkpoint(id int) wal.Position {
	pos, _ := d.log.Checkpoint(d.consumers[id])
	return pos
}

// setMark records sink id's checkpoint for the batches written to it from now on.
func (d *durable) setMark(id int, pos wal.Position) {
	if pos == 0 {
		return
	}
	var b [32]byte
	mark := string(appendHex16(appendHex16(b[:0], d.log.ID()), uint64(pos)))
	d.marks[id].Store(&mark)
}

// mark returns sink id's checkpoint as sinks.Batch.Checkpoint spells it, or "".
func (d *durable) mark(id int) string {
	if p := d.marks[id].Load(); p != nil {
		return *p
	}
	return ""
}

// parseMark reads a checkpoint a sink reported (sinks.Resumer). It refuses one of another log:
// a wiped log directory numbers its records from the start again.
func (d *durable) parseMark(mark string) (wal.Position, error) {
	if len(mark) != 32 {
		return 0, fmt.Errorf("checkpoint %q is not 32 hex digits", mark)
	}
	id, err1 := strconv.ParseUint(mark[:16], 16, 64)
	pos, err2 := strconv.ParseUint(mark[16:], 16, 64)
	switch {
	case err1 != nil || err2 != nil:
		return 0, fmt.Errorf("checkpoint %q is not 32 hex digits", mark)
	case id != d.log.ID():
		return 0, fmt.Errorf("checkpoint %q belongs to another write-ahead log (this one is %016x)", mark, d.log.ID())
	}
	return wal.Position(pos), nil
}

// addSink makes a sink a consumer from now on; it is not replayed what came before it.
func (d *durable) addSink(id int, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active&(1<<id) != 0 {
		return nil
	}
	if err := d.log.AddConsumer(name); err != nil {
		return err
	}
	d.consumers[id] = name
	d.active |= 1 << id
	d.setMark(id, d.checkpoint(id))
	return nil
}

// removeSink forgets a sink the config no longer has, so that it keeps no segment.
func (d *durable) removeSink(id int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active&(1<<id) == 0 {
		return nil
	}
	d.active &^= 1 << id
	d.stuck &^= 1 << id
	return d.log.RemoveConsumer(d.consumers[id])
}

// appendRecord writes one request: its body's format, stream, token name and receive time, then
// its decoded body compressed with S2. JSON shrinks three to five times at well over a
// gigabyte a second per core, and the disk's bandwidth, not fsyncs, is what bounds ack: disk
// without it. scratch is reused for the record.
func (d *durable) appendRecord(scratch []byte, u *unit, f decode.Format) ([]byte, wal.Position, error) {
	b := append(scratch[:0], walVersion, byte(f))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(u.stream.id)))
	b = append(b, u.stream.id...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(u.token.name)))
	b = append(b, u.token.name...)
	b = binary.LittleEndian.AppendUint64(b, uint64(u.received))
	b = slices.Grow(b, s2.MaxEncodedLen(len(u.body)))
	packed := s2.Encode(b[len(b):cap(b)], u.body)
	b = b[:len(b)+len(packed)]
	pos, err := d.log.Append(context.Background(), b)
	return b, pos, err
}

// walRecord is a decoded record.
type walRecord struct {
	format        decode.Format
	stream, token string
	received      int64
	body          []byte
	// A copy (relocate) names the request's own position, which its event ids keep, and the
	// sinks it is for; origin is 0 and only nil for the request's own record.
	origin wal.Position
	only   []string
	inner  []byte // the request record itself, without the copy's header
}

// appendCopy appends a copy of the request record inner (itself a copy or not) for the sinks
// named: walCopy, the request's position, the count of names and each name, then the request
// record.
func appendCopy(dst []byte, origin wal.Position, names []string, inner []byte) []byte {
	dst = append(dst, walCopy)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(origin))
	dst = append(dst, byte(len(names)))
	for _, n := range names {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(n)))
		dst = append(dst, n...)
	}
	return append(dst, inner...)
}

func parseRecord(p []byte) (walRecord, error) {
	var r walRecord
	bad := errors.New("not a request record of this version")
	if len(p) > 0 && p[0] == walCopy {
		if len(p) < 10 {
			return r, bad
		}
		origin := wal.Position(binary.LittleEndian.Uint64(p[1:]))
		n := int(p[9])
		p = p[10:]
		var only []string
		for range n {
			if len(p) < 2 || len(p) < 2+int(binary.LittleEndian.Uint16(p)) {
				return r, bad
			}
			l := int(binary.LittleEndian.Uint16(p))
			only = append(only, string(p[2:2+l]))
			p = p[2+l:]
		}
		req, err := parseRecord(p)
		if err == nil && (origin == 0 || len(only) == 0 || req.origin != 0) {
			err = bad // a copy names where it comes from and whom it is for, and holds a request
		}
		req.origin, req.only, req.inner = origin, only, p
		return req, err
	}
	r.inner = p
	if len(p) < 2 || p[0] != walVersion || decode.Format(p[1]) != decode.JSON && decode.Format(p[1]) != decode.NDJSON {
		return r, bad
	}
	r.format = decode.Format(p[1])
	p = p[2:]
	field := func() (string, bool) {
		if len(p) < 2 {
			return "", false
		}
		n := int(binary.LittleEndian.Uint16(p))
		if len(p) < 2+n {
			return "", false
		}
		s := string(p[2 : 2+n])
		p = p[2+n:]
		return s, true
	}
	var ok1, ok2 bool
	r.stream, ok1 = field()
	r.token, ok2 = field()
	if !ok1 || !ok2 || len(p) < 8 {
		return r, bad
	}
	r.received = int64(binary.LittleEndian.Uint64(p))
	r.body = p[8:]
	if _, err := s2.DecodedLen(r.body); err != nil {
		return r, fmt.Errorf("the body is not S2 data: %w", err)
	}
	return r, nil
}

// ticket returns a ticket for a request at pos, held by its shard worker. Tickets of ack: disk
// are pooled: once every sink has passed one, nothing refers to it any more.
func (d *durable) ticket(pos wal.Position) *ticket {
	t, _ := d.tickets.Get().(*ticket)
	if t == nil {
		t = &ticket{}
	}
	t.pos = pos
	t.pending.Store(1)
	return t
}

// recycle returns a finished ticket to the pool, its fields as new.
func (d *durable) recycle(t *ticket) {
	t.moved, t.copies, t.of, t.only, t.resolved = 0, 0, nil, 0, false
	t.processed.Store(false)
	t.failed.Store(false)
	t.failure.Store("")
	t.replay.Store(0)
	d.tickets.Put(t)
}

// track adds a request's ticket, keeping the list in position order: appends finish in
// about that order, so the insertion point is at or near the end.
func (d *durable) track(t *ticket) {
	d.mu.Lock()
	d.trackLocked(t)
	d.mu.Unlock()
}

func (d *durable) trackLocked(t *ticket) {
	i := len(d.inflight)
	for i > 0 && d.inflight[i-1].pos > t.pos {
		i--
	}
	d.inflight = append(d.inflight, nil)
	copy(d.inflight[i+1:], d.inflight[i:])
	d.inflight[i] = t
}

// advance moves each sink's checkpoint over the requests at the head of the list that the sink
// has finished, and drops from the list the requests every sink has finished.
func (d *durable) advance() error {
	d.mu.Lock()
	d.resolveCopies()
	var to [maxSinkIDs]wal.Position
	var moved uint64
	open := d.active &^ d.stuck // sinks whose run of finished requests goes on
	for _, t := range d.inflight {
		if open == 0 {
			break
		}
		for m := open; m != 0; m &= m - 1 {
			s := bits.TrailingZeros64(m)
			switch t.stateFor(s) {
			case holding:
				open &^= 1 << s
			case dropped:
				d.stuck |= 1 << s
				open &^= 1 << s
			default:
				to[s], moved = t.pos, moved|1<<s
			}
		}
	}
	d.compact()
	names := d.consumers
	d.mu.Unlock()
	var err error
	for m := moved; m != 0; m &= m - 1 {
		s := bits.TrailingZeros64(m)
		err = errors.Join(err, d.log.Ack(names[s], to[s]))
		d.setMark(s, to[s])
	}
	return err
}

// compact drops from the list the requests no sink needs, but for the last of each run of
// them: a sink's checkpoint moves over a run to its end, so the end must stay for it to move
// to. Dropping more than the head keeps the list short while one request is held back for
// long (a sink down), its copy at the log's head standing in for it.
func (d *durable) compact() {
	keep := d.inflight[:0]
	for i, t := range d.inflight {
		if t.finished(d.stuck) && (len(keep) == 0 || i+1 < len(d.inflight) && d.inflight[i+1].finished(d.stuck)) {
			d.recycle(t)
			continue
		}
		keep = append(keep, t)
	}
	clear(d.inflight[len(keep):])
	d.inflight = keep
}

// resolveCopies marks the copies whose sinks have all finished their request, and forgets
// them: the request itself can then go, and so can the copy once compact reaches it.
func (d *durable) resolveCopies() {
	d.copies = slices.DeleteFunc(d.copies, func(c *ticket) bool {
		for m := c.only & d.active &^ c.moved &^ d.stuck; m != 0; m &= m - 1 {
			s := bits.TrailingZeros64(m)
			if c.of.bySink[s].Load() != 0 || c.of.replay.Load()&(1<<s) != 0 {
				return false
			}
		}
		c.resolved = true
		c.of.copies--
		return true
	})
}

// relocate copies the requests that some sinks still hold in the older half of the log to its
// head, for those sinks alone, once the log is past half its max_bytes. A sink that is down (or
// slow) then keeps only what it holds, not every segment written since, and the log does not
// fill up for the streams that do not route to it. A copy is durable before the request's own
// record is let go; a crash in between delivers those events twice, never not at all.
func (d *durable) relocate() {
	d.mu.Lock()
	if len(d.inflight) == 0 {
		d.mu.Unlock()
		return
	}
	// The older half of what the sinks' checkpoints keep: the segments a copy would free.
	low := d.log.Last()
	for m := d.active &^ d.stuck; m != 0; m &= m - 1 {
		low = min(low, d.checkpoint(bits.TrailingZeros64(m)))
	}
	mid := low + (d.log.Last()-low)/2
	type job struct {
		t     *ticket
		sinks uint64
	}
	var jobs []job
	open := d.active &^ d.stuck
	for _, t := range d.inflight {
		if t.pos > mid {
			break
		}
		if t.of == nil && !t.processed.Load() {
			continue // its shard has not said which sinks it goes to yet
		}
		var held uint64
		for m := open &^ t.moved; m != 0; m &= m - 1 {
			if s := bits.TrailingZeros64(m); t.stateFor(s) == holding {
				held |= 1 << s
			}
		}
		if held != 0 {
			jobs = append(jobs, job{t, held})
		}
	}
	names := d.consumers
	d.mu.Unlock()

	var buf, rec []byte
	var to []string
	for _, j := range jobs {
		p, err := d.log.Read(j.t.pos, buf)
		if err == nil {
			buf = p
			var r walRecord
			if r, err = parseRecord(p); err == nil {
				origin := r.origin
				if origin == 0 {
					origin = j.t.pos
				}
				to = to[:0]
				for m := j.sinks; m != 0; m &= m - 1 {
					to = append(to, names[bits.TrailingZeros64(m)])
				}
				rec = appendCopy(rec[:0], origin, to, r.inner)
			}
		}
		var pos wal.Position
		if err == nil {
			pos, err = d.log.AppendReserved(context.Background(), rec)
		}
		if err != nil {
			d.warn.Warn("write-ahead log: a request held back by a sink could not be copied to the head; the log keeps it where it is", "position", j.t.pos, "err", err)
			return
		}
		d.relocated.Add(1)
		d.relocBytes.Add(uint64(len(rec)))
		d.mu.Lock()
		req := j.t
		if req.of != nil {
			req = req.of
		}
		c := d.ticket(pos)
		c.processed.Store(true) // its pending hold is unused: resolved says when it is done
		c.of, c.only = req, j.sinks
		req.copies++
		j.t.moved |= j.sinks
		d.trackLocked(c)
		d.copies = append(d.copies, c)
		d.mu.Unlock()
	}
}

func (d *durable) loop() {
	defer close(d.done)
	t := time.NewTicker(walCheckpoint)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			_ = d.advance()
			if d.relocateAt > 0 && d.log.Stats().UsedBytes > d.relocateAt {
				// Past half full the log frees space every tick, not every persisted
				// checkpoint: copy what sinks hold back, move the checkpoints over the
				// originals, and delete the segments nobody needs now.
				d.relocate()
				_ = d.advance()
				_ = d.log.Sync()
			}
		}
	}
}

// close acknowledges what has finished and closes the log, which persists the checkpoint.
func (d *durable) close() error {
	close(d.stop)
	<-d.done
	return errors.Join(d.advance(), d.log.Close())
}

// replay queues every request the log holds past some sink's checkpoint into g, as the handler
// would have after appending it, for the sinks whose checkpoint is before it; requests keep their
// positions, so finishing them moves the checkpoints. Requests for streams g no longer has, or
// that its limits now refuse, are counted as dropped.
func (e *Engine) replay(g *generation) (int, error) {
	d := e.wal
	var cps [maxSinkIDs]wal.Position
	oldest := -1 // the sink with the lowest checkpoint: replay starts there
	for m := d.active; m != 0; m &= m - 1 {
		s := bits.TrailingZeros64(m)
		cps[s] = max(d.checkpoint(s), e.resumePoint(g, s))
		if oldest < 0 || cps[s] < cps[oldest] {
			oldest = s
		}
	}
	if oldest < 0 {
		return 0, nil
	}
	replayed := 0
	err := d.log.Replay(d.consumers[oldest], func(pos wal.Position, payload []byte) error {
		rec, err := parseRecord(payload)
		if err != nil {
			e.log.Error("write-ahead log record skipped", "position", pos, "err", err)
			return nil
		}
		st := g.streams[rec.stream]
		if st == nil {
			e.met.dropped.WithLabelValues(unknownStream, dropReplayNoStream).Inc()
			e.log.Warn("write-ahead log record for a stream the config no longer has", "stream_id", rec.stream, "position", pos)
			return nil
		}
		n, _ := s2.DecodedLen(rec.body)
		if n > e.server.MaxPayloadBytes {
			// The body limit applies to what is replayed as to what is received; checked before
			// a buffer of the size the record claims is made.
			e.met.dropped.WithLabelValues(st.key, dropReplayInvalid).Inc()
			e.log.Error("write-ahead log request is larger than max_payload_bytes now allows", "stream", st.key, "position", pos, "bytes", n)
			return nil
		}
		u := e.acquireUnit()
		u.body, err = s2.Decode(slices.Grow(u.body[:0], n)[:n], rec.body)
		if err != nil {
			e.release(u)
			e.log.Error("write-ahead log record skipped", "position", pos, "err", err)
			return nil
		}
		e.queued.Add(int64(len(u.body)))
		lim := decode.Limits{MaxEvents: e.server.MaxEventsPerRequest, MaxDepth: e.server.MaxDepth}
		u.scan.Fields = st.pipe.ScanFields()
		if err := u.scan.Scan(u.body, rec.format, lim); err != nil {
			e.release(u)
			e.met.dropped.WithLabelValues(st.key, dropReplayInvalid).Inc()
			e.log.Error("write-ahead log request no longer passes the limits", "stream", st.key, "position", pos, "err", err)
			return nil
		}
		u.stream = st
		u.token = g.tokenNamed(rec.token)
		u.stamp(time.Unix(0, rec.received))
		id := pos
		if rec.origin != 0 {
			id = rec.origin // a copy: its events keep the ids they were first stored with
		}
		u.setID(d.log.ID(), uint64(id))
		for m := d.active; m != 0; m &= m - 1 {
			if s := bits.TrailingZeros64(m); cps[s] >= pos || rec.only != nil && !slices.Contains(rec.only, d.consumers[s]) {
				u.skip |= 1 << s // that sink has it already, or a copy is not for it
			}
		}
		t := d.ticket(pos)
		u.ticket = t
		d.track(t)
		for !g.enqueue(u) {
			time.Sleep(time.Millisecond) // the shards are busy with earlier records
		}
		replayed++
		return nil
	})
	return replayed, err
}

// resumePoint asks sink id, if it keeps checkpoints at its destination (sinks.Resumer), for the
// latest one; 0 when it does not, knows none, or gives one this log cannot use. A checkpoint past
// the log's checkpoint for the sink moves the latter: that much was delivered.
func (e *Engine) resumePoint(g *generation, id int) wal.Position {
	d := e.wal
	for _, sr := range g.sinks {
		r, ok := sr.sink.(sinks.Resumer)
		if sr.id != id || !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), resumeTimeout)
		mark, err := r.Resume(ctx)
		cancel()
		if err != nil {
			e.log.Warn("sink could not say where to resume; the write-ahead log's checkpoint is used", "sink", sr.name, "err", err)
			return 0
		}
		if mark == "" {
			return 0
		}
		pos, err := d.parseMark(mark)
		if err == nil && pos > d.log.Last() {
			err = fmt.Errorf("checkpoint %q is past the log's last record", mark)
		}
		if err != nil {
			e.log.Warn("sink's checkpoint ignored; the write-ahead log's is used", "sink", sr.name, "err", err)
			return 0
		}
		if pos > d.checkpoint(id) {
			e.log.Info("sink resumes after the checkpoint its destination committed", "sink", sr.name, "checkpoint", mark)
			if err := d.log.Ack(d.consumers[id], pos); err != nil {
				e.log.Warn("write-ahead log checkpoint not moved", "sink", sr.name, "err", err)
			}
			d.setMark(id, pos)
		}
		return pos
	}
	return 0
}

// resumeTimeout bounds a sink's answer to Resume at start, which delays readiness. Giving up
// only replays more to that sink: duplicates, never loss.
const resumeTimeout = 10 * time.Second

// tokenNamed returns the token called name, or a stand-in carrying only the name (the token
// was removed since the request was accepted), for enrich's token fact.
func (g *generation) tokenNamed(name string) *token {
	for _, tk := range g.tokens {
		if tk.name == name {
			return tk
		}
	}
	return &token{name: name, nameJSON: strconv.AppendQuote(nil, name)}
}

// walCollector exports the log's counters as metrics, read at scrape time.
type walCollector struct {
	d                                        *durable
	appends, fsyncs, bytes, full, errs, used *prometheus.Desc
	segments, truncated, skipped             *prometheus.Desc
	relocated, relocBytes                    *prometheus.Desc
}

func newWALCollector(dur *durable) *walCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &walCollector{
		d:          dur,
		relocated:  d("ingestd_wal_relocated_total", "Requests some sinks held back, copied to the head of the write-ahead log so that older segments could go."),
		relocBytes: d("ingestd_wal_relocated_bytes_total", "Bytes of those copies."),
		appends:    d("ingestd_wal_appends_total", "Requests made durable in the write-ahead log."),
		fsyncs:     d("ingestd_wal_fsyncs_total", "fsyncs of the write-ahead log: one per group commit."),
		bytes:      d("ingestd_wal_bytes_total", "Bytes made durable in the write-ahead log."),
		full:       d("ingestd_wal_full_total", "Requests refused because the write-ahead log reached max_bytes."),
		errs:       d("ingestd_wal_errors_total", "Appends failed by a write or fsync error."),
		used:       d("ingestd_wal_bytes", "Size of the write-ahead log's segment files."),
		segments:   d("ingestd_wal_segments", "Segment files of the write-ahead log."),
		truncated:  d("ingestd_wal_truncated_bytes", "Bytes of a torn tail cut off at start."),
		skipped:    d("ingestd_wal_skipped_bytes", "Bytes of corrupt data skipped at start."),
	}
}

func (c *walCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.appends, c.fsyncs, c.bytes, c.full, c.errs, c.used, c.segments, c.truncated, c.skipped, c.relocated, c.relocBytes} {
		ch <- d
	}
}

func (c *walCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.log.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(c.appends, s.Appends)
	counter(c.fsyncs, s.Fsyncs)
	counter(c.bytes, s.Bytes)
	counter(c.full, s.Full)
	counter(c.errs, s.Errors)
	gauge(c.used, s.UsedBytes)
	gauge(c.segments, int64(s.Segments))
	gauge(c.truncated, s.Truncated)
	gauge(c.skipped, s.Skipped)
	counter(c.relocated, c.d.relocated.Load())
	counter(c.relocBytes, c.d.relocBytes.Load())
}
