package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const okEvent = `{"source":"payments-app","event":{"transactionId":"txn_1"}}`

// baselineRequest returns a POST of body with valid headers, then headers (name, value pairs)
// applied: an empty value removes the header.
func baselineRequest(body string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/streams/ingest", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+benchToken)
	r.Header.Set("X-Stream-Id", benchStream)
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
		} else {
			r.Header.Set(headers[i], headers[i+1])
		}
	}
	return r
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestBaselineStores(t *testing.T) {
	var out bytes.Buffer
	bl := newBaseline(benchToken, benchStream, &out)
	f := func(r *http.Request, events int) {
		t.Helper()
		rec := httptest.NewRecorder()
		bl.ServeHTTP(rec, r)
		var got acceptedBody
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK || got.Events != events {
			t.Errorf("answered %d %s, want 200 with %d events", rec.Code, rec.Body, events)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
	ndjson := "\n" + `{"source":"a","event":{"n":1},"timestamp":"2025-02-12T14:32:15.123+02:00","extra":[1,2]}` +
		"\n\n" + `{"source":"b","event":{},"metadata":{"env":"prod"}}` + "\n"
	f(baselineRequest(ndjson, "Content-Type", "application/x-ndjson"), 2)
	f(baselineRequest(" ["+okEvent+"] ", "Content-Type", "application/json; charset=utf-8"), 1)
	f(baselineRequest(gzipped(t, okEvent), "Content-Encoding", "gzip"), 1)
	bl.Close()

	lines := strings.Split(out.String(), "\n")
	if len(lines) != 5 || lines[4] != "" {
		t.Fatalf("wrote %q, want 4 lines", out.String())
	}
	for i, line := range lines[:4] {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		received, _ := ev["received_at"].(string)
		if _, err := time.Parse(time.RFC3339Nano, received); err != nil || len(received) != len(receivedLayout) {
			t.Errorf("line %d: received_at %q", i, received)
		}
		if ev["stream_id"] != benchStream {
			t.Errorf("line %d: stream_id %v", i, ev["stream_id"])
		}
		// Only the first event sent a timestamp; the others get the receive time.
		wantTS := received
		if i == 0 {
			wantTS = "2025-02-12T14:32:15.123+02:00"
			if extra, _ := json.Marshal(ev["extra"]); string(extra) != "[1,2]" {
				t.Errorf("line 0: extra %s", extra)
			}
		}
		if ev["timestamp"] != wantTS {
			t.Errorf("line %d: timestamp %v, want %s", i, ev["timestamp"], wantTS)
		}
	}
}

func TestBaselineRejects(t *testing.T) {
	bl := NewBaseline(benchToken, benchStream)
	defer bl.Close()
	f := func(r *http.Request, status int, code, detail string) {
		t.Helper()
		rec := httptest.NewRecorder()
		bl.ServeHTTP(rec, r)
		var got errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("answer %s: %v", rec.Body, err)
		}
		if rec.Code != status || got.Error != code || !strings.Contains(got.Detail, detail) {
			t.Errorf("answered %d %s %q, want %d %s with %q", rec.Code, got.Error, got.Detail, status, code, detail)
		}
	}

	// Method and headers
	get := baselineRequest(okEvent)
	get.Method = http.MethodGet
	f(get, 405, "method_not_allowed", "POST")
	f(baselineRequest(okEvent, "Authorization", ""), 401, "unauthorized", "token")
	f(baselineRequest(okEvent, "Authorization", "Bearer not-the-bench-token-0"), 401, "unauthorized", "token")
	f(baselineRequest(okEvent, "X-Stream-Id", ""), 400, "missing_stream_id", "X-Stream-Id")
	f(baselineRequest(okEvent, "X-Stream-Id", "other"), 403, "forbidden", `"other"`)
	f(baselineRequest(okEvent, "Content-Type", ""), 415, "unsupported_media_type", "Content-Type")
	f(baselineRequest(okEvent, "Content-Type", "text/plain"), 415, "unsupported_media_type", "Content-Type")
	f(baselineRequest(okEvent, "Content-Encoding", "zstd"), 415, "unsupported_media_type", `"zstd"`)

	// Bodies
	f(baselineRequest("not gzip", "Content-Encoding", "gzip"), 400, "invalid_json", "decompressed")
	f(baselineRequest(gzipped(t, okEvent)[:20], "Content-Encoding", "gzip"), 400, "invalid_json", "decompressed")
	f(baselineRequest(strings.Repeat(" ", baselineMaxBody)+okEvent), 400, "payload_too_large", "1048576")
	f(baselineRequest(gzipped(t, strings.Repeat(" ", baselineMaxBody)+okEvent), "Content-Encoding", "gzip"),
		400, "payload_too_large", "decompressed")
	f(baselineRequest(strings.Repeat("{}\n", baselineMaxEvents+1), "Content-Type", "application/x-ndjson"),
		400, "payload_too_large", "10001 events")

	// JSON
	f(baselineRequest(`{"source":`), 400, "invalid_json", "the body is not valid JSON")
	f(baselineRequest(`null`), 400, "invalid_json", "the body is not a JSON object")
	f(baselineRequest(`[`+okEvent+`,1]`), 400, "invalid_json", "the body is not valid JSON")
	f(baselineRequest(`[`+okEvent+`,null]`), 400, "invalid_json", "event 1 is not a JSON object")
	f(baselineRequest(okEvent+"\n{", "Content-Type", "application/x-ndjson"), 400, "invalid_json", "line 2 is not valid JSON")
	f(baselineRequest(okEvent+"\nnull", "Content-Type", "application/x-ndjson"), 400, "invalid_json", "line 2 is not a JSON object")

	// Fields
	f(baselineRequest(`{"event":{}}`), 400, "missing_field", "event 0: the 'source' field is required")
	f(baselineRequest(`{"source":"","event":{}}`), 400, "invalid_format", "'source'")
	f(baselineRequest(`{"source":null,"event":{}}`), 400, "invalid_format", "'source'")
	f(baselineRequest(`{"source":5,"event":{}}`), 400, "invalid_format", "'source'")
	f(baselineRequest(`{"source":"a"}`), 400, "missing_field", "'event'")
	f(baselineRequest(`{"source":"a","event":[]}`), 400, "invalid_format", "'event'")
	f(baselineRequest(`{"source":"a","event":{},"timestamp":"2025-02-12T14:32:15"}`), 400, "invalid_format", "ISO 8601")
	f(baselineRequest(`{"source":"a","event":{},"timestamp":1739370735}`), 400, "invalid_format", "ISO 8601")
	f(baselineRequest(`{"source":"a","event":{},"metadata":"prod"}`), 400, "invalid_format", "'metadata'")
	f(baselineRequest(`[`+okEvent+`,{"source":"a"}]`), 400, "missing_field", "event 1: the 'event' field")

	rec := httptest.NewRecorder()
	bl.ServeHTTP(rec, get)
	if allow := rec.Header().Get("Allow"); allow != http.MethodPost {
		t.Errorf("405 with Allow %q, want POST", allow)
	}
	// A request is accepted or rejected whole.
	bl.Wait()
	if n := bl.Count(); n != 0 {
		t.Errorf("%d events written from rejected requests", n)
	}
}
