package bench

import (
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/ingestd/ingestd/core"
)

// ackParallelism is how many requests per P the acknowledgement benchmarks keep in flight: with
// ack: disk a request waits for an fsync, and group commit needs many waiting together to share
// one, as many clients would.
const ackParallelism = 32

// ackWindow bounds the requests in flight, as pipelineWindow does: with ack: memory the handlers
// outrun the shards, which would otherwise fill the queues until the engine answers 503.
const ackWindow = 512

// benchmarkAcks is BenchmarkIngest's format:ndjson/batch:100/clients:many group: the workload
// with ack: memory and with ack: disk (every request appended to the write-ahead log and
// fsync'd, in groups, before its 200), in the same run and with many requests in flight, as
// group commit needs; it reports the fsyncs per second the disk mode made.
func benchmarkAcks(b *testing.B) {
	w := ndjsonWorkload(b)
	for _, ack := range []string{"memory", "disk"} {
		b.Run("ack:"+ack, func(b *testing.B) {
			yml := fmt.Sprintf(engineYAML, 10000, 4<<20)
			yml = strings.Replace(yml, "ack: memory", fmt.Sprintf("ack: %s\n  wal: {dir: %q}", ack, b.TempDir()), 1)
			eng := startEngineConfig(b, []byte(yml))
			warmUp(b, eng, w, int64(w.events), newPacer(int64(w.events), ackWindow))
			start := discarded.Load()
			p := newPacer(int64(w.events), ackWindow)
			fsyncs0 := counter(b, eng, "ingestd_wal_fsyncs_total")
			b.SetBytes(int64(len(w.body)))
			b.ReportAllocs()
			b.SetParallelism(ackParallelism)
			b.ResetTimer()
			drive(b, eng, w, p)
			sent := int64(b.N) * int64(w.events)
			waitCount(b, func() int64 { return discarded.Load() - start }, sent)
			b.StopTimer()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(sent)/secs, "events/s")
			if ack == "disk" {
				b.ReportMetric((counter(b, eng, "ingestd_wal_fsyncs_total")-fsyncs0)/secs, "fsyncs/s")
			}
		})
	}
}

// counter reads a counter without labels from the engine's metrics; 0 when it is absent.
func counter(tb testing.TB, eng *core.Engine, name string) float64 {
	tb.Helper()
	families, err := eng.Metrics().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return metricValue(f.GetMetric()[0])
		}
	}
	return 0
}

func metricValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}
