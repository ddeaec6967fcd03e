package splunkhec

import (
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzParseAnswer checks the answer readers against encoding/json on any input: they must not
// panic, must refuse what is not a JSON object, and must read the members encoding/json reads
// (compared by exact key, last duplicate winning, as HEC's answers are matched).
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"text":"Success","code":0,"ackId":7}`), uint64(7))
	f.Add([]byte(`{"acks":{"7":true,"8":false}}`), uint64(7))
	f.Fuzz(func(t *testing.T, body []byte, id uint64) {
		var obj map[string]json.RawMessage
		isObj := json.Unmarshal(body, &obj) == nil && obj != nil
		member := func(key string, v any) bool {
			raw, ok := obj[key]
			return ok && json.Unmarshal(raw, v) == nil
		}

		var a answer
		err := parseAnswer(body, &a)
		switch {
		case !isObj:
			if err == nil {
				t.Fatalf("accepted %q, which is not a JSON object", body)
			}
		case err == nil:
			var code, ackID float64
			var text string
			if a.code >= 0 && (!member("code", &code) || float64(a.code) != code) {
				t.Fatalf("%q: code %d, encoding/json %v", body, a.code, code)
			}
			if a.hasAck && (!member("ackId", &ackID) || float64(a.ackID) != ackID) {
				t.Fatalf("%q: ackId %d, encoding/json %v", body, a.ackID, ackID)
			}
			// encoding/json mends invalid UTF-8; the reader keeps the bytes (messages mend them).
			if member("text", &text) && utf8.Valid(a.text) && string(a.text) != text {
				t.Fatalf("%q: text %q, encoding/json %q", body, a.text, text)
			}
		}

		acked, err := parseAcks(body, id)
		var acks map[string]json.RawMessage
		if !isObj || !member("acks", &acks) || acks == nil {
			if err == nil && acked {
				t.Fatalf("%q: acked without an acks object", body)
			}
			return
		}
		var want bool
		raw, ok := acks[strconv.FormatUint(id, 10)]
		if ok && json.Unmarshal(raw, &want) != nil {
			if err == nil {
				t.Fatalf("%q: ack %d is %s, yet read", body, id, raw)
			}
			return
		}
		if err == nil && acked != want {
			t.Fatalf("%q: ack %d read %v, encoding/json %v", body, id, acked, want)
		}
	})
}
