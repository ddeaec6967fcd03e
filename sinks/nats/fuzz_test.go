package nats

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAppendID: whatever event a batch holds, its Nats-Msg-Id is non-empty, a valid header value
// (no control characters), the same each time, and the hash id unless the event has a usable
// msg_id_field.
func FuzzAppendID(f *testing.F) {
	f.Add([]byte(`{"event":{"id":"txn_1"}}`))
	f.Add([]byte(`{"event":{"id":"a\nb"}}`))
	f.Add([]byte(`{"event":{"id":12e3}}`))
	f.Add([]byte(`{"event":{"id":null},"x":[1,2]}`))
	s, err := New("bus", &Options{URL: "nats://127.0.0.1:1", Subject: DefaultSubject, MsgIDField: "event.id", MaxPending: 1, AckTimeout: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var obj map[string]any
		if json.Unmarshal(line, &obj) != nil || bytes.ContainsAny(line, "\n") || !utf8.Valid(line) {
			return // the engine hands over valid single-line objects in valid UTF-8 only
		}
		id := s.appendID(nil, "s1", line)
		if len(id) == 0 || !headerSafe(id) {
			t.Fatalf("id %q of %q", id, line)
		}
		if again := s.appendID(nil, "s1", line); !bytes.Equal(id, again) {
			t.Fatalf("ids %q and %q of one line", id, again)
		}
		ev, _ := obj["event"].(map[string]any)
		switch v := ev["id"].(type) {
		case string:
			if headerSafe([]byte(v)) && v != "" && string(id) != v {
				t.Fatalf("id %q, want the field's %q", id, v)
			}
		case float64:
		default:
			if string(id) != hashID("s1", string(line)) {
				t.Fatalf("id %q, want the hash id", id)
			}
		}
	})
}
