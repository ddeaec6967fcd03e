// Package core is the ingestd engine as a library: New builds an engine from a checked config,
// Serve answers the ingest API on a listener, Reload swaps in a new config without losing
// events, Shutdown drains it. cmd/ingestd is a thin shell around it, and another Go program can
// embed it the same way.
//
// The data path, one way through:
//
//	fasthttp handler ─ decode (decompress, validate and index in one pass) into a pooled unit
//	  └─ TryPush onto one shard's ring (round robin, so one hot stream uses every shard)
//	shard worker ─ appends each event, with stream_id/received_at/timestamp added, to the
//	  batch of every sink its stream routes to; flushes on max_events, max_bytes or max_age
//	sink delivery ─ an ants pool per sink calls Sink.WriteBatch, retrying until delivered
//
// Ownership: a unit belongs to the handler until TryPush succeeds, then to the shard worker,
// which releases it after copying its events into batches. A batch belongs to its shard until
// flushed, then to the sink's delivery pool, which puts it back in the batch pool.
//
// Everything built from tokens, streams and sinks lives in a generation. A reload builds a new
// generation, makes it current, waits for the requests still using the old one and stops its
// shards; the old sinks then deliver what they hold in the background, for as long as their
// destinations need (a reload during an outage loses nothing), until Shutdown ends them too.
package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/ratelimit"
)

// Engine is one running ingest service.
type Engine struct {
	server config.Server // fixed for the engine's life; Reload refuses to change it
	log    *slog.Logger
	met    *metrics
	http   *fasthttp.Server
	decomp *decode.Decompressor

	gen      atomic.Pointer[generation]
	reloadMu sync.Mutex

	units   sync.Pool
	queued  atomic.Int64 // decoded bytes held by units, all generations together
	unknown *streamMetrics

	draining atomic.Bool
	stopped  chan struct{} // closed when Shutdown has finished
	once     sync.Once

	hostJSON []byte         // the host name as a JSON string, for enrich's host fact
	wal      *durable       // the write-ahead log of ack: disk streams; nil when none uses it
	sinkIDs  map[string]int // a number per sink name ever configured, for tickets and the log

	// instance and requests number the requests that are not logged, for their event ids
	// (unit.setID): a random id per process, so two processes never give the same id.
	instance uint64
	requests atomic.Uint64

	metricsOnce  sync.Once
	metricsServe fasthttp.RequestHandler

	// retiring counts the sinks of replaced generations still delivering what they were handed;
	// retire ends when Shutdown gives up waiting for them.
	retiring     sync.WaitGroup
	retire       context.Context
	stopRetiring context.CancelFunc
}

// generation is what one config's tokens, streams and sinks turn into.
type generation struct {
	cfg         *config.Config
	tokens      map[[sha256.Size]byte]*token
	streams     map[string]*stream
	streamList  []*stream // in config order: stream.index
	sinks       []*sinkRunner
	bindings    int           // (stream, sink) pairs; each shard keeps one open batch per pair
	bindingSink []*sinkRunner // the sink of each binding
	shards      []*shard
	next        atomic.Uint32 // round-robin shard cursor
	inflight    atomic.Int64  // requests that took this generation and have not finished
	workers     sync.WaitGroup
	stopTick    chan struct{}
}

type token struct {
	digest    [sha256.Size]byte
	name      string
	nameJSON  []byte // the name as a JSON string, for enrich's token fact
	all       bool
	streams   map[string]struct{}
	expiresAt int64 // Unix nanoseconds; 0 = never
	limit     *ratelimit.Bucket
}

type stream struct {
	id      string
	key     string
	index   int    // position in the config, which indexes each shard's pipeline workers
	idJSON  []byte // the id as a JSON string, ready to append
	keyJSON []byte
	limit   *ratelimit.Bucket
	pipe    *pipeline.Pipeline
	// ackDelivered makes requests wait until the sinks delivered their events (ack: delivered);
	// ackDisk writes them to the write-ahead log first (ack: disk).
	ackDelivered, ackDisk bool
	bindings              []int // indexes into each shard's open batches, one per sink of the pipeline
	sinkOf                []*sinkRunner
	met                   *streamMetrics
	pipeMet               *pipelineMetrics
}

// blockedSink returns a sink of the stream whose full buffer refuses new events
// (when_full: block), or nil.
func (st *stream) blockedSink() *sinkRunner {
	for _, sr := range st.sinkOf {
		if sr.blocked() {
			return sr
		}
	}
	return nil
}

// Option adjusts an engine at construction.
type Option func(*Engine)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// New builds an engine from a config that config.Load or config.Parse has checked. Sinks are
// created and connected and shard workers started here; nothing listens until Serve.
func New(ctx context.Context, cfg *config.Config, opts ...Option) (*Engine, error) {
	e := &Engine{
		server:  cfg.Server,
		log:     slog.Default(),
		met:     newMetrics(),
		stopped: make(chan struct{}),
		decomp:  decode.NewDecompressor(cfg.Server.MaxPayloadBytes),
	}
	for _, o := range opts {
		o(e)
	}
	e.unknown = e.met.forStream(unknownStream)
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	e.hostJSON = strconv.AppendQuote(nil, host)
	e.units.New = func() any { return new(unit) }
	e.retire, e.stopRetiring = context.WithCancel(context.Background())
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	e.instance = binary.BigEndian.Uint64(id[:])
	e.sinkIDs = map[string]int{}
	if cfg.UsesWAL() {
		consumers := map[int]string{}
		for _, s := range cfg.Sinks {
			id, err := e.sinkID(s.Name)
			if err != nil {
				return nil, err
			}
			consumers[id] = s.Name
		}
		if e.wal, err = openDurable(cfg.Server.WAL, consumers); err != nil {
			return nil, err
		}
		e.wal.warn = e.log
		e.met.reg.MustRegister(newWALCollector(e.wal))
	}
	g, err := e.build(ctx, cfg)
	if err != nil {
		if e.wal != nil {
			_ = e.wal.close()
		}
		return nil, err
	}
	e.gen.Store(g)
	if e.wal != nil {
		n, err := e.replay(g)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("replaying the write-ahead log: %w", err), e.drain(ctx, g), e.wal.close())
		}
		if n > 0 {
			e.log.Info("replaying requests from the write-ahead log", "requests", n, "dir", cfg.Server.WAL.Dir)
		}
	}
	e.http = &fasthttp.Server{
		Handler:                      e.Handler,
		ErrorHandler:                 e.serverError,
		Name:                         "ingestd",
		ReadTimeout:                  cfg.Server.ReadTimeout,
		WriteTimeout:                 cfg.Server.WriteTimeout,
		IdleTimeout:                  cfg.Server.IdleTimeout,
		MaxRequestBodySize:           cfg.Server.MaxPayloadBytes,
		ReadBufferSize:               cfg.Server.MaxHeaderBytes,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{e.log},
	}
	return e, nil
}

// build turns cfg into a running generation: sinks connected, shard workers started.
func (e *Engine) build(ctx context.Context, cfg *config.Config) (*generation, error) {
	g := &generation{
		cfg:      cfg,
		tokens:   map[[sha256.Size]byte]*token{},
		streams:  map[string]*stream{},
		stopTick: make(chan struct{}),
	}
	for i := range cfg.Tokens {
		t := &cfg.Tokens[i]
		tk := &token{digest: t.Hash, name: t.Name, nameJSON: strconv.AppendQuote(nil, t.Name), streams: map[string]struct{}{}}
		for _, s := range t.Streams {
			tk.all = tk.all || s == "*"
			tk.streams[s] = struct{}{}
		}
		if !t.ExpiresAt.IsZero() {
			tk.expiresAt = t.ExpiresAt.UnixNano()
		}
		if t.RateLimit != nil {
			tk.limit = ratelimit.New(t.RateLimit.EventsPerSecond, t.RateLimit.Burst)
		}
		g.tokens[t.Hash] = tk
	}
	byName := map[string]*sinkRunner{}
	for i := range cfg.Sinks {
		sr, err := newSinkRunner(ctx, e, &cfg.Sinks[i])
		if err != nil {
			g.closeSinks(ctx, e.log)
			return nil, err
		}
		g.sinks = append(g.sinks, sr)
		byName[sr.name] = sr
	}
	for i := range cfg.Streams {
		s := &cfg.Streams[i]
		if s.Pipeline == nil {
			g.closeSinks(ctx, e.log)
			return nil, fmt.Errorf("stream %q has no compiled pipeline; build configs with config.Load or config.Parse", s.ID)
		}
		st := &stream{
			id: s.ID, key: s.Key(), index: i, pipe: s.Pipeline,
			idJSON: strconv.AppendQuote(nil, s.ID), keyJSON: strconv.AppendQuote(nil, s.Key()),
			met: e.met.forStream(s.Key()), pipeMet: e.met.forPipeline(s.Key(), s.Pipeline),
			ackDelivered: s.Ack == config.AckDelivered || s.Ack == "" && cfg.Server.Ack == config.AckDelivered,
			ackDisk:      s.Ack == config.AckDisk || s.Ack == "" && cfg.Server.Ack == config.AckDisk,
		}
		if s.RateLimit != nil {
			st.limit = ratelimit.New(s.RateLimit.EventsPerSecond, s.RateLimit.Burst)
		}
		for _, name := range s.Pipeline.Sinks() {
			st.bindings = append(st.bindings, g.bindings)
			st.sinkOf = append(st.sinkOf, byName[name])
			g.bindingSink = append(g.bindingSink, byName[name])
			g.bindings++
		}
		g.streams[s.ID] = st
		g.streamList = append(g.streamList, st)
	}
	n := cfg.Server.Shards
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	for i := 0; i < n; i++ {
		g.shards = append(g.shards, newShard(e, g, i))
	}
	for _, sh := range g.shards {
		g.workers.Add(1)
		go sh.run()
	}
	go g.tick(tickInterval(cfg))
	return g, nil
}

// tickInterval is how often shards look for batches past max_age: a quarter of the shortest
// max_age, within [10ms, 1s].
func tickInterval(cfg *config.Config) time.Duration {
	d := time.Second
	for _, s := range cfg.Sinks {
		if q := s.Batch.MaxAge / 4; q < d {
			d = q
		}
	}
	return max(d, 10*time.Millisecond)
}

// tick asks every shard to flush old batches. A full ring is skipped: its worker is busy and
// checks batch ages after every unit anyway.
func (g *generation) tick(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-g.stopTick:
			return
		case <-t.C:
			for _, sh := range g.shards {
				sh.ring.TryPush(tickUnit)
			}
		}
	}
}

// acquire returns the current generation with a reference a request holds until release.
// Loading and counting are re-checked so that a reload never drains a generation a request is
// about to push into.
func (e *Engine) acquire() *generation {
	for {
		g := e.gen.Load()
		g.inflight.Add(1)
		if e.gen.Load() == g {
			return g
		}
		g.inflight.Add(-1)
	}
}

// drain stops g's shards, waits for its sinks to deliver and closes them. Undelivered events at
// ctx's end are counted as dropped (reason "shutdown"); under ack: disk they stay in the log.
func (e *Engine) drain(ctx context.Context, g *generation) error {
	err := e.stopShards(ctx, g)
	for _, sr := range g.sinks {
		err = errors.Join(err, sr.drain(ctx))
	}
	g.closeSinks(ctx, e.log)
	return err
}

// stopShards waits for g's requests, closes its rings and lets the workers flush every open
// batch into the sinks' queues.
func (e *Engine) stopShards(ctx context.Context, g *generation) error {
	for g.inflight.Load() > 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	close(g.stopTick)
	for _, sh := range g.shards {
		sh.ring.Close()
	}
	workersDone := make(chan struct{})
	go func() { g.workers.Wait(); close(workersDone) }()
	var err error
	select {
	case <-workersDone:
	case <-ctx.Done():
		err = fmt.Errorf("shards did not drain in time: %w", ctx.Err())
	}
	return err
}

// retireSinks lets the sinks of a replaced generation deliver what they hold, in the
// background and without a deadline: a destination that is down when the config changes gets
// its events when it comes back, not never. Shutdown bounds the wait by its grace period.
func (e *Engine) retireSinks(g *generation) {
	for _, sr := range g.sinks {
		e.retiring.Add(1)
		go func() {
			defer e.retiring.Done()
			if err := sr.drain(e.retire); err != nil {
				e.log.Error("replaced sink stopped before delivering everything", "sink", sr.name, "err", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), sinkCloseTimeout)
			defer cancel()
			if err := sr.sink.Close(ctx); err != nil {
				e.log.Error("closing replaced sink", "sink", sr.name, "err", err)
			}
		}()
	}
}

// sinkCloseTimeout bounds a replaced sink's Close (its final flush) once it has delivered.
const sinkCloseTimeout = 30 * time.Second

// awaitRetired waits for the replaced generations' sinks until ctx ends, then tells them to
// give up.
func (e *Engine) awaitRetired(ctx context.Context) error {
	done := make(chan struct{})
	go func() { e.retiring.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.stopRetiring()
		<-done
		return fmt.Errorf("sinks replaced by a reload did not deliver everything before the grace period ended: %w", ctx.Err())
	}
}

func (g *generation) closeSinks(ctx context.Context, log *slog.Logger) {
	for _, sr := range g.sinks {
		if err := sr.sink.Close(ctx); err != nil {
			log.Error("closing sink", "sink", sr.name, "err", err)
		}
	}
}

// Serve answers on ln until Shutdown. It returns nil after a clean shutdown.
func (e *Engine) Serve(ln net.Listener) error {
	err := e.http.Serve(lingerListener{ln})
	if e.draining.Load() {
		return nil
	}
	return err
}

// Ready reports whether the engine accepts events (what /readyz answers).
func (e *Engine) Ready() bool { return !e.draining.Load() }

// ErrServerChanged is returned by Reload when the new config changes the server section.
var ErrServerChanged = errors.New("the server section (listen address, limits, timeouts) changes only with a restart")

// Reload makes cfg current: tokens, streams, routes and sinks. Requests keep being answered
// throughout; events accepted under the old config are delivered by the old sinks, which keep
// retrying in the background for as long as their destination needs (bounded only by
// Shutdown), so that a reload during an outage loses nothing. ctx bounds the wait for the old
// config's requests and shards. If the new sinks cannot be built (a sink fails to connect),
// the old config stays.
func (e *Engine) Reload(ctx context.Context, cfg *config.Config) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if e.draining.Load() {
		return errors.New("ingestd is shutting down")
	}
	if !reflect.DeepEqual(cfg.Server, e.server) {
		e.met.reloads.WithLabelValues("failed").Inc()
		return ErrServerChanged
	}
	if cfg.UsesWAL() && e.wal == nil {
		e.met.reloads.WithLabelValues("failed").Inc()
		return errors.New("ack: disk needs the write-ahead log, which is opened at start: restart ingestd to use it")
	}
	g, err := e.build(ctx, cfg)
	if err != nil {
		e.met.reloads.WithLabelValues("failed").Inc()
		return err
	}
	if e.wal != nil {
		for _, sr := range g.sinks {
			if err := e.wal.addSink(sr.id, sr.name); err != nil {
				e.met.reloads.WithLabelValues("failed").Inc()
				return errors.Join(err, e.drain(ctx, g))
			}
		}
	}
	e.met.reloads.WithLabelValues("ok").Inc()
	old := e.gen.Swap(g)
	err = e.stopShards(ctx, old)
	e.retireSinks(old)
	if e.wal != nil {
		for _, sr := range old.sinks {
			if !slices.ContainsFunc(g.sinks, func(n *sinkRunner) bool { return n.id == sr.id }) {
				err = errors.Join(err, e.wal.removeSink(sr.id))
			}
		}
	}
	return err
}

// sinkID returns the number of a sink name, giving new names the next one. Numbers are never
// reused, so tickets and the write-ahead log's consumers tell sinks apart across reloads.
func (e *Engine) sinkID(name string) (int, error) {
	if id, ok := e.sinkIDs[name]; ok {
		return id, nil
	}
	if len(e.sinkIDs) == maxSinkIDs {
		return 0, fmt.Errorf("ingestd has seen %d different sink names since it started; restart it to use sink %q", maxSinkIDs, name)
	}
	e.sinkIDs[name] = len(e.sinkIDs)
	return e.sinkIDs[name], nil
}

// ReloadInvalid counts a reload refused because the new config has errors, which the caller
// found before it could call Reload; the running config stays.
func (e *Engine) ReloadInvalid() { e.met.reloads.WithLabelValues("invalid").Inc() }

// Shutdown stops accepting requests (readyz turns 503, ingest answers 503 overloaded), waits
// for requests in flight, drains every ring, flushes every batch, waits for the sinks (and those
// a reload replaced) to deliver and closes them. If ctx ends first, what is left is counted as
// dropped — under ack: disk it stays in the write-ahead log for the next start — and Shutdown
// returns an error.
func (e *Engine) Shutdown(ctx context.Context) error {
	var err error
	e.once.Do(func() {
		e.reloadMu.Lock()
		defer e.reloadMu.Unlock()
		e.draining.Store(true)
		// Serve may never have run (embedded use of Handler); ShutdownWithContext copes.
		if serr := e.http.ShutdownWithContext(ctx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
			e.log.Warn("closing listener", "err", serr)
		}
		err = errors.Join(e.drain(ctx, e.gen.Load()), e.awaitRetired(ctx))
		if e.wal != nil {
			// What was not delivered stays in the log, past the checkpoint, for the next start.
			err = errors.Join(err, e.wal.close())
		}
		close(e.stopped)
	})
	return err
}

// Metrics returns the engine's Prometheus registry, for embedding programs that serve their own.
func (e *Engine) Metrics() prometheus.Gatherer { return e.met.reg }

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...))
}
