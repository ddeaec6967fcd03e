package kafka

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ingestd/ingestd/sinks"
)

// newCluster starts an in-process kfake cluster (standing in for Kafka) with topics of
// partitions partitions each, listening on loopback.
func newCluster(t testing.TB, partitions int32, topics []string, extra ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts := append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...)}, extra...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testOptions are options for c with a short linger, so tests run fast.
func testOptions(c *kfake.Cluster) *Options {
	o := NewOptions()
	o.Brokers = c.ListenAddrs()
	o.Linger = time.Millisecond
	o.RequestTimeout = 10 * time.Second
	return o
}

// newSink builds and connects a sink, closed when the test ends.
func newSink(t testing.TB, o *Options) *Sink {
	t.Helper()
	s, err := New("k", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func batch(stream, streamID string, lines ...string) *sinks.Batch {
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return &sinks.Batch{Stream: stream, StreamID: streamID, Data: []byte(sb.String()), Events: len(lines)}
}

func event(i int, key string) string {
	return fmt.Sprintf(`{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":%s,"seq":%d},"stream_id":"s1"}`, key, i)
}

// consume reads n records of topic from the start, failing the test after a while.
func consume(t testing.TB, c *kfake.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records of %q before the deadline", len(out), n, topic)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		out = append(out, fs.Records()...)
	}
	if len(out) != n {
		t.Fatalf("consumed %d records of %q, want %d", len(out), topic, n)
	}
	return out
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
