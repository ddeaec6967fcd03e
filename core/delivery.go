package core

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// sinkRunner delivers one sink's batches. Shards hand batches to its queue without ever
// waiting, so a slow or dead sink stalls no shard, and with it no other sink or stream; the
// queue's bound (buffer.max_batches) is enforced where requests come in instead: past it, the
// sink's streams answer 503 (when_full: block) or its new batches are dropped and counted
// (drop_newest). Up to the sink's concurrency of drainers, run on an ants pool, take batches
// from the queue and write them, retrying by the kind of failure: back-off with jitter for
// retryable errors, at least the destination's Retry-After for back-off requests, halves for a
// batch too large, and the dead-letter queue for permanent refusals.
type sinkRunner struct {
	e          *Engine
	id         int // the engine's number for this sink name, stable across reloads
	name       string
	sink       sinks.Sink
	bounds     config.Batch
	maxBatches int
	dropNewest bool
	retry      config.Retry
	dlq        *deadLetter
	met        *sinkMetrics

	mu       sync.Mutex
	queue    []*batch // FIFO; queue[head:] are waiting
	head     int
	drainers int // running drainers, at most workers
	workers  int
	full     atomic.Bool // len(waiting) >= maxBatches

	pool    *ants.PoolWithFuncGeneric[struct{}]
	free    sync.Pool // *batch with their Data capacity kept
	pending sync.WaitGroup

	ctx    context.Context // ends when shutdown stops waiting for this sink
	cancel context.CancelFunc
}

func newSinkRunner(ctx context.Context, e *Engine, sc *config.Sink) (*sinkRunner, error) {
	reg, ok := sinks.Lookup(sc.Type)
	if !ok {
		return nil, fmt.Errorf("sink %q: type %q is not compiled in", sc.Name, sc.Type)
	}
	sk, err := reg.New(sc.Name, sc.Options)
	if err != nil {
		return nil, fmt.Errorf("sink %q: %w", sc.Name, err)
	}
	if err := sk.Connect(ctx); err != nil {
		_ = sk.Close(ctx)
		return nil, fmt.Errorf("sink %q: connect: %w", sc.Name, err)
	}
	id, err := e.sinkID(sc.Name)
	if err != nil {
		_ = sk.Close(ctx)
		return nil, err
	}
	sr := &sinkRunner{
		e: e, id: id, name: sc.Name, sink: sk, bounds: sc.Batch, met: e.met.forSink(sc.Name),
		maxBatches: sc.Buffer.MaxBatches, dropNewest: sc.Buffer.WhenFull == config.WhenFullDropNewest,
		retry: sc.Retry, dlq: newDeadLetter(sc.DeadLetter.Dir, sc.Name),
		workers: max(reg.Concurrency, 1),
	}
	sr.ctx, sr.cancel = context.WithCancel(context.Background())
	// Batches start small and keep what they grew to; sizing each at max_bytes up front would
	// cost shards x streams x max_bytes even for quiet streams.
	initial := min(sc.Batch.MaxBytes, 64<<10)
	sr.free.New = func() any { return &batch{Batch: sinks.Batch{Data: make([]byte, 0, initial)}} }
	// Purging idle workers would make the steady state allocate goroutines again and again.
	sr.pool, err = ants.NewPoolWithFuncGeneric(sr.workers, sr.drain1, ants.WithDisablePurge(true))
	if err != nil {
		_ = sk.Close(ctx)
		return nil, fmt.Errorf("sink %q: %w", sc.Name, err)
	}
	return sr, nil
}

func (sr *sinkRunner) newBatch(st *stream) *batch {
	b := sr.free.Get().(*batch)
	b.sink = sr.id
	b.Stream, b.StreamID = st.key, st.id
	b.logged = st.ackDisk
	return b
}

func (sr *sinkRunner) recycle(b *batch) {
	b.Data, b.Events = b.Data[:0], 0
	sr.free.Put(b)
}

// deliver queues a flushed batch; it never waits for the sink.
func (sr *sinkRunner) deliver(b *batch) {
	sr.mu.Lock()
	waiting := len(sr.queue) - sr.head
	if sr.dropNewest && waiting >= sr.maxBatches {
		sr.mu.Unlock()
		sr.e.met.dropped.WithLabelValues(b.Stream, dropSinkFull).Add(float64(b.Events))
		b.finish("sink "+sr.name+" is behind and dropped them (when_full: drop_newest)", false)
		sr.recycle(b)
		return
	}
	sr.pending.Add(1)
	sr.queue = append(sr.queue, b)
	sr.full.Store(waiting+1 >= sr.maxBatches)
	start := sr.drainers < sr.workers
	if start {
		sr.drainers++
	}
	sr.mu.Unlock()
	if start {
		if err := sr.pool.Invoke(struct{}{}); err != nil {
			// The pool refuses only once released, after every shard stopped; drain here.
			sr.drain1(struct{}{})
		}
	}
}

// blocked reports whether the sink's buffer is full under when_full: block, so that requests
// for its streams are refused until it catches up.
func (sr *sinkRunner) blocked() bool { return !sr.dropNewest && sr.full.Load() }

// drain1 is one drainer: it writes queued batches until the queue is empty.
func (sr *sinkRunner) drain1(struct{}) {
	for {
		sr.mu.Lock()
		if sr.head == len(sr.queue) {
			sr.queue, sr.head = sr.queue[:0], 0
			sr.drainers--
			sr.mu.Unlock()
			return
		}
		b := sr.queue[sr.head]
		sr.queue[sr.head] = nil
		sr.head++
		sr.full.Store(len(sr.queue)-sr.head >= sr.maxBatches)
		sr.mu.Unlock()
		why := sr.write(&b.Batch, b.logged)
		b.finish(why, why != "" && sr.ctx.Err() != nil)
		sr.recycle(b)
		sr.pending.Done()
	}
}

// write delivers b, retrying until it is delivered, dead-lettered, or shutdown gives up. It
// returns why some events were not delivered, or "" when all were. logged says b's events are
// in the write-ahead log (ack: disk), where shutdown leaves them for the next start.
func (sr *sinkRunner) write(b *sinks.Batch, logged bool) string {
	wait := sr.retry.InitialBackoff
	for {
		if d := sr.e.wal; d != nil {
			b.Checkpoint = d.mark(sr.id)
		}
		err := sr.sink.WriteBatch(sr.ctx, b)
		if err == nil {
			sr.met.ok.Inc()
			sr.met.delivered.Add(float64(b.Events))
			return ""
		}
		sr.met.failed.Inc()
		if sr.ctx.Err() != nil {
			if logged {
				sr.e.log.Warn("batch left in the write-ahead log at shutdown; the next start delivers it", "sink", sr.name, "stream", b.Stream, "events", b.Events, "err", err)
			} else {
				sr.e.met.dropped.WithLabelValues(b.Stream, dropShutdown).Add(float64(b.Events))
				sr.e.log.Error("batch dropped at shutdown", "sink", sr.name, "stream", b.Stream, "events", b.Events, "err", err)
			}
			return "sink " + sr.name + " could not deliver them before shutdown"
		}
		kind, least := sinks.Classify(err)
		switch kind {
		case sinks.Permanent:
			if lines := sinks.Refused(err); len(lines) > 0 && len(lines) < b.Events {
				return sr.deadLetterLines(b, lines, sinks.RefusedReasons(err), err)
			}
			return sr.deadLetter(b, err, nil)
		case sinks.TooLarge:
			if b.Events > 1 {
				sr.e.log.Warn("batch too large for the sink; splitting it", "sink", sr.name, "stream", b.Stream, "events", b.Events)
				return sr.split(b, logged)
			}
			return sr.deadLetter(b, fmt.Errorf("one event is too large for the sink: %w", err), nil)
		}
		pause := jitter(wait)
		if kind == sinks.Backoff {
			pause = max(pause, least)
		}
		sr.e.log.Warn("batch delivery failed; retrying", "sink", sr.name, "stream", b.Stream, "events", b.Events, "retry_in", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-sr.ctx.Done():
			t.Stop()
		}
		wait = min(wait*2, sr.retry.MaxBackoff)
	}
}

// split writes b's lines as two batches of about half the events each.
func (sr *sinkRunner) split(b *sinks.Batch, logged bool) string {
	cut, n := half(b)
	failed := ""
	for _, part := range [2]struct {
		data   []byte
		events int
	}{{b.Data[:cut], n}, {b.Data[cut:], b.Events - n}} {
		h := sr.free.Get().(*batch)
		h.Stream, h.StreamID, h.ReceivedAt = b.Stream, b.StreamID, b.ReceivedAt
		h.Data, h.Events = append(h.Data[:0], part.data...), part.events
		if why := sr.write(&h.Batch, logged); why != "" {
			failed = why
		}
		sr.recycle(h)
	}
	return failed
}

// half returns where b's first half of lines ends, and how many events that is.
func half(b *sinks.Batch) (cut, n int) {
	for n < b.Events/2 {
		cut += bytes.IndexByte(b.Data[cut:], '\n') + 1
		n++
	}
	return cut, n
}

// deadLetter keeps b's events in the dead-letter queue with the reason they were refused (each
// line's own, when reasons has one per line), and returns that reason.
func (sr *sinkRunner) deadLetter(b *sinks.Batch, reason error, reasons []string) string {
	why := "sink " + sr.name + " refused them: " + reason.Error()
	if err := sr.dlq.write(b, reason, reasons, time.Now()); err != nil {
		sr.e.met.dropped.WithLabelValues(b.Stream, dropDeadLetterFailed).Add(float64(b.Events))
		sr.e.log.Error("refused batch lost: the dead-letter queue could not be written", "sink", sr.name, "stream", b.Stream, "events", b.Events, "refusal", reason, "err", err)
		return why
	}
	sr.met.deadLettered.Add(float64(b.Events))
	sr.e.log.Error("batch refused by the sink; kept in the dead-letter queue", "sink", sr.name, "stream", b.Stream, "events", b.Events, "dir", sr.dlq.dir, "err", reason)
	return why + " (kept in its dead-letter queue)"
}

// deadLetterLines counts a batch the sink took but for the given lines as delivered, and sends
// those lines to the dead-letter queue, with reasons[i] as line lines[i]'s reason when given.
func (sr *sinkRunner) deadLetterLines(b *sinks.Batch, lines []int, reasons []string, reason error) string {
	h := sr.free.Get().(*batch)
	h.Stream, h.StreamID, h.ReceivedAt = b.Stream, b.StreamID, b.ReceivedAt
	h.Data, h.Events = h.Data[:0], 0
	i, next := 0, 0
	for line := range bytes.Lines(b.Data) {
		if next < len(lines) && lines[next] == i {
			h.Data = append(h.Data, line...)
			h.Events++
			next++
		}
		i++
	}
	sr.met.delivered.Add(float64(b.Events - h.Events))
	why := sr.deadLetter(&h.Batch, reason, reasons)
	sr.recycle(h)
	return why
}

// jitter returns a random duration in [d/2, d], so that sinks failing together do not retry in
// step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// drain waits until every handed-over batch is written. If ctx ends first, delivery is told to
// give up (remaining batches are counted as dropped) and drain returns an error.
func (sr *sinkRunner) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { sr.pending.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		sr.cancel()
		<-done
		err = fmt.Errorf("sink %q did not deliver everything before the grace period ended: %w", sr.name, ctx.Err())
	}
	sr.cancel()
	sr.pool.Release()
	return err
}
