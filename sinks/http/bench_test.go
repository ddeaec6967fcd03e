package http

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchData is a 100-event batch of stored events (about 25 KB).
func benchData() []byte {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_%d","status":"declined","amount":%d.5,"currency":"USD","message":"card declined by issuer"},"metadata":{"env":"prod","team":"payments"},"stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z"}`+"\n", i, i*7)
	}
	return []byte(b.String())
}

// benchReceiver is an httptest server standing in for a webhook receiver that reads the body
// and answers 204. Its allocations count in the figures too: BenchmarkBaseline measures them
// with a bare net/http client.
func benchReceiver(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkWriteBatch(b *testing.B) {
	data := benchData()
	for _, format := range []string{FormatNDJSON, FormatJSONArray} {
		for _, comp := range []string{CompressionNone, CompressionGzip, CompressionZstd} {
			b.Run(format+"/"+comp, func(b *testing.B) {
				s := newSink(b, benchReceiver(b).URL, func(o *Options) { o.Format, o.Compression = format, comp })
				bt := batch(string(data))
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if err := s.WriteBatch(ctx, bt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkWriteBatchParallel has Concurrency writers share one sink, as the engine runs it.
func BenchmarkWriteBatchParallel(b *testing.B) {
	data := benchData()
	for _, comp := range []string{CompressionNone, CompressionGzip, CompressionZstd} {
		b.Run(comp, func(b *testing.B) {
			s := newSink(b, benchReceiver(b).URL, func(o *Options) { o.Compression = comp })
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			b.SetParallelism((Concurrency + 1) / 2) // GOMAXPROCS x this: 4 writers on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				bt := batch(string(data))
				for pb.Next() {
					if err := s.WriteBatch(ctx, bt); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBaseline sends the same body with a bare net/http client: what the request costs
// without the sink, server included.
func BenchmarkBaseline(b *testing.B) {
	data := benchData()
	srv := benchReceiver(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: Concurrency}}
	b.Cleanup(client.CloseIdleConnections)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
