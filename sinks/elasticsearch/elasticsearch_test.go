package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/ingestd/ingestd/sinks"
)

// bulkServer stands in for Elasticsearch: it parses each bulk request strictly (action line,
// then a JSON object), checks the headers, and answers each item with the status script gives
// it (by the event's "n" field and how many times that event has been seen).
type bulkServer struct {
	t      *testing.T
	srv    *httptest.Server
	auth   string // the Authorization header every request must carry
	gzip   bool
	script func(n, seen int) int // item status; nil means 201

	mu       sync.Mutex
	seen     map[int]int
	requests int
	actions  []map[string]map[string]string
	docs     []map[string]any
	status   int // when set, the whole request is answered with it
	header   http.Header
}

func newBulkServer(t *testing.T) *bulkServer {
	bs := &bulkServer{t: t, seen: map[int]int{}}
	bs.srv = httptest.NewServer(http.HandlerFunc(bs.serve))
	t.Cleanup(bs.srv.Close)
	return bs
}

func (bs *bulkServer) serve(w http.ResponseWriter, r *http.Request) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.requests++
	fail := func(msg string, args ...any) {
		bs.t.Errorf("bulk server: "+msg, args...)
		http.Error(w, "bad request", http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		fail("got %s %s", r.Method, r.URL.Path)
		return
	}
	if got := r.Header.Get("Authorization"); got != bs.auth {
		fail("Authorization %q, want %q", got, bs.auth)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		fail("Content-Type %q", ct)
		return
	}
	var body io.Reader = r.Body
	if bs.gzip {
		if r.Header.Get("Content-Encoding") != "gzip" {
			fail("no gzip Content-Encoding")
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			fail("gzip: %v", err)
			return
		}
		body = zr
	} else if ce := r.Header.Get("Content-Encoding"); ce != "" {
		fail("unexpected Content-Encoding %q", ce)
		return
	}
	if bs.status != 0 {
		for k, v := range bs.header {
			w.Header()[k] = v
		}
		w.WriteHeader(bs.status)
		fmt.Fprint(w, `{"error":"scripted"}`)
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil || len(raw) == 0 || raw[len(raw)-1] != '\n' {
		fail("body must end in a newline (err %v)", err)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	type item map[string]map[string]any
	var items []item
	anyErr := false
	for sc.Scan() {
		var action map[string]map[string]string
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || len(action) != 1 {
			fail("action line %q: %v", sc.Text(), err)
			return
		}
		var name string
		for k, v := range action {
			name = k
			if k != "index" && k != "create" || v["_index"] == "" {
				fail("action line %q", sc.Text())
				return
			}
		}
		if !sc.Scan() {
			fail("action without a document")
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			fail("document %q: %v", sc.Text(), err)
			return
		}
		bs.actions = append(bs.actions, action)
		bs.docs = append(bs.docs, doc)
		n := int(doc["n"].(float64))
		bs.seen[n]++
		status := 201
		if bs.script != nil {
			status = bs.script(n, bs.seen[n])
		}
		res := map[string]any{"status": status}
		if status >= 300 {
			anyErr = true
			typ := "es_rejected_execution_exception"
			if status < 500 && status != 429 {
				typ = "mapper_parsing_exception"
			}
			res["error"] = map[string]any{"type": typ, "reason": fmt.Sprintf("doc %d refused", n)}
		}
		items = append(items, item{name: res})
	}
	json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": anyErr, "items": items})
}

func batchOf(n int) *sinks.Batch {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"n":%d,"id":"e%d","received_at":"2025-02-12T14:32:15.123456789Z"}`+"\n", i, i)
	}
	return &sinks.Batch{Stream: "app", StreamID: "s1", Data: b.Bytes(), Events: n, ReceivedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
}

func newSink(t *testing.T, edit func(*Options)) *Sink {
	t.Helper()
	o := NewOptions()
	edit(o)
	s, err := New("es", o)
	if err != nil {
		t.Fatal(err)
	}
	s.pause = time.Millisecond
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func TestDeliversWithActionIndexAndID(t *testing.T) {
	bs := newBulkServer(t)
	bs.auth = "Basic " + "dTpwdw==" // u:pw
	bs.gzip = true
	s := newSink(t, func(o *Options) {
		o.URLs = []string{bs.srv.URL}
		o.Action = ActionCreate
		o.IDField = "id"
		o.Compression = CompressionGzip
		o.Auth = &Auth{Basic: &BasicAuth{User: "u", Password: "pw"}}
	})
	if err := s.WriteBatch(context.Background(), batchOf(3)); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"create": {"_index": "ingestd-app-2025.02.12", "_id": "e1"}}
	if !equalAction(bs.actions[1], want) || len(bs.docs) != 3 || bs.docs[2]["id"] != "e2" {
		t.Fatalf("actions %v docs %v", bs.actions, bs.docs)
	}
}

func equalAction(a, b map[string]map[string]string) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestIndexTemplateAndFallbackDate(t *testing.T) {
	bs := newBulkServer(t)
	s := newSink(t, func(o *Options) {
		o.URLs = []string{bs.srv.URL}
		o.Index = `x-{stream_id}-{stream}-{date}`
	})
	b := &sinks.Batch{Stream: `a"b`, StreamID: "s1", Data: []byte(`{"n":0}` + "\n"), Events: 1,
		ReceivedAt: time.Date(2025, 3, 1, 23, 0, 0, 0, time.UTC).UnixNano()}
	if err := s.WriteBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := bs.actions[0]["index"]["_index"]; got != `x-s1-a"b-2025.03.01` {
		t.Fatalf("_index %q", got)
	}
}

func TestRetriesLoadRefusalsAloneAndReportsRefusedLines(t *testing.T) {
	bs := newBulkServer(t)
	bs.auth = "ApiKey k3y"
	bs.script = func(n, seen int) int {
		switch {
		case n == 1 || n == 4:
			return 400 // mapping error, for good
		case n == 2 && seen < 3:
			return 429
		case n == 3 && seen < 2:
			return 503
		}
		return 201
	}
	s := newSink(t, func(o *Options) {
		o.URLs = []string{bs.srv.URL, bs.srv.URL}
		o.Auth = &Auth{APIKey: "k3y"}
	})
	err := s.WriteBatch(context.Background(), batchOf(6))
	if k, _ := sinks.Classify(err); k != sinks.Permanent {
		t.Fatalf("kind %v, err %v", k, err)
	}
	if got := sinks.Refused(err); !slices.Equal(got, []int{1, 4}) {
		t.Fatalf("refused %v", got)
	}
	if !strings.Contains(err.Error(), "line 1: status 400: mapper_parsing_exception: doc 1 refused") {
		t.Fatalf("error %q", err)
	}
	if got := sinks.RefusedReasons(err); !slices.Equal(got, []string{"mapper_parsing_exception: doc 1 refused", "mapper_parsing_exception: doc 4 refused"}) {
		t.Fatalf("reasons %q", got)
	}
	// Round 1: all 6; round 2: 2 and 3; round 3: 2 alone.
	if bs.requests != 3 || bs.seen[0] != 1 || bs.seen[2] != 3 || bs.seen[3] != 2 || bs.seen[5] != 1 {
		t.Fatalf("requests %d seen %v", bs.requests, bs.seen)
	}
}

// TestRefusedReasonsFollowTheirLines: a line refused in a later round than a larger one still
// comes first, with its own reason; past reasonsMax the message counts the rest, while every
// line keeps its reason.
func TestRefusedReasonsFollowTheirLines(t *testing.T) {
	bs := newBulkServer(t)
	bs.script = func(n, seen int) int {
		switch {
		case n == 0 && seen == 1:
			return 503 // then refused for good in the second round
		case n == 5:
			return 201
		}
		return 400
	}
	s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL} })
	err := s.WriteBatch(context.Background(), batchOf(9))
	lines, reasons := sinks.Refused(err), sinks.RefusedReasons(err)
	if !slices.Equal(lines, []int{0, 1, 2, 3, 4, 6, 7, 8}) || len(reasons) != len(lines) {
		t.Fatalf("lines %v reasons %q", lines, reasons)
	}
	for i, line := range lines {
		if want := fmt.Sprintf("mapper_parsing_exception: doc %d refused", line); reasons[i] != want {
			t.Errorf("line %d: reason %q, want %q", line, reasons[i], want)
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "8 of 9 events refused: line 0: status 400:") || !strings.HasSuffix(msg, "doc 4 refused; and 3 more") {
		t.Fatalf("message %q", msg)
	}
}

func TestReason(t *testing.T) {
	for raw, want := range map[string]string{
		`{"type":"t","reason":"r"}`: "t: r",
		`{"type":"t"}`:              "t",
		`"plain"`:                   "plain",
		`17`:                        "17",
		`{"type":"mapper_parsing_exception","reason":"failed to parse","caused_by":{"type":"illegal_argument_exception","reason":"data stream timestamp field [@timestamp] is missing"}}`: "mapper_parsing_exception: failed to parse (caused by illegal_argument_exception: data stream timestamp field [@timestamp] is missing)",
		// ES 8 repeats the cause in the reason: it is not said twice.
		`{"type":"document_parsing_exception","reason":"[1:2] failed to parse: x is missing","caused_by":{"type":"illegal_argument_exception","reason":"x is missing"}}`: "document_parsing_exception: [1:2] failed to parse: x is missing",
	} {
		if got := reason(json.RawMessage(raw)); got != want {
			t.Errorf("%s: got %q, want %q", raw, got, want)
		}
	}
	if got := reason(json.RawMessage(`{"type":"t","reason":"` + strings.Repeat("é", 200) + `"}`)); len(got) > reasonMax+3 || !strings.HasSuffix(got, "...") {
		t.Errorf("long reason %q", got)
	}
}

func TestLoadRefusalsOutlastingRoundsAreRetryable(t *testing.T) {
	bs := newBulkServer(t)
	bs.script = func(n, _ int) int {
		if n == 0 {
			return 500
		}
		return 201
	}
	s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL} })
	err := s.WriteBatch(context.Background(), batchOf(2))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
		t.Fatalf("kind %v err %v", k, err)
	}
	if bs.requests != 1+maxRounds || bs.seen[1] != 1 {
		t.Fatalf("requests %d seen %v", bs.requests, bs.seen)
	}
}

func TestConflictOnCreateCountsAsDelivered(t *testing.T) {
	bs := newBulkServer(t)
	bs.script = func(int, int) int { return 409 }
	s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.Action = ActionCreate; o.IDField = "id" })
	if err := s.WriteBatch(context.Background(), batchOf(2)); err != nil {
		t.Fatal(err)
	}
}

func TestWholeRequestStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		header http.Header
		kind   sinks.Kind
		wait   time.Duration
	}{
		{413, nil, sinks.TooLarge, 0},
		{429, http.Header{"Retry-After": {"7"}}, sinks.Backoff, 7 * time.Second},
		{503, http.Header{"Retry-After": {"2"}}, sinks.Backoff, 2 * time.Second},
		{503, nil, sinks.Retryable, 0},
		{502, nil, sinks.Retryable, 0},
		{401, nil, sinks.Permanent, 0},
		{403, nil, sinks.Permanent, 0},
		{400, nil, sinks.Permanent, 0},
	} {
		bs := newBulkServer(t)
		bs.auth = "Bearer t0ken"
		bs.status, bs.header = tc.status, tc.header
		s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.Auth = &Auth{Bearer: "t0ken"} })
		err := s.WriteBatch(context.Background(), batchOf(1))
		k, wait := sinks.Classify(err)
		if err == nil || k != tc.kind || wait != tc.wait || sinks.Refused(err) != nil {
			t.Errorf("%d: kind %v wait %v err %v", tc.status, k, wait, err)
		}
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	s := newSink(t, func(o *Options) { o.URLs = []string{"http://127.0.0.1:1"} })
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
		t.Fatalf("kind %v err %v", k, err)
	}
}

func TestUnreadableAnswerIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>") }))
	defer srv.Close()
	s := newSink(t, func(o *Options) { o.URLs = []string{srv.URL} })
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); err == nil || k != sinks.Retryable {
		t.Fatalf("kind %v err %v", k, err)
	}
}

func TestWriteBeforeConnectAndEmptyBatch(t *testing.T) {
	o := NewOptions()
	o.URLs = []string{"http://localhost:9200"}
	s, err := New("es", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), &sinks.Batch{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(context.Background(), batchOf(1)); err == nil {
		t.Fatal("no error before Connect")
	}
}

func TestValidate(t *testing.T) {
	o := NewOptions()
	o.URLs = []string{"ftp://x", "http://h:9200/path"}
	o.Index = "a-{nope}"
	o.Action = "upsert"
	o.IDField = "a..b"
	o.Path = "bulk"
	o.Compression = "zstd"
	o.Headers = map[string]string{"Content-Length": "1"}
	o.Auth = &Auth{Bearer: "x", APIKey: "y"}
	o.TLS = &TLS{CertFile: "c"}
	o.Timeout = 0
	keys := map[string]bool{}
	for _, e := range o.Validate() {
		keys[e.Key] = true
	}
	for _, k := range []string{"urls[0]", "urls[1]", "index", "action", "id_field", "path", "compression", "headers.Content-Length", "auth", "tls", "timeout"} {
		if !keys[k] {
			t.Errorf("no error for %s (got %v)", k, keys)
		}
	}
	if _, err := New("es", NewOptions()); err == nil {
		t.Error("New accepted no urls")
	}
}

func TestErrorsMaskSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad credentials: %s", r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	s := newSink(t, func(o *Options) { o.URLs = []string{srv.URL}; o.Auth = &Auth{Bearer: "s3cr3t-token"} })
	err := s.WriteBatch(context.Background(), batchOf(1))
	if k, _ := sinks.Classify(err); k != sinks.Permanent || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("kind %v err %v", k, err)
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"took":1,"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"r"}}},{"create":{"status":201}}]}`))
	f.Add([]byte(`{"errors":false}`))
	f.Add([]byte(`{"errors":true,"items":[{"index":{"status":500,"error":"plain"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var a bulkAnswer
		if parseAnswer(body, &a) != nil {
			return
		}
		for i := range a.Items {
			if r := a.Items[i].result(); r != nil {
				if msg := reason(r.Error); len(msg) > reasonMax+3 || strings.ContainsAny(msg, "\n\r") {
					t.Fatalf("reason %q", msg)
				}
			}
		}
	})
}

// TestOneMemberForTwoUses: the members a sink reads are found in one pass, also when id_field
// names one that {date} or data_stream reads as well.
func TestOneMemberForTwoUses(t *testing.T) {
	bs := newBulkServer(t)
	s := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.Index = "x-{date}"; o.IDField = "received_at" })
	ds := newSink(t, func(o *Options) { o.URLs = []string{bs.srv.URL}; o.DataStream = &DataStream{}; o.IDField = "timestamp" })
	b := &sinks.Batch{Stream: "app", Data: []byte(`{"n":0,"timestamp":"2025-02-12T14:32:15Z","received_at":"2025-02-13T00:00:01Z"}` + "\n"), Events: 1}
	for _, s := range []*Sink{s, ds} {
		if err := s.WriteBatch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	want := []map[string]map[string]string{
		{"index": {"_index": "x-2025.02.13", "_id": "2025-02-13T00:00:01Z"}},
		{"create": {"_index": "logs-app-default", "_id": "2025-02-12T14:32:15Z"}},
	}
	for i := range want {
		if !equalAction(bs.actions[i], want[i]) {
			t.Errorf("action %d: %v, want %v", i, bs.actions[i], want[i])
		}
	}
	if bs.docs[1]["@timestamp"] != "2025-02-12T14:32:15Z" {
		t.Errorf("data stream document %v", bs.docs[1])
	}
}
