package nats

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingestd/ingestd/sinks"
)

// benchData is a batch of n stored events of about 500 bytes each.
func benchData(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_%08d","status":"declined","amount":%d.5,"currency":"USD","message":"card declined by issuer: insufficient funds on the account, please contact the bank","card":{"brand":"visa","last4":"4242","country":"DE"}},"metadata":{"env":"prod","team":"payments","region":"eu-central-1","host":"ip-10-0-12-34"},"stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z"}`+"\n", i, i*7)
	}
	return []byte(b.String())
}

// BenchmarkWriteBatch publishes 1000-event batches to the embedded JetStream server (file
// storage) and waits for every ack; the server runs in the same process, so its allocations
// count too. Every iteration publishes new ids (the batch's stream id changes), so nothing is
// dropped as a duplicate.
func BenchmarkWriteBatch(b *testing.B) {
	srv := startServer(b, b.TempDir(), -1, nil)
	createStream(b, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	s := newSink(b, srv.ClientURL(), nil)
	data := benchData(1000)
	bt := &sinks.Batch{Stream: "payments", Data: data, Events: 1000}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		bt.StreamID = "s" + strconv.Itoa(i)
		i++
		if err := s.WriteBatch(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBaseline publishes the same events with the bare JetStream client (a message and a
// Nats-Msg-Id per event, every ack awaited): what the sink costs on top of it is the difference.
func BenchmarkBaseline(b *testing.B) {
	srv := startServer(b, b.TempDir(), -1, nil)
	createStream(b, srv.ClientURL(), "EVENTS", nil, "ingestd.>")
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(DefaultMaxPending))
	if err != nil {
		b.Fatal(err)
	}
	data := benchData(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		i++
		n := 0
		for line := range bytes.Lines(data) {
			n++
			_, err := js.PublishMsgAsync(&nats.Msg{Subject: "ingestd.payments", Data: line[:len(line)-1]},
				jetstream.WithMsgID(strconv.Itoa(i)+"-"+strconv.Itoa(n)))
			if err != nil {
				b.Fatal(err)
			}
		}
		<-js.PublishAsyncComplete()
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}
