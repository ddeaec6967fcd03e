package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/core/pipeline"
	"github.com/ingestd/ingestd/core/processor"
)

// pipelineYAML is the pipeline benchmarks' engine: the stream's processors and routes are
// filled in, and both sinks discard.
const pipelineYAML = `
server:
  queue_size: 65536
  ack: memory
tokens:
  - name: bench
    token: "` + benchToken + `"
    streams: ["` + benchStream + `"]
streams:
  - id: "` + benchStream + `"
    name: payments
%s
sinks:
  - {name: siem, type: discard, batch: {max_events: %d, max_bytes: %d, max_age: 50ms}}
  - {name: archive, type: discard, batch: {max_events: %d, max_bytes: %d, max_age: 50ms}}
`

// referencePipeline is the reference pipeline: one enrich step setting two fields, one
// mask step (card detector, hash mode) on the free-text message, and two routes with
// conditions, one of them sampling by key.
const referencePipeline = `
    processors:
      - {type: enrich, set: {metadata.region: "eu-west-1", metadata.pipeline: "ingestd"}}
      - {type: mask, fields: [event.message], detectors: [credit_card], mode: hash, key: "bench-mask-key-0123456789abcdef"}
    routes:
      - {name: big-declines, when: 'event.status == "declined" && event.amount > 1000', to: [siem], final: true}
      - {name: prod-sampled, when: 'metadata.env in ["prod", "staging"]', sample: {rate: 0.5, key: event.transactionId}, to: [archive]}
    default: [archive]`

// noPipeline sends every event to one sink, as the plain ingest benchmark does.
const noPipeline = `
    sinks: [archive]`

func startPipelineEngine(tb testing.TB, pipeline string, maxEvents, maxBytes int) (*core.Engine, *config.Config) {
	tb.Helper()
	yml := fmt.Appendf(nil, pipelineYAML, pipeline, maxEvents, maxBytes, maxEvents, maxBytes)
	cfg, err := config.Parse(yml, "pipeline.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return startEngineConfig(tb, yml), cfg
}

// deliveredPerRequest runs w's events through the stream's pipeline offline (as `ingestd
// process` does) and counts the lines they put into sinks. Sampling is by key, so every
// request of a workload delivers the same number.
func deliveredPerRequest(tb testing.TB, cfg *config.Config, w *workload) int64 {
	tb.Helper()
	if w.contentType != "application/x-ndjson" || w.encoding != "" {
		tb.Fatalf("%s: the pipeline benchmarks take plain NDJSON workloads", w.name)
	}
	var out bytes.Buffer
	if err := core.Tryout(cfg, benchStream, "bench", bytes.NewReader(w.body), &out); err != nil {
		tb.Fatal(err)
	}
	var n int64
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r struct{ Sinks []string }
		if err := dec.Decode(&r); err != nil {
			tb.Fatal(err)
		}
		n += int64(len(r.Sinks))
	}
	return n
}

func ndjsonWorkload(tb testing.TB) *workload {
	for _, w := range workloads() {
		if w.name == "format:ndjson/batch:100" {
			return &w
		}
	}
	tb.Fatal("no ndjson/batch:100 workload")
	return nil
}

// pipelineWindow is the most requests the pipeline benchmarks keep in flight: enough that the
// shards' open batches (pipelineBatch events per shard and sink) fill and flush on size
// rather than wait for max_age, few enough that the queues never fill.
const (
	pipelineWindow = 128
	pipelineBatch  = 1000
)

// BenchmarkPipeline measures the reference pipeline against no pipeline at all, on the
// same requests (format:ndjson/batch:100, as BenchmarkIngest) in the same run. events/s counts
// events sent, whether sampling dropped them or not.
func BenchmarkPipeline(b *testing.B) {
	w := ndjsonWorkload(b)
	run := func(b *testing.B, eng *core.Engine, delivered int64) {
		warmUp(b, eng, w, delivered, newPacer(delivered, pipelineWindow))
		start := discarded.Load()
		p := newPacer(delivered, pipelineWindow)
		b.SetBytes(int64(len(w.body)))
		b.ReportAllocs()
		b.ResetTimer()
		drive(b, eng, w, p)
		waitCount(b, func() int64 { return discarded.Load() - start }, int64(b.N)*delivered)
		b.StopTimer()
		b.ReportMetric(float64(int64(b.N)*int64(w.events))/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("pipeline:none", func(b *testing.B) {
		eng, _ := startPipelineEngine(b, noPipeline, pipelineBatch, 4<<20)
		run(b, eng, int64(w.events))
	})
	b.Run("pipeline:enrich+mask+2routes+sample", func(b *testing.B) {
		eng, cfg := startPipelineEngine(b, referencePipeline, pipelineBatch, 4<<20)
		run(b, eng, deliveredPerRequest(b, cfg, w))
	})
}

// BenchmarkPipelineWorker runs the reference pipeline's worker alone (no handler, ring or
// sink): the pipeline's own cost per event, including copying it into a batch for each sink
// it reaches. bytes runs Run over stored lines; indexed runs
// RunIndexed over the fields the decoder found, as the engine does, and includes building each
// event's tail and copying it out when it reaches a sink.
func BenchmarkPipelineWorker(b *testing.B) {
	b.Run("bytes", benchWorkerBytes)
	b.Run("indexed", benchWorkerIndexed)
}

func benchWorkerIndexed(b *testing.B) {
	_, cfg := startPipelineEngine(b, referencePipeline, pipelineBatch, 4<<20)
	body := bytes.Join(makeEvents(100), []byte("\n"))
	var sc decode.Scanner
	sc.Fields = cfg.Streams[0].Pipeline.ScanFields()
	if err := sc.Scan(body, decode.NDJSON, decode.Limits{}); err != nil {
		b.Fatal(err)
	}
	w := cfg.Streams[0].Pipeline.NewWorker()
	facts := &processor.Facts{Token: []byte(`"bench"`), Stream: []byte(`"payments"`)}
	var src pipeline.Source
	tail := []byte(`,"stream_id":"` + benchStream + `","received_at":"2025-02-12T14:32:15.123456789Z","event_id":"0123456789abcdef0123456789abcdef-`)
	b.SetBytes(int64(len(body) / len(sc.Events)))
	b.ReportAllocs()
	var out []byte
	i := 0
	for b.Loop() {
		k := i % len(sc.Events)
		src.Body, src.Event, src.Found = body, &sc.Events[k], sc.Found(k)
		src.Tail = append(src.Tail[:0], tail...)
		src.Tail = append(strconv.AppendInt(src.Tail, int64(k), 10), '"')
		r, ok := w.RunIndexed(&src, facts, 0)
		if !ok {
			b.Fatalf("RunIndexed declined event %d", k)
		}
		for s := range 2 {
			if r.Sinks&(1<<s) != 0 {
				out = w.AppendLine(out[:0], s)
			}
		}
		i++
	}
}

func benchWorkerBytes(b *testing.B) {
	_, cfg := startPipelineEngine(b, referencePipeline, pipelineBatch, 4<<20)
	var stored [][]byte
	for _, ev := range makeEvents(100) {
		line := append([]byte(nil), ev[:len(ev)-1]...)
		line = append(line, `,"stream_id":"`+benchStream+`","received_at":"2025-02-12T14:32:15.123456789Z"}`...)
		stored = append(stored, line)
	}
	w := cfg.Streams[0].Pipeline.NewWorker()
	facts := &processor.Facts{Token: []byte(`"bench"`), Stream: []byte(`"payments"`)}
	var size int
	for _, s := range stored {
		size += len(s)
	}
	b.SetBytes(int64(size / len(stored)))
	b.ReportAllocs()
	var out []byte
	i := 0
	for b.Loop() {
		r := w.Run(stored[i%len(stored)], facts, 0)
		for s := range 2 {
			if r.Sinks&(1<<s) != 0 {
				out = w.AppendLine(out[:0], s)
			}
		}
		i++
	}
}
