package http

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendArray: whatever JSON objects a batch holds, the json_array body is one valid JSON
// array of exactly those objects, in order.
func FuzzAppendArray(f *testing.F) {
	f.Add([]byte(lines))
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"a":"x\ny,z"}` + "\n" + `{"b":[1,{"c":null}]}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		// Keep the input's lines that are JSON objects, compacted to one line as the engine
		// stores them.
		var data []byte
		var want []json.RawMessage
		for line := range bytes.Lines(in) {
			var v map[string]any
			if json.Unmarshal(line, &v) != nil {
				continue
			}
			var c bytes.Buffer
			if err := json.Compact(&c, line); err != nil {
				t.Fatal(err)
			}
			data = append(append(data, c.Bytes()...), '\n')
			want = append(want, json.RawMessage(c.Bytes()))
		}
		got := appendArray(nil, data)
		var elems []json.RawMessage
		if err := json.Unmarshal(got, &elems); err != nil {
			t.Fatalf("appendArray(%q) = %q: %v", data, got, err)
		}
		if len(elems) != len(want) {
			t.Fatalf("appendArray(%q) = %q: %d elements, want %d", data, got, len(elems), len(want))
		}
		for i := range want {
			if !bytes.Equal(elems[i], want[i]) {
				t.Fatalf("element %d is %s, want %s", i, elems[i], want[i])
			}
		}
	})
}

// FuzzRetryAfter: any header value gives a wait within [0, maxRetryAfter], and digits alone
// always parse.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Thu, 26 Nov 2026 12:00:30 GMT", "Thursday, 26-Nov-26 12:01:00 GMT", "-1", "1e3", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		wait, ok := retryAfter(v)
		if wait < 0 || wait > maxRetryAfter || !ok && wait != 0 {
			t.Fatalf("retryAfter(%q) = %v, %v", v, wait, ok)
		}
		digits := len(v) > 0
		for i := 0; i < len(v); i++ {
			digits = digits && '0' <= v[i] && v[i] <= '9'
		}
		if digits && (!ok || wait%time.Second != 0) {
			t.Fatalf("retryAfter(%q) = %v, %v for delay-seconds", v, wait, ok)
		}
	})
}
