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
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

// es8Server stands in for a stock Elasticsearch 8 cluster, which has no server here: its
// built-in index templates make every name matching logs-*-*, metrics-*-* or synthetics-*-* a
// data stream. Like ES 8 it answers per item: a data stream refuses any action but create and
// any document without a valid @timestamp; every index refuses upper-case names and documents
// with a duplicate top-level member. The error objects have the shapes and messages ES 8 gives.
type es8Server struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	docs  map[string][][]byte // stored documents (raw lines) by index or data stream name
	items int
}

func newES8Server(t *testing.T) *es8Server {
	es := &es8Server{t: t, docs: map[string][][]byte{}}
	es.srv = httptest.NewServer(http.HandlerFunc(es.serve))
	t.Cleanup(es.srv.Close)
	return es
}

func isDataStream(name string) bool {
	for _, prefix := range []string{"logs-", "metrics-", "synthetics-"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok && strings.Contains(rest, "-") {
			return true
		}
	}
	return false
}

func (es *es8Server) serve(w http.ResponseWriter, r *http.Request) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" || r.Header.Get("Content-Type") != "application/x-ndjson" {
		es.t.Errorf("es8: got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	var items []map[string]map[string]any
	anyErr := false
	for sc.Scan() {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || len(action) != 1 || !sc.Scan() {
			// ES refuses the whole request when its framing is wrong.
			es.t.Errorf("es8: bad action line %q: %v", sc.Text(), err)
			http.Error(w, `{"error":{"type":"illegal_argument_exception","reason":"Malformed action/metadata line"},"status":400}`, http.StatusBadRequest)
			return
		}
		doc := slices.Clone(sc.Bytes())
		for op, meta := range action {
			res := es.item(op, meta.Index, meta.ID, doc)
			anyErr = anyErr || res["error"] != nil
			items = append(items, map[string]map[string]any{op: res})
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"errors": anyErr, "took": 3, "items": items})
}

// item applies one bulk item and returns its result object.
func (es *es8Server) item(op, index, id string, doc []byte) map[string]any {
	es.items++
	fail := func(typ, why string, cause map[string]any) map[string]any {
		e := map[string]any{"type": typ, "reason": why}
		if cause != nil {
			e["caused_by"] = cause
		}
		return map[string]any{"_index": index, "_id": nil, "status": 400, "error": e}
	}
	if strings.ToLower(index) != index {
		return fail("invalid_index_name_exception", fmt.Sprintf("Invalid index name [%s], must be lowercase", index), nil)
	}
	ds := isDataStream(index)
	if ds && op != "create" {
		return fail("illegal_argument_exception", "only write ops with an op_type of create are allowed in data streams", nil)
	}
	members, err := topLevelMembers(doc)
	if err != nil {
		return fail("document_parsing_exception", "[1:1] failed to parse: "+err.Error(), nil)
	}
	for i, k := range members {
		if slices.Contains(members[:i], k) {
			return fail("document_parsing_exception", fmt.Sprintf("[1:%d] Duplicate field '%s'", len(doc), k), nil)
		}
	}
	var fields map[string]any
	json.Unmarshal(doc, &fields)
	stored := index
	if ds {
		ts, ok := fields["@timestamp"]
		if !ok {
			const why = "data stream timestamp field [@timestamp] is missing"
			return fail("document_parsing_exception", "[1:2] failed to parse: "+why,
				map[string]any{"type": "illegal_argument_exception", "reason": why})
		}
		str, _ := ts.(string)
		if !strictDateOptionalTime(str) {
			return fail("document_parsing_exception", fmt.Sprintf("[1:%d] failed to parse field [@timestamp] of type [date] in document", len(doc)),
				map[string]any{"type": "illegal_argument_exception", "reason": fmt.Sprintf("failed to parse date field [%v] with format [strict_date_optional_time||epoch_millis]", ts)})
		}
		stored = ".ds-" + index + "-2025.02.12-000001"
	}
	es.docs[index] = append(es.docs[index], doc)
	if id == "" {
		id = fmt.Sprintf("gen-%d", es.items)
	}
	return map[string]any{"_index": stored, "_id": id, "status": 201, "result": "created"}
}

var strictDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`)

// strictDateOptionalTime reports whether ES's default date format reads s as a date-time (the
// date-only forms it also reads never come from the sink).
func strictDateOptionalTime(s string) bool {
	if !strictDate.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// topLevelMembers lists the names of an object's members in order, duplicates included, which
// a decoded map would hide.
func topLevelMembers(doc []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data")
	}
	return names, nil
}

// storedBatch is a batch of lines as the engine stores events: each with a timestamp (the
// client's, kept as sent, or the receive time), stream_id, received_at and event_id.
func storedBatch(stream string, timestamps ...string) *sinks.Batch {
	var b bytes.Buffer
	for i, ts := range timestamps {
		fmt.Fprintf(&b, `{"timestamp":%q,"source":"payments-app","event":{"n":%d},"stream_id":"s1","received_at":"2025-02-12T14:32:16.5Z","event_id":"5d1f0c2a9e7b4418000000000000a0f2-%d"}`+"\n", ts, i, i)
	}
	return &sinks.Batch{Stream: stream, StreamID: "s1", Data: b.Bytes(), Events: len(timestamps),
		ReceivedAt: time.Date(2025, 2, 12, 14, 32, 16, 500_000_000, time.UTC).UnixNano()}
}

// TestElasticsearch8DefaultsWrite: the default options write plain daily indices, which stock
// ES 8 takes with the index action and no @timestamp.
func TestElasticsearch8DefaultsWrite(t *testing.T) {
	es := newES8Server(t)
	s := newSink(t, func(o *Options) { o.URLs = []string{es.srv.URL} })
	b := storedBatch("app", "2025-02-12T14:32:15Z", "2025-02-12T14:32:15.1Z")
	if err := s.WriteBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	docs := es.docs["ingestd-app-2025.02.12"]
	if len(docs) != 2 || !bytes.Equal(docs[0], bytes.Split(b.Data, []byte("\n"))[0]) {
		t.Fatalf("stored %q", es.docs)
	}
}

// TestElasticsearch8RefusesLogsIndexWithoutDataStream shows why the default is no longer
// logs-{stream}-{date}: ES 8 refuses every item, each with its own reason, which the error
// carries per line for the dead-letter queue.
func TestElasticsearch8RefusesLogsIndexWithoutDataStream(t *testing.T) {
	es := newES8Server(t)
	for _, tc := range []struct {
		action, reason string
	}{
		{"", "illegal_argument_exception: only write ops with an op_type of create are allowed in data streams"},
		{ActionCreate, "document_parsing_exception: [1:2] failed to parse: data stream timestamp field [@timestamp] is missing"},
	} {
		s := newSink(t, func(o *Options) {
			o.URLs = []string{es.srv.URL}
			o.Index = "logs-{stream}-{date}"
			o.Action = tc.action
		})
		err := s.WriteBatch(context.Background(), storedBatch("app", "2025-02-12T14:32:15Z", "2025-02-12T14:32:16Z"))
		if k, _ := sinks.Classify(err); k != sinks.Permanent || !slices.Equal(sinks.Refused(err), []int{0, 1}) {
			t.Fatalf("action %q: kind %v, lines %v, err %v", tc.action, k, sinks.Refused(err), err)
		}
		if got := sinks.RefusedReasons(err); !slices.Equal(got, []string{tc.reason, tc.reason}) {
			t.Errorf("action %q: reasons %q", tc.action, got)
		}
	}
	if len(es.docs) != 0 {
		t.Fatalf("stored %q", es.docs)
	}
}

// TestElasticsearch8DataStream: with data_stream: {} every event goes to
// logs-<stream>-default with create and an @timestamp from its timestamp, normalized where ES
// would not read ingestd's form; an event's own @timestamp is kept, not duplicated.
func TestElasticsearch8DataStream(t *testing.T) {
	es := newES8Server(t)
	s := newSink(t, func(o *Options) {
		o.URLs = []string{es.srv.URL}
		o.DataStream = &DataStream{}
		o.IDField = "event_id"
	})
	b := storedBatch("Payments-App",
		"2025-02-12T14:32:15Z",
		"2025-02-12t14:32:15.123456789123+02:00", // lower-case t, 12 fractional digits
		"2016-12-31T23:59:60z",                   // a leap second, lower-case z
	)
	b.Data = append(b.Data, `{"source":"x","event":{"n":3},"@timestamp":"2025-01-01T00:00:00Z","timestamp":"2025-02-12T14:32:15Z"}`+"\n"...)
	b.Data = append(b.Data, `{"source":"x","event":{"n":4}}`+"\n"...) // no timestamp: the batch's receive time
	b.Events += 2
	if err := s.WriteBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	docs := es.docs["logs-payments_app-default"]
	if len(docs) != 5 || len(es.docs) != 1 {
		t.Fatalf("stored %q", es.docs)
	}
	want := []string{
		"2025-02-12T14:32:15Z",
		"2025-02-12T14:32:15.123456789+02:00",
		"2016-12-31T23:59:59.999999999Z",
		"2025-01-01T00:00:00Z",
		"2025-02-12T14:32:16.5Z",
	}
	for i, doc := range docs {
		var got struct {
			TS string `json:"@timestamp"`
		}
		json.Unmarshal(doc, &got)
		if got.TS != want[i] {
			t.Errorf("doc %d: @timestamp %q, want %q: %s", i, got.TS, want[i], doc)
		}
		if i != 3 && !bytes.HasSuffix(doc, []byte(`,"@timestamp":"`+want[i]+`"}`)) {
			t.Errorf("doc %d: @timestamp is not its last member: %s", i, doc)
		}
	}
}

// TestElasticsearch8DataStreamNamed: type, dataset and namespace name the data stream, with
// {stream} and {stream_id} made fit for a data stream name.
func TestElasticsearch8DataStreamNamed(t *testing.T) {
	es := newES8Server(t)
	s := newSink(t, func(o *Options) {
		o.URLs = []string{es.srv.URL}
		o.DataStream = &DataStream{Type: "metrics", Dataset: "ingestd.{stream}", Namespace: "{stream_id}"}
		o.Action = ActionCreate
	})
	b := storedBatch(`a"b c`, "2025-02-12T14:32:15Z")
	b.StreamID = "A0C3-B4DE"
	if err := s.WriteBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(es.docs["metrics-ingestd.a_b_c-a0c3_b4de"]) != 1 {
		t.Fatalf("stored %q", es.docs)
	}
}

func TestDataStreamOptions(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Options)
		key  string // "" when valid
	}{
		{func(o *Options) { o.DataStream = &DataStream{} }, ""},
		{func(o *Options) { o.DataStream = &DataStream{Namespace: "prod"}; o.Action = ActionCreate }, ""},
		{func(o *Options) { o.DataStream = &DataStream{}; o.Action = ActionIndex }, "action"},
		{func(o *Options) { o.DataStream = &DataStream{}; o.Index = "logs-x-default" }, "index"},
		{func(o *Options) { o.DataStream = &DataStream{Dataset: "my-app"} }, "data_stream.dataset"},
		{func(o *Options) { o.DataStream = &DataStream{Dataset: "{stream}-{date}"} }, "data_stream.dataset"},
		{func(o *Options) { o.DataStream = &DataStream{Dataset: "{nope}"} }, "data_stream.dataset"},
		{func(o *Options) { o.DataStream = &DataStream{Namespace: "Prod"} }, "data_stream.namespace"},
		{func(o *Options) { o.DataStream = &DataStream{Namespace: "a\tb"} }, "data_stream.namespace"},
		{func(o *Options) { o.DataStream = &DataStream{Type: "_logs"} }, "data_stream.type"},
		{func(o *Options) { o.DataStream = &DataStream{Type: "lo/gs"} }, "data_stream.type"},
	} {
		o := NewOptions()
		o.URLs = []string{"http://localhost:9200"}
		tc.edit(o)
		errs := o.Validate()
		switch {
		case tc.key == "" && len(errs) > 0:
			t.Errorf("%+v: %v", o.DataStream, errs)
		case tc.key != "" && (len(errs) != 1 || errs[0].Key != tc.key):
			t.Errorf("%+v, index %q, action %q: got %v, want one error for %s", o.DataStream, o.Index, o.Action, errs, tc.key)
		}
	}
	if msg := func() string {
		o := NewOptions()
		o.URLs = []string{"http://localhost:9200"}
		o.DataStream, o.Action = &DataStream{}, ActionIndex
		return o.Validate()[0].Msg
	}(); !strings.Contains(msg, `accept only "create"`) {
		t.Errorf("action message %q", msg)
	}
}

func TestAppendTime(t *testing.T) {
	fallback := time.Date(2025, 3, 1, 0, 0, 0, 7, time.UTC).UnixNano()
	for in, want := range map[string]string{
		"2025-02-12T14:32:15Z":                 "2025-02-12T14:32:15Z",
		"2025-02-12t14:32:15z":                 "2025-02-12T14:32:15Z",
		"2025-02-12T14:32:15.5-07:30":          "2025-02-12T14:32:15.5-07:30",
		"2025-02-12T14:32:15.1234567890123Z":   "2025-02-12T14:32:15.123456789Z",
		"2025-02-12T14:32:15.123456789+00:00":  "2025-02-12T14:32:15.123456789+00:00",
		"2016-12-31T23:59:60.25Z":              "2016-12-31T23:59:59.999999999Z",
		"":                                     "2025-03-01T00:00:00.000000007Z",
		"2025-02-12":                           "2025-03-01T00:00:00.000000007Z",
		"2025-02-12T14:32:15":                  "2025-03-01T00:00:00.000000007Z",
		"2025-02-12T14:32:15.Z":                "2025-03-01T00:00:00.000000007Z",
		"2025-02-12T14:32:15+0200":             "2025-03-01T00:00:00.000000007Z",
		"2025-02-12T14:32:15+02:00x":           "2025-03-01T00:00:00.000000007Z",
		"2025-02-12T14:32:15+0a:00":            "2025-03-01T00:00:00.000000007Z",
		"2025-02-12 14:32:15Z":                 "2025-03-01T00:00:00.000000007Z",
		"2025-02-1xT14:32:15Z":                 "2025-03-01T00:00:00.000000007Z",
		`2025-02-12T14:32:15\u005a`:            "2025-03-01T00:00:00.000000007Z",
		"2025-02-12T14:32:15.000000000000000Z": "2025-02-12T14:32:15.000000000Z",
	} {
		if got := string(appendTime(nil, []byte(in), fallback)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestAppendStamped(t *testing.T) {
	for in, want := range map[string]string{
		`{"timestamp":"2025-02-12T14:32:15Z"}`:    `{"timestamp":"2025-02-12T14:32:15Z","@timestamp":"2025-02-12T14:32:15Z"}`,
		`{"timestamp":"2025-02-12T14:32:15Z" }  `: `{"timestamp":"2025-02-12T14:32:15Z" ,"@timestamp":"2025-02-12T14:32:15Z"}`,
		`{}`:               `{"@timestamp":"1970-01-01T00:00:00Z"}`,
		`{ }`:              `{ "@timestamp":"1970-01-01T00:00:00Z"}`,
		`{"timestamp":17}`: `{"timestamp":17,"@timestamp":"1970-01-01T00:00:00Z"}`,
		`{"a":{"timestamp":"2025-02-12T14:32:15Z"}}`:          `{"a":{"timestamp":"2025-02-12T14:32:15Z"},"@timestamp":"1970-01-01T00:00:00Z"}`,
		`{"@timestamp":1,"timestamp":"2025-02-12T14:32:15Z"}`: `{"@timestamp":1,"timestamp":"2025-02-12T14:32:15Z"}`,
		`[1]`: `[1]`,
		``:    ``,
	} {
		ts, _ := fieldpath.Lookup([]byte(in), timestampPath)
		own, _ := fieldpath.Lookup([]byte(in), stampPath)
		if got := string(appendStamped(nil, []byte(in), ts, own, 0)); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestAppendDSPart(t *testing.T) {
	if got := string(appendDSPart(nil, "Pay-ments App/\"x\\y*?<>|,#:\x01\x7fé")); got != `pay_ments_app__x_y__________é` {
		t.Fatalf("got %q", got)
	}
}
