package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/ingestd/ingestd/core/processor"
)

// FuzzProcess feeds arbitrary message text, as a checked event carries it, to the json and kv
// formats: the result is always one line of valid JSON, holding what the text said.
// The seed corpus is in testdata/fuzz/FuzzProcess.
func FuzzProcess(f *testing.F) {
	states := [2]processor.State{
		step(f, func(o *Options) { o.Field, o.Format = "event.message", "json" }),
		step(f, func(o *Options) { o.Field, o.Format, o.Target = "event.message", "kv", "event.kv" }),
	}
	f.Fuzz(func(t *testing.T, kv bool, text string) {
		msg, _ := json.Marshal(text) // as the decoder would have it: valid UTF-8, escaped
		event := []byte(`{"event":{"message":` + string(msg) + `},"x":1}`)
		st := states[0]
		if kv {
			st = states[1]
		}
		out, o := st.Process(nil, event, &processor.Facts{})
		if o != processor.Changed && o != processor.Failed {
			t.Fatalf("%q: outcome %v", text, o)
		}
		if bytes.ContainsAny(out, "\r\n") || !json.Valid(out) {
			t.Fatalf("%q: output is not one line of valid JSON: %q", text, out)
		}
		var got struct {
			Event struct {
				Message any
				KV      map[string]string
			}
			ParseError *string `json:"parse_error"`
		}
		if err := decode(out, &got); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if (o == processor.Failed) != (got.ParseError != nil) {
			t.Fatalf("%q: outcome %v but parse_error %v", text, o, got.ParseError)
		}
		if kv {
			return
		}
		// The text as the step sees it: invalid UTF-8 became U+FFFD in the event.
		var content string
		if err := json.Unmarshal(msg, &content); err != nil {
			t.Fatal(err)
		}
		var want any
		err := decode([]byte(content), &want)
		if o == processor.Failed {
			if err == nil && !bytes.Contains([]byte(*got.ParseError), []byte("nesting deeper")) {
				t.Fatalf("%q: refused (%s), but encoding/json accepts it", content, *got.ParseError)
			}
			return
		}
		if err != nil || !reflect.DeepEqual(got.Event.Message, want) {
			t.Fatalf("%q: parsed as %#v, encoding/json gives %#v, %v", content, got.Event.Message, want, err)
		}
	})
}

// decode is json.Unmarshal keeping numbers as text, which any number can be.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("more after the value: %v", err)
	}
	return nil
}
