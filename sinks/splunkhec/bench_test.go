package splunkhec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks/internal/benchwrite"
)

func BenchmarkAppendBatch(b *testing.B) {
	o := NewOptions()
	o.URL, o.Token = "http://splunk:8088", "t0ken"
	o.HostField, o.Sourcetype = "metadata.host", "_json"
	o.Fields = map[string]string{"env": "metadata.env"}
	s, _ := New("hec", o)
	batch := batchOf(1000)
	vals := make([]fieldpath.Value, s.env.set.Len())
	var raw []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(batch.Data)))
	for b.Loop() {
		raw = s.appendBatch(raw[:0], batch.Data, vals, batch.ReceivedAt)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// writeCases are the WriteBatch benchmarks' variants: plain, gzip, and plain with indexer
// acknowledgement.
var writeCases = []struct {
	name, comp string
	ack        bool
}{{"none", CompressionNone, false}, {"gzip", CompressionGzip, false}, {"ack", CompressionNone, true}}

// BenchmarkWriteBatch sends 1000-event batches to the test receiver, which decodes and checks
// every envelope; with ack on, each batch also waits for one ack poll.
func BenchmarkWriteBatch(b *testing.B) {
	for _, c := range writeCases {
		b.Run(c.name, func(b *testing.B) {
			r := newReceiver(&testing.T{})
			defer r.srv.Close()
			r.useAck, r.pollsToAck = c.ack, 1
			o := optionsFor(r)
			o.Compression = c.comp
			o.Ack = Ack{Enabled: c.ack, PollInterval: time.Millisecond, Timeout: time.Minute}
			benchwrite.Run(b, newSink(b, o), batchOf(1000), func() {
				r.mu.Lock()
				r.envelopes = r.envelopes[:0]
				r.mu.Unlock()
			})
		})
	}
}

// BenchmarkWriteBatchLean is WriteBatch against a receiver that only reads the body, to show
// the sink's own cost per batch.
func BenchmarkWriteBatchLean(b *testing.B) {
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		b.Run(comp, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				io.WriteString(w, `{"text":"Success","code":0}`)
			}))
			defer srv.Close()
			o := NewOptions()
			o.URL, o.Token, o.Compression = srv.URL, testToken, comp
			benchwrite.Run(b, newSink(b, o), batchOf(1000), nil)
		})
	}
}

// BenchmarkOpenTelemetry sends 1000-event batches to the OpenTelemetry Collector's
// splunkhecreceiver (bin/tools/otelhec, standing for an OTel Collector taking HEC; skipped when
// it is not built), which decodes every envelope into a log record; with ack on, each batch also
// waits for the collector's ack extension to confirm it. The receiver runs in its own process,
// so its allocations do not count here.
func BenchmarkOpenTelemetry(b *testing.B) {
	bin, err := otelhecBinary()
	if err != nil {
		b.Skipf("the OpenTelemetry HEC receiver is missing (%v); build it with `make deps`", err)
	}
	addr := startOtelhec(b, bin, os.DevNull)
	for _, c := range writeCases {
		b.Run(c.name, func(b *testing.B) {
			o := NewOptions()
			o.URL, o.Token, o.Compression = "http://"+addr, testToken, c.comp
			o.HostField, o.Sourcetype = "metadata.host", "_json"
			o.Fields = map[string]string{"env": "metadata.env", "event_id": "event_id"}
			o.Ack = Ack{Enabled: c.ack, PollInterval: time.Millisecond, Timeout: time.Minute}
			benchwrite.Run(b, newSink(b, o), batchOf(1000), nil)
		})
	}
}
