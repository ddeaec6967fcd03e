package s3

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// benchBatch is n stored events received within one hour.
func benchBatch(n int) *sinks.Batch {
	var b strings.Builder
	base := time.Date(2025, 2, 12, 14, 0, 0, 0, time.UTC)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, `{"timestamp":%q,"source":"payments-app","event":{"transactionId":"txn_%d","status":"declined","amount":%d.5,"currency":"USD","message":"card declined by issuer"},"metadata":{"env":"prod","team":"payments"},"stream_id":"s1","received_at":%q}`+"\n", at, i, i*7, at)
	}
	return &sinks.Batch{Stream: "orders", StreamID: "s1", Data: []byte(b.String()), Events: n}
}

// BenchmarkWriteBatch uploads 1000-event batches in each format to gofakes3, which stands in
// for S3 in process: its own work (parsing the request, storing the object in memory) counts in
// the figures, so they bound the sink's cost from above.
func BenchmarkWriteBatch(b *testing.B) {
	for _, format := range []string{FormatNDJSONGzip, FormatNDJSON, FormatNDJSONZstd, FormatParquet} {
		b.Run(format, func(b *testing.B) {
			s := newSink(b, newFakeS3(b).URL, func(o *Options) { o.Format = format })
			bt := benchBatch(1000)
			b.ReportAllocs()
			b.SetBytes(int64(len(bt.Data)))
			for b.Loop() {
				if err := s.WriteBatch(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bt.Events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkSplit is the per-event cost of placing a batch's events in partitions.
func BenchmarkSplit(b *testing.B) {
	bt := benchBatch(1000)
	p := newPartitioner(TimeTimestamp, 3600)
	var lines []line
	b.ReportAllocs()
	b.SetBytes(int64(len(bt.Data)))
	for b.Loop() {
		lines, _ = p.split(lines[:0], bt.Data, 0)
	}
}

// BenchmarkEncode is the encoding alone, as a delivery worker runs it before the upload: with
// -cpu 1 its ns/op over the MB/s is the CPU each megabyte of events costs to compress.
func BenchmarkEncode(b *testing.B) {
	pq, err := newParquetFormat(nil)
	if err != nil {
		b.Fatal(err)
	}
	formats := map[string]Format{FormatParquet: pq}
	for name, f := range Formats {
		formats[name] = f
	}
	for _, name := range []string{FormatNDJSONGzip, FormatNDJSONZstd, FormatParquet} {
		b.Run(name, func(b *testing.B) {
			bt := benchBatch(1000)
			var out []byte
			b.ReportAllocs()
			b.SetBytes(int64(len(bt.Data)))
			for b.Loop() {
				if out, err = formats[name].Encode(out[:0], bt.Data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(bt.Data))/float64(len(out)), "ratio")
			b.ReportMetric(float64(b.N*bt.Events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
