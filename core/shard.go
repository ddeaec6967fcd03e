package core

import (
	"math/bits"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/ringbuf"
)

// shard is one ring and the worker goroutine that owns it. The worker alone touches the
// shard's open batches, so appending needs no lock.
type shard struct {
	e       *Engine
	id      int
	g       *generation
	ring    *ringbuf.Ring[*unit]
	depth   prometheus.Gauge
	open    []openBatch        // one per (stream, sink) binding
	pipes   []*pipeline.Worker // per stream (stream.index); nil for plain pipelines
	counts  []*pipelineCounts  // per stream, beside pipes
	facts   processor.Facts
	scratch []byte          // one stored line, when it is processed or goes to several sinks
	src     pipeline.Source // the event RunIndexed reads
	tail    []byte          // src.Tail's buffer: the tail that a request's events share, then one event's end
}

type openBatch struct {
	b     *batch
	first int64 // Unix nanoseconds when the first event of b arrived
}

func newShard(e *Engine, g *generation, id int) *shard {
	sh := &shard{
		e:      e,
		id:     id,
		g:      g,
		ring:   ringbuf.New[*unit](e.server.QueueSize),
		depth:  e.met.queueDepth.WithLabelValues(strconv.Itoa(id)),
		open:   make([]openBatch, g.bindings),
		pipes:  make([]*pipeline.Worker, len(g.streamList)),
		counts: make([]*pipelineCounts, len(g.streamList)),
		facts:  processor.Facts{Host: e.hostJSON},
	}
	for i, st := range g.streamList {
		if !st.pipe.Plain() {
			sh.pipes[i] = st.pipe.NewWorker()
			sh.counts[i] = newPipelineCounts(st.pipeMet)
		}
	}
	return sh
}

// run is the worker loop: take units until the ring is closed and empty, then flush.
func (sh *shard) run() {
	defer sh.g.workers.Done()
	for {
		u, ok := sh.ring.Pop()
		sh.depth.Set(float64(sh.ring.Len()))
		if !ok {
			sh.flushAll()
			return
		}
		if u == tickUnit {
			sh.flushOld(time.Now().UnixNano())
			continue
		}
		sh.process(u)
		if u.ticket != nil {
			u.ticket.appended()
		}
		sh.flushOld(u.received)
		sh.e.release(u)
	}
}

// process appends every event of u to the open batch of each sink its stream routes to. Without
// processors and routes, with one sink, the line is built straight into the batch; otherwise
// it is built once, run through the stream's pipeline, and copied.
func (sh *shard) process(u *unit) {
	st := u.stream
	if w := sh.pipes[st.index]; w != nil {
		sh.processPipeline(u, w)
		return
	}
	events := u.scan.Events
	for i := range events {
		ev := &events[i]
		if len(st.bindings) == 1 {
			if u.skips(st, 0) {
				continue
			}
			ob := sh.batch(st, 0, u)
			ob.b.Data = appendStored(ob.b.Data, u.body, ev, st.idJSON, u.receivedJSON, u.idPrefix, i)
			sh.added(st, 0, ob)
			continue
		}
		sh.scratch = appendStored(sh.scratch[:0], u.body, ev, st.idJSON, u.receivedJSON, u.idPrefix, i)
		for j := range st.bindings {
			if u.skips(st, j) {
				continue
			}
			ob := sh.batch(st, j, u)
			ob.b.Data = append(ob.b.Data, sh.scratch...)
			sh.added(st, j, ob)
		}
	}
}

// processPipeline runs every event of u through the stream's processors and routes, and appends
// it to the batch of each sink it reaches.
func (sh *shard) processPipeline(u *unit, w *pipeline.Worker) {
	st := u.stream
	sh.facts.Token, sh.facts.Stream, sh.facts.StreamID = u.token.nameJSON, st.keyJSON, st.idJSON
	events := u.scan.Events
	counts := sh.counts[st.index]
	defer counts.flush(st.pipeMet)
	indexed := u.scan.Fields != nil
	shared := 0
	if indexed {
		sh.tail = appendTailStart(sh.tail[:0], st.idJSON, u.receivedJSON, u.idPrefix)
		shared = len(sh.tail)
	}
	for i := range events {
		ev := &events[i]
		var r *pipeline.Result
		ok := false
		if indexed {
			// Each event's tail overwrites the previous one's end, after the shared start;
			// sh.tail keeps what the buffer grew to.
			sh.tail = appendTailEnd(sh.tail[:shared], ev, u.receivedJSON, i)
			sh.src.Tail = sh.tail
			sh.src.Body, sh.src.Event, sh.src.Found = u.body, ev, u.scan.Found(i)
			r, ok = w.RunIndexed(&sh.src, &sh.facts, u.received)
		}
		if !ok {
			sh.scratch = appendStored(sh.scratch[:0], u.body, ev, st.idJSON, u.receivedJSON, u.idPrefix, i)
			r = w.Run(sh.scratch[:len(sh.scratch)-1], &sh.facts, u.received)
		}
		counts.count(r)
		for m := r.Sinks; m != 0; m &= m - 1 {
			j := bits.TrailingZeros64(m)
			if u.skips(st, j) {
				continue
			}
			ob := sh.batch(st, j, u)
			ob.b.Data = append(w.AppendLine(ob.b.Data, j), '\n')
			sh.added(st, j, ob)
		}
	}
	sh.src.Body, sh.src.Event, sh.src.Found = nil, nil, nil
}

// skips reports whether u's events must not go to binding j of st: u is a replayed request that
// sink had already delivered.
func (u *unit) skips(st *stream, j int) bool {
	return u.skip != 0 && u.skip&(1<<st.sinkOf[j].id) != 0
}

// batch returns the open batch of binding j of stream st, opening one when needed, for an
// event of u. Callers append one line to it, then call added.
func (sh *shard) batch(st *stream, j int, u *unit) *openBatch {
	ob := &sh.open[st.bindings[j]]
	if ob.b == nil {
		ob.b = st.sinkOf[j].newBatch(st)
		ob.b.ReceivedAt, ob.b.Shard = u.received, sh.id
		ob.first = u.received
	}
	ob.b.track(u.ticket)
	return ob
}

// added counts one line in binding j and flushes the batch when it reached max_events or
// max_bytes (so a batch exceeds max_bytes by at most one event).
func (sh *shard) added(st *stream, j int, ob *openBatch) {
	ob.b.Events++
	sr := st.sinkOf[j]
	if ob.b.Events >= sr.bounds.MaxEvents || len(ob.b.Data) >= sr.bounds.MaxBytes {
		sr.deliver(ob.b)
		ob.b = nil
	}
}

// flushOld hands over every batch whose first event is older than its sink's max_age.
func (sh *shard) flushOld(now int64) {
	for i := range sh.open {
		ob := &sh.open[i]
		if ob.b != nil && now-ob.first >= int64(sh.g.bindingSink[i].bounds.MaxAge) {
			sh.g.bindingSink[i].deliver(ob.b)
			ob.b = nil
		}
	}
}

func (sh *shard) flushAll() {
	for i := range sh.open {
		if ob := &sh.open[i]; ob.b != nil {
			sh.g.bindingSink[i].deliver(ob.b)
			ob.b = nil
		}
	}
}
