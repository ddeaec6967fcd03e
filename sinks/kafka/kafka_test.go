package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ingestd/ingestd/sinks"
)

func TestRoundTrip(t *testing.T) {
	c := newCluster(t, 3, []string{"events-payments"})
	o := testOptions(c)
	o.Topic = "events-{stream}"
	o.KeyField = "event.transactionId"
	o.Headers = map[string]string{"team": "payments", "env": "prod"}
	s := newSink(t, o)

	lines := []string{
		event(0, `"txn_1"`),
		event(1, `"t\"x\u00e9\n"`), // an escaped key arrives unescaped
		event(2, `12.50`),          // a number keys by its text
		event(3, `null`),           // no key
		`{"event":{},"stream_id":"s1"}`,
		event(5, `""`), // an empty key is still a key
	}
	wantKeys := [][]byte{[]byte("txn_1"), []byte("t\"x\u00e9\n"), []byte("12.50"), nil, nil, {}}
	if err := s.WriteBatch(context.Background(), batch("payments", "s1", lines...)); err != nil {
		t.Fatal(err)
	}
	recs := consume(t, c, "events-payments", len(lines))
	byValue := map[string]*kgo.Record{}
	for _, r := range recs {
		byValue[string(r.Value)] = r
	}
	wantHeaders := []kgo.RecordHeader{{Key: "env", Value: []byte("prod")}, {Key: "team", Value: []byte("payments")}, {Key: "stream_id", Value: []byte("s1")}}
	for i, l := range lines {
		r, ok := byValue[l]
		if !ok {
			t.Fatalf("line %d %s was not produced", i, l)
		}
		if r.Topic != "events-payments" {
			t.Errorf("line %d: topic %q", i, r.Topic)
		}
		if (r.Key == nil) != (wantKeys[i] == nil) || string(r.Key) != string(wantKeys[i]) {
			t.Errorf("line %d: key %q (nil %v), want %q (nil %v)", i, r.Key, r.Key == nil, wantKeys[i], wantKeys[i] == nil)
		}
		if !slices.EqualFunc(r.Headers, wantHeaders, func(a, b kgo.RecordHeader) bool {
			return a.Key == b.Key && string(a.Value) == string(b.Value)
		}) {
			t.Errorf("line %d: headers %v, want %v", i, r.Headers, wantHeaders)
		}
	}
}

func TestTopicTemplateStreamID(t *testing.T) {
	c := newCluster(t, 1, []string{"in.abc-123.v1", "in.def.v1"})
	o := testOptions(c)
	o.Topic = "in.{stream_id}.v1"
	s := newSink(t, o)
	for _, id := range []string{"abc-123", "def", "abc-123"} {
		if err := s.WriteBatch(context.Background(), batch("named", id, event(0, `"`+id+`"`))); err != nil {
			t.Fatal(err)
		}
	}
	for topic, n := range map[string]int{"in.abc-123.v1": 2, "in.def.v1": 1} {
		for _, r := range consume(t, c, topic, n) {
			if h := r.Headers[len(r.Headers)-1]; h.Key != StreamIDHeader || !strings.Contains(topic, string(h.Value)) {
				t.Errorf("%s: header %s=%s", topic, h.Key, h.Value)
			}
		}
	}
}

func TestKeyStaysInOnePartition(t *testing.T) {
	c := newCluster(t, 4, []string{"keyed"})
	o := testOptions(c)
	o.Topic = "keyed"
	o.KeyField = "event.transactionId"
	s := newSink(t, o)
	const keys, perBatch, batches = 8, 100, 3
	seq := 0
	for range batches {
		lines := make([]string, perBatch)
		for i := range lines {
			lines[i] = event(seq, fmt.Sprintf(`"k%d"`, seq%keys))
			seq++
		}
		if err := s.WriteBatch(context.Background(), batch("keyed", "s1", lines...)); err != nil {
			t.Fatal(err)
		}
	}
	partOf := map[string]int32{}
	lastSeq := map[string]int{}
	used := map[int32]bool{}
	for _, r := range consume(t, c, "keyed", seq) {
		k := string(r.Key)
		if p, ok := partOf[k]; ok && p != r.Partition {
			t.Errorf("key %s in partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		used[r.Partition] = true
		var n int
		fmt.Sscanf(string(r.Value[strings.Index(string(r.Value), `"seq":`)+6:]), "%d", &n)
		if last, ok := lastSeq[k]; ok && n <= last {
			t.Errorf("key %s: seq %d after %d", k, n, last)
		}
		lastSeq[k] = n
	}
	if len(partOf) != keys || len(used) < 2 {
		t.Errorf("%d keys over %d partitions; want %d keys spread over several", len(partOf), len(used), keys)
	}
}

// producedBatch is what a Produce request carried for one partition, as kfake (standing in for
// a Kafka broker) received it.
type producedBatch struct {
	acks          int16
	transactional bool
	codec         uint8 // the record batch's compression attribute
	producerID    int64
	records       int32
}

// watchProduce records every Produce request c receives, then lets c handle it as usual.
func watchProduce(t *testing.T, c *kfake.Cluster) func() []producedBatch {
	var (
		mu  sync.Mutex
		got []producedBatch
	)
	c.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		mu.Lock()
		defer mu.Unlock()
		for _, tp := range req.Topics {
			for _, p := range tp.Partitions {
				for raw := p.Records; len(raw) >= 12; {
					n := 12 + int(binary.BigEndian.Uint32(raw[8:12])) // offset, length, then length bytes
					var rb kmsg.RecordBatch
					if n > len(raw) || rb.ReadFrom(raw[:n]) != nil {
						t.Errorf("unreadable record batch in a Produce request to %s/%d", tp.Topic, p.Partition)
						break
					}
					got = append(got, producedBatch{acks: req.Acks, transactional: req.TransactionID != nil,
						codec: uint8(rb.Attributes & 0x07), producerID: rb.ProducerID, records: rb.NumRecords})
					raw = raw[n:]
				}
			}
		}
		return nil, nil, false
	})
	return func() []producedBatch {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestCompression checks, against kfake standing in for a Kafka broker, that each setting puts
// its codec on the wire (the record batches' compression attribute, both in the Produce
// requests and as a consumer reads them back), and that every request is idempotent with
// acks=all: acks -1, a producer id, no transaction.
func TestCompression(t *testing.T) {
	// Kafka's codec numbers in a record batch's attributes.
	for codec, want := range map[string]uint8{CompressionNone: 0, CompressionGzip: 1, CompressionSnappy: 2, CompressionLZ4: 3, CompressionZstd: 4} {
		t.Run(codec, func(t *testing.T) {
			c := newCluster(t, 2, []string{"c"})
			produced := watchProduce(t, c)
			o := testOptions(c)
			o.Topic = "c"
			o.Compression = codec
			s := newSink(t, o)
			lines := make([]string, 50)
			for i := range lines {
				lines[i] = event(i, fmt.Sprintf(`"k%d"`, i%4)) // several keys: both partitions
			}
			if err := s.WriteBatch(context.Background(), batch("c", "s1", lines...)); err != nil {
				t.Fatal(err)
			}
			var records int32
			for _, pb := range produced() {
				records += pb.records
				if pb.codec != want {
					t.Errorf("a produced record batch has codec %d, want %d", pb.codec, want)
				}
				if pb.acks != -1 || pb.transactional || pb.producerID < 0 {
					t.Errorf("produce request: acks %d, transactional %v, producer id %d; want acks -1 (all), idempotent (id >= 0), not transactional",
						pb.acks, pb.transactional, pb.producerID)
				}
			}
			if records != int32(len(lines)) {
				t.Errorf("Produce requests carried %d records, want %d", records, len(lines))
			}
			got := map[string]bool{}
			for _, r := range consume(t, c, "c", len(lines)) {
				got[string(r.Value)] = true
				if ct := r.Attrs.CompressionType(); ct != want {
					t.Fatalf("consumed record at %d/%d was stored with codec %d, want %d", r.Partition, r.Offset, ct, want)
				}
				if r.ProducerID < 0 || r.Attrs.IsTransactional() {
					t.Fatalf("consumed record at %d/%d: producer id %d, transactional %v; want an idempotent producer's",
						r.Partition, r.Offset, r.ProducerID, r.Attrs.IsTransactional())
				}
			}
			for _, l := range lines {
				if !got[l] {
					t.Fatalf("missing %s", l)
				}
			}
		})
	}
}

func TestLastLineWithoutNewlineAndBlankLines(t *testing.T) {
	c := newCluster(t, 1, []string{"t"})
	o := testOptions(c)
	o.Topic = "t"
	s := newSink(t, o)
	b := &sinks.Batch{Stream: "t", StreamID: "s1", Data: []byte("{\"a\":1}\n\n{\"a\":2}")}
	if err := s.WriteBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	recs := consume(t, c, "t", 2)
	if string(recs[0].Value) != `{"a":1}` || string(recs[1].Value) != `{"a":2}` {
		t.Errorf("values %q %q", recs[0].Value, recs[1].Value)
	}
	if err := s.WriteBatch(context.Background(), &sinks.Batch{Stream: "t"}); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

// A topic that does not exist is not created (neither the sink nor kfake here auto-create):
// franz-go gives up after a few metadata refreshes with UNKNOWN_TOPIC_OR_PARTITION, which
// retrying the batch cannot fix, so it is Permanent.
func TestUnknownTopicIsPermanent(t *testing.T) {
	c := newCluster(t, 1, []string{"exists"})
	o := testOptions(c)
	o.Topic = "missing-{stream}"
	s := newSink(t, o)
	err := s.WriteBatch(context.Background(), batch("x", "s1", event(0, `"a"`)))
	if kind, _ := sinks.Classify(err); kind != sinks.Permanent || !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("err %v, kind %v; want permanent UnknownTopicOrPartition", err, kind)
	}
	if !strings.Contains(err.Error(), `"missing-x"`) {
		t.Errorf("error does not name the topic: %v", err)
	}
}

func TestInvalidTopicFromStreamIsPermanent(t *testing.T) {
	c := newCluster(t, 1, []string{"exists"})
	s := newSink(t, testOptions(c)) // topic "{stream}"
	for _, stream := range []string{"has/slash", "..", strings.Repeat("x", 250)} {
		err := s.WriteBatch(context.Background(), batch(stream, "s1", event(0, `"a"`)))
		if kind, _ := sinks.Classify(err); kind != sinks.Permanent {
			t.Errorf("stream %.20q: err %v, kind %v; want permanent", stream, err, kind)
		}
	}
	// The next valid stream is not stuck with the cached error.
	if err := s.WriteBatch(context.Background(), batch("exists", "s1", event(0, `"a"`))); err != nil {
		t.Fatal(err)
	}
}

func TestRecordTooLarge(t *testing.T) {
	c := newCluster(t, 1, []string{"t"})
	o := testOptions(c)
	o.Topic = "t"
	o.ProducerBatchMaxBytes = 1024
	s := newSink(t, o)
	big := `{"event":{"message":"` + strings.Repeat("x", 2000) + `"}}`
	err := s.WriteBatch(context.Background(), batch("t", "s1", event(0, `"a"`), big))
	if kind, _ := sinks.Classify(err); kind != sinks.TooLarge || !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("err %v, kind %v; want too_large", err, kind)
	}
}

func TestUnreachableBrokerIsRetryable(t *testing.T) {
	o := NewOptions()
	o.Brokers = []string{closedAddr(t)}
	o.Topic = "t"
	o.RequestTimeout = time.Second
	s := newSink(t, o)
	start := time.Now()
	err := s.WriteBatch(context.Background(), batch("t", "s1", event(0, `"a"`)))
	if kind, _ := sinks.Classify(err); err == nil || kind != sinks.Retryable {
		t.Fatalf("err %v, kind %v; want retryable", err, kind)
	}
	if !errors.Is(err, kgo.ErrRecordTimeout) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error does not say why: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v with a 1s request_timeout", d)
	}
}

func TestCanceledContextIsRetryable(t *testing.T) {
	c := newCluster(t, 1, []string{"t"})
	o := testOptions(c)
	o.Topic = "t"
	s := newSink(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.WriteBatch(ctx, batch("t", "s1", event(0, `"a"`)))
	if kind, _ := sinks.Classify(err); !errors.Is(err, context.Canceled) || kind != sinks.Retryable {
		t.Fatalf("err %v, kind %v; want retryable context.Canceled", err, kind)
	}
	// The sink still works afterwards.
	if err := s.WriteBatch(context.Background(), batch("t", "s1", event(1, `"a"`))); err != nil {
		t.Fatal(err)
	}
	consume(t, c, "t", 1)
}

func TestSASL(t *testing.T) {
	for _, mech := range []struct{ opt, kfake string }{
		{SASLPlain, "PLAIN"}, {SASLScramSHA256, "SCRAM-SHA-256"}, {SASLScramSHA512, "SCRAM-SHA-512"},
	} {
		t.Run(mech.opt, func(t *testing.T) {
			c := newCluster(t, 1, []string{"t"}, kfake.EnableSASL(), kfake.Superuser(mech.kfake, "ingest", "s3cret"))
			o := testOptions(c)
			o.Topic = "t"
			o.SASL = &SASL{Mechanism: mech.opt, Username: "ingest", Password: "s3cret"}
			s := newSink(t, o)
			if err := s.WriteBatch(context.Background(), batch("t", "s1", event(0, `"a"`))); err != nil {
				t.Fatal(err)
			}

			o.SASL = &SASL{Mechanism: mech.opt, Username: "ingest", Password: "wrong"}
			o.RequestTimeout = time.Second
			bad := newSink(t, o)
			err := bad.WriteBatch(context.Background(), batch("t", "s1", event(1, `"a"`)))
			// kfake drops the connection where Kafka would answer SaslAuthenticationFailed;
			// either way the records time out and the ping's reason is in the message.
			if kind, _ := sinks.Classify(err); !errors.Is(err, kgo.ErrRecordTimeout) || !strings.Contains(err.Error(), "; brokers: ") || kind != sinks.Retryable {
				t.Fatalf("wrong password: err %v, kind %v; want retryable timeout with the brokers' reason", err, kind)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error repeats the password: %v", err)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	o := NewOptions()
	o.Brokers = []string{"127.0.0.1:9092"}
	s, err := New("k", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close without Connect: %v", err)
	}
	if err := s.WriteBatch(context.Background(), batch("t", "s1", "{}")); err == nil {
		t.Error("WriteBatch before Connect succeeded")
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close %d: %v", i, err)
		}
	}
}

func TestRegistration(t *testing.T) {
	r, ok := sinks.Lookup("kafka")
	if !ok || r.Concurrency != 1 {
		t.Fatalf("registration %+v, %v", r, ok)
	}
	o := r.NewOptions().(*Options)
	if _, err := r.New("k", o); err == nil || !strings.Contains(err.Error(), "brokers") {
		t.Errorf("New without brokers: %v", err)
	}
	o.Brokers = []string{"localhost:9092"}
	if s, err := r.New("k", o); err != nil || s == nil {
		t.Errorf("New: %v, %v", s, err)
	}
	if _, err := r.New("k", &struct{ sinks.Options }{}); err == nil {
		t.Error("New accepted foreign options")
	}
}
