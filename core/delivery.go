package core

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks"
)

// sinkRunner delivers one sink's batches: a bounded ants pool calls WriteBatch, so a shard that
// flushes while the sink is busy waits for a free worker (back-pressure), and a failed batch is
// retried with capped exponential back-off until it is delivered or shutdown gives up on it.
type sinkRunner struct {
	e       *Engine
	name    string
	sink    sinks.Sink
	bounds  config.Batch
	pool    *ants.PoolWithFuncGeneric[*sinks.Batch]
	free    sync.Pool // *sinks.Batch with their Data capacity kept
	pending sync.WaitGroup
	met     *sinkMetrics

	ctx    context.Context // ends when shutdown stops waiting for this sink
	cancel context.CancelFunc
}

const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 10 * time.Second
)

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
	sr := &sinkRunner{e: e, name: sc.Name, sink: sk, bounds: sc.Batch, met: e.met.forSink(sc.Name)}
	sr.ctx, sr.cancel = context.WithCancel(context.Background())
	// Batches start small and keep what they grew to; sizing each at max_bytes up front would
	// cost shards x streams x max_bytes even for quiet streams.
	initial := min(sc.Batch.MaxBytes, 64<<10)
	sr.free.New = func() any { return &sinks.Batch{Data: make([]byte, 0, initial)} }
	// Purging idle workers would make the steady state allocate goroutines again and again.
	sr.pool, err = ants.NewPoolWithFuncGeneric(max(reg.Concurrency, 1), sr.write, ants.WithDisablePurge(true))
	if err != nil {
		_ = sk.Close(ctx)
		return nil, fmt.Errorf("sink %q: %w", sc.Name, err)
	}
	return sr, nil
}

func (sr *sinkRunner) newBatch(st *stream) *sinks.Batch {
	b := sr.free.Get().(*sinks.Batch)
	b.Stream, b.StreamID = st.key, st.id
	return b
}

// deliver hands a full batch to the pool; it blocks while every worker is busy.
func (sr *sinkRunner) deliver(b *sinks.Batch) {
	sr.pending.Add(1)
	if err := sr.pool.Invoke(b); err != nil {
		// The pool only refuses after it is released, which happens after every shard stopped.
		sr.write(b)
	}
}

func (sr *sinkRunner) write(b *sinks.Batch) {
	defer sr.pending.Done()
	wait := retryFirst
	for {
		err := sr.sink.WriteBatch(sr.ctx, b)
		if err == nil {
			sr.met.ok.Inc()
			sr.met.delivered.Add(float64(b.Events))
			break
		}
		sr.met.failed.Inc()
		if sr.ctx.Err() != nil {
			sr.e.met.dropped.WithLabelValues(b.Stream, dropShutdown).Add(float64(b.Events))
			sr.e.log.Error("batch dropped at shutdown", "sink", sr.name, "stream", b.Stream, "events", b.Events, "err", err)
			break
		}
		sr.e.log.Warn("batch delivery failed; retrying", "sink", sr.name, "stream", b.Stream, "events", b.Events, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-sr.ctx.Done():
			t.Stop()
		}
		wait = min(wait*2, retryMax)
	}
	b.Data, b.Events = b.Data[:0], 0
	sr.free.Put(b)
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
