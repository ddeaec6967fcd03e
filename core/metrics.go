package core

import (
	"math/bits"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ingestd/ingestd/core/apierr"
	"github.com/ingestd/ingestd/core/pipeline"
)

// unknownStream labels requests that named no configured stream, so clients cannot create
// series by inventing stream ids.
const unknownStream = "_unknown"

// Drop reasons of the engine's own: events still undelivered when the grace period ends, a
// batch refused by a full sink under when_full: drop_newest, and refused events that the
// dead-letter queue could not keep.
const (
	dropShutdown         = "shutdown"
	dropSinkFull         = "sink_full"
	dropDeadLetterFailed = "dead_letter_failed"
	dropReplayNoStream   = "replay_unknown_stream"
	dropReplayInvalid    = "replay_invalid"
)

// metrics holds the SPEC §4 families. Hot-path series are resolved once per stream and sink
// (streamMetrics, sinkMetrics) so that counting never looks up labels or allocates.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	received   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	delivered  *prometheus.CounterVec
	deadLetter *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	batches    *prometheus.CounterVec
	queueDepth *prometheus.GaugeVec
	duration   prometheus.Histogram
	routed     *prometheus.CounterVec
	stepErrors *prometheus.CounterVec
	reloads    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_requests_total", Help: "Ingest requests by stream and HTTP status code.",
		}, []string{"stream", "code"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_events_received_total", Help: "Events accepted (answered 200) by stream.",
		}, []string{"stream"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_events_rejected_total", Help: "Events of rejected requests by stream and error code.",
		}, []string{"stream", "reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_bytes_received_total", Help: "Decoded body bytes of accepted requests by stream.",
		}, []string{"stream"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_events_delivered_total", Help: "Events a sink has delivered.",
		}, []string{"sink"}),
		deadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_events_dead_lettered_total", Help: "Events a sink refused for good, kept in its dead-letter queue.",
		}, []string{"sink"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_events_dropped_total", Help: "Accepted events that were not delivered, by stream and reason.",
		}, []string{"stream", "reason"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_sink_batches_total", Help: "Batch deliveries by sink and result (ok, error).",
		}, []string{"sink", "result"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ingestd_queue_depth", Help: "Requests waiting in each shard's ring.",
		}, []string{"shard"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingestd_request_duration_seconds",
			Help:    "Time to answer an ingest request.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_route_events_total", Help: "Events a route matched, by outcome: kept, or sampled_out by its sampling.",
		}, []string{"stream", "route", "outcome"}),
		stepErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_processor_errors_total", Help: "Events a processor could not process (a parse that failed); they are kept, tagged.",
		}, []string{"stream", "processor"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_config_reloads_total", Help: "Config reloads by result: ok, invalid (the file has errors), failed (a sink could not start).",
		}, []string{"result"}),
	}
	for _, r := range []string{"ok", "invalid", "failed"} {
		m.reloads.WithLabelValues(r)
	}
	m.reg.MustRegister(m.requests, m.received, m.rejected, m.bytes, m.delivered, m.dropped,
		m.batches, m.queueDepth, m.duration, m.routed, m.stepErrors, m.reloads, m.deadLetter,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// streamMetrics are one stream's series, resolved up front.
type streamMetrics struct {
	requests [apierr.NumCodes]prometheus.Counter
	rejected [apierr.NumCodes]prometheus.Counter
	received prometheus.Counter
	bytes    prometheus.Counter
}

func (m *metrics) forStream(key string) *streamMetrics {
	sm := &streamMetrics{received: m.received.WithLabelValues(key), bytes: m.bytes.WithLabelValues(key)}
	m.dropped.WithLabelValues(key, dropShutdown) // present at 0, so dashboards and alerts see it
	for _, c := range apierr.All() {
		sm.requests[c] = m.requests.WithLabelValues(key, strconv.Itoa(c.Status()))
		if c != apierr.OK {
			sm.rejected[c] = m.rejected.WithLabelValues(key, c.String())
		}
	}
	return sm
}

// sinkMetrics are one sink's series, resolved up front.
type sinkMetrics struct {
	delivered    prometheus.Counter
	deadLettered prometheus.Counter
	ok           prometheus.Counter
	failed       prometheus.Counter
}

func (m *metrics) forSink(name string) *sinkMetrics {
	return &sinkMetrics{
		delivered:    m.delivered.WithLabelValues(name),
		deadLettered: m.deadLetter.WithLabelValues(name),
		ok:           m.batches.WithLabelValues(name, "ok"),
		failed:       m.batches.WithLabelValues(name, "error"),
	}
}

// pipelineMetrics are one stream's processing and routing series, resolved up front: per route
// the events it kept and sampled out, per step the events it failed on, and per drop reason
// the events that reached no sink.
type pipelineMetrics struct {
	kept, sampledOut []prometheus.Counter
	failed           []prometheus.Counter
	dropped          []prometheus.Counter
}

func (m *metrics) forPipeline(stream string, p *pipeline.Pipeline) *pipelineMetrics {
	pm := &pipelineMetrics{}
	for _, r := range p.Routes() {
		pm.kept = append(pm.kept, m.routed.WithLabelValues(stream, r.Name, "kept"))
		pm.sampledOut = append(pm.sampledOut, m.routed.WithLabelValues(stream, r.Name, "sampled_out"))
	}
	for _, s := range p.Steps() {
		pm.failed = append(pm.failed, m.stepErrors.WithLabelValues(stream, s.Name))
	}
	for _, reason := range p.DropReasons() {
		pm.dropped = append(pm.dropped, m.dropped.WithLabelValues(stream, reason))
	}
	return pm
}

// pipelineCounts is a shard's tally of one stream's pipelineMetrics over one request, added to
// the shared counters once per request rather than once per event, so that shards do not
// contend on them.
type pipelineCounts struct {
	kept, sampledOut, failed, dropped []uint64
}

func newPipelineCounts(pm *pipelineMetrics) *pipelineCounts {
	return &pipelineCounts{
		kept:       make([]uint64, len(pm.kept)),
		sampledOut: make([]uint64, len(pm.sampledOut)),
		failed:     make([]uint64, len(pm.failed)),
		dropped:    make([]uint64, len(pm.dropped)),
	}
}

// count tallies what the pipeline did with one event.
func (c *pipelineCounts) count(r *pipeline.Result) {
	for m := r.Matched &^ r.SampledOut; m != 0; m &= m - 1 {
		c.kept[bits.TrailingZeros64(m)]++
	}
	for m := r.SampledOut; m != 0; m &= m - 1 {
		c.sampledOut[bits.TrailingZeros64(m)]++
	}
	for m := r.Failed; m != 0; m &= m - 1 {
		c.failed[bits.TrailingZeros64(m)]++
	}
	if r.Sinks == 0 {
		c.dropped[r.DropCode]++
	}
}

// flush adds the tally to pm and clears it.
func (c *pipelineCounts) flush(pm *pipelineMetrics) {
	add := func(n []uint64, to []prometheus.Counter) {
		for i, v := range n {
			if v != 0 {
				to[i].Add(float64(v))
				n[i] = 0
			}
		}
	}
	add(c.kept, pm.kept)
	add(c.sampledOut, pm.sampledOut)
	add(c.failed, pm.failed)
	add(c.dropped, pm.dropped)
}
