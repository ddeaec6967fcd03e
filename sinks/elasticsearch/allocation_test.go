//go:build !race

package elasticsearch

import "testing"

// Building the bulk body, the per-event work, allocates nothing once its buffers are warm: for
// plain indices, and for data streams, which add "@timestamp" to each event.
func TestBulkBodyAllocatesNothing(t *testing.T) {
	for name, edit := range map[string]func(*Options){
		"index":       func(*Options) {},
		"data_stream": func(o *Options) { o.DataStream = &DataStream{} },
	} {
		o := NewOptions()
		o.URLs = []string{"http://localhost:9200"}
		o.IDField = "id"
		edit(o)
		s, err := New("es", o)
		if err != nil {
			t.Fatal(err)
		}
		b := storedBatch("app", "2025-02-12T14:32:15.123456789123Z", "2025-02-12t14:32:15+02:00")
		b.Data = append(b.Data, `{"n":2}`+"\n"...) // no timestamp: the batch's receive time
		w := new(work)
		lines := []int{0, 1, 2}
		run := func() {
			w.events = splitLines(w.events[:0], b.Data)
			w.raw = w.raw[:0]
			s.appendBulk(w, lines, b, "2025.03.01")
		}
		run()
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("%s: %v allocs per batch", name, n)
		}
	}
}
