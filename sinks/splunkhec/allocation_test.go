//go:build !race

package splunkhec

import (
	"testing"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// Building the envelopes, the per-event work, allocates nothing once its buffer is warm.
func TestEnvelopesAllocateNothing(t *testing.T) {
	o := NewOptions()
	o.URL, o.Token = "http://splunk:8088", "t0ken"
	o.HostField, o.Source, o.IndexField = "metadata.host", "ingestd", "metadata.env"
	o.Fields = map[string]string{"env": "metadata.env", "amount": "event.amount"}
	s, err := New("hec", o)
	if err != nil {
		t.Fatal(err)
	}
	b := batchOf(100)
	vals := make([]fieldpath.Value, s.env.set.Len())
	var raw []byte
	run := func() { raw = s.appendBatch(raw[:0], b.Data, vals, b.ReceivedAt) }
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocs per batch of 100 events", n)
	}
}

// Reading HEC's answers allocates nothing either.
func TestAnswersAllocateNothing(t *testing.T) {
	var a answer
	body := []byte(`{"text":"Success","code":0,"ackId":42}`)
	acks := []byte(`{"acks":{"41":true,"42":true}}`)
	run := func() {
		if err := parseAnswer(body, &a); err != nil || a.ackID != 42 {
			t.Fatal(err)
		}
		if ok, err := parseAcks(acks, 42); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
