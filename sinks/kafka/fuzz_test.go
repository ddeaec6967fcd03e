package kafka

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// FuzzFill checks that any batch data becomes one record per non-empty line, each value the
// line as it was, and that a string key is the field's decoded value.
func FuzzFill(f *testing.F) {
	f.Add([]byte("{\"event\":{\"transactionId\":\"a\\\"b\\u00e9\"}}\n{\"event\":{\"transactionId\":7}}\n"))
	f.Add([]byte("{}\n\n{\"event\":null}"))
	o := NewOptions()
	o.Brokers = []string{"localhost:9092"}
	o.KeyField = "event.transactionId"
	s, err := New("k", o)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want [][]byte
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) > 0 {
				want = append(want, l)
			}
		}
		s.fill(data, "t", nil)
		if len(s.recs) != len(want) {
			t.Fatalf("%d records for %d lines", len(s.recs), len(want))
		}
		for i, r := range s.recs {
			if !bytes.Equal(r.Value, want[i]) {
				t.Fatalf("record %d value %q, line %q", i, r.Value, want[i])
			}
			if !json.Valid(r.Value) || !utf8.Valid(r.Value) {
				continue // the engine hands only valid JSON in valid UTF-8; nothing more to compare
			}
			v, ok := fieldpath.Lookup(r.Value, s.key)
			if ok && v.Kind == fieldpath.String {
				var str string
				if err := json.Unmarshal(v.Raw, &str); err == nil && string(r.Key) != str {
					t.Fatalf("record %d key %q, field %s", i, r.Key, v.Raw)
				}
			}
			if (!ok || v.Kind == fieldpath.Null) && r.Key != nil {
				t.Fatalf("record %d has key %q without the field", i, r.Key)
			}
		}
	})
}
