package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkWriteBatch produces batches of 1000 events of about 500 bytes to kfake, each
// acknowledged before the next (as the engine drives the sink).
func BenchmarkWriteBatch(b *testing.B) {
	for _, codec := range []string{CompressionNone, CompressionZstd} {
		b.Run(codec, func(b *testing.B) {
			c := newCluster(b, 3, []string{"bench"})
			o := testOptions(c)
			o.Topic = "bench"
			o.KeyField = "event.transactionId"
			o.Compression = codec
			s := newSink(b, o)
			lines := make([]string, 1000)
			pad := strings.Repeat("m", 370)
			for i := range lines {
				lines[i] = fmt.Sprintf(`{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_%d","status":"declined","amount":%d.5,"message":"%s"},"stream_id":"s1"}`, i%64, i, pad)
			}
			bt := batch("bench", "s1", lines...)
			ctx := context.Background()
			b.SetBytes(int64(len(bt.Data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.WriteBatch(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
