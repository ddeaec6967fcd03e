package s3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks/parquet"
	"github.com/ingestd/ingestd/sinks/parquet/parquettest"
)

// parquetColumns promotes a value of every type, and a top-level member (host).
var parquetColumns = []parquet.Column{
	{Path: "event.amount", Type: "double"},
	{Path: "event.count", Type: "int64"},
	{Path: "event.status", Type: "string"},
	{Path: "event.ok", Type: "bool"},
	{Path: "event.at", Type: "timestamp"},
	{Path: "metadata.env", Type: "string"},
	{Path: "host", Type: "string"},
}

// readParquet returns the rows of one object read as a Parquet file (see parquettest.Read),
// after checking that the file's columns are the ones the sink's Schema reports, in the same
// order.
func readParquet(t *testing.T, s *Sink, body []byte) []map[string]any {
	t.Helper()
	f := parquettest.Read(t, body)
	var want []string
	for _, c := range s.Schema() {
		want = append(want, c.Name)
	}
	if !reflect.DeepEqual(f.Columns, want) {
		t.Fatalf("file columns %v, Schema() %v", f.Columns, want)
	}
	return f.Rows
}

// parquetFileColumns are the columns of a file of parquetColumns.
var parquetFileColumns = []string{"timestamp", "received_at", "event_id", "stream_id", "source", "event",
	"metadata", "extra", "event_amount", "event_count", "event_status", "event_ok", "event_at",
	"metadata_env", "host"}

// want is a row with every column of parquetColumns null but those given.
func want(kv ...any) map[string]any { return parquettest.Row(parquetFileColumns, kv...) }

// TestParquetObjects writes Parquet to gofakes3 (standing for S3), reads the object back with
// parquet-go and compares every column of every row with the events sent: the fixed columns,
// each promoted type, extra, escapes, nulls, values of the wrong type, and enough events to
// cross the encoder's chunks of rows.
func TestParquetObjects(t *testing.T) {
	for _, compression := range []string{"snappy", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			s := newSink(t, newFakeS3(t).URL, func(o *Options) {
				o.Format = FormatParquet
				o.Parquet = &ParquetOptions{Columns: parquetColumns, Compression: compression}
			})
			var logs bytes.Buffer
			s.log = slog.New(slog.NewTextHandler(&logs, nil))
			lines := []string{
				`{"timestamp":"2025-02-12T14:32:15.5+01:00","source":"payments-app","event":{"amount":12.5,"count":3,"status":"declined","ok":false,"at":"2025-02-12T13:30:00Z"},"metadata":{"env":"prod"},"host":"web-1","stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z","event_id":"0123456789abcdef0123456789abcdef-0"}` + "\n",
				`{"source":"caf\u00e9 \"pos\"","event":{"status":"a\nb","amount":-1e3,"count":9007199254740993},"tags":["x",{"k":null}],"client":{"ip":"10.0.0.1"},"stream_id":"s1","received_at":"2025-02-12T14:40:00Z","event_id":"0123456789abcdef0123456789abcdef-1"}` + "\n",
				`{"source":"b","event":{"amount":"12","count":1.5,"ok":"yes","at":"yesterday","status":null},"host":7,"metadata":{"env":["prod"]},"stream_id":"s1","received_at":"2025-02-12T14:59:59Z","event_id":"0123456789abcdef0123456789abcdef-2"}` + "\n",
				`{"source":"c","event":{},"metadata":null,"stream_id":"s1","received_at":"2025-02-12T14:00:00Z"}` + "\n",
			}
			rows := []map[string]any{
				want("timestamp", parquettest.Nanos("2025-02-12T13:32:15.5Z"),
					"received_at", parquettest.Nanos("2025-02-12T14:32:15.123456789Z"),
					"event_id", "0123456789abcdef0123456789abcdef-0", "stream_id", "s1", "source", "payments-app",
					"event", `{"amount":12.5,"count":3,"status":"declined","ok":false,"at":"2025-02-12T13:30:00Z"}`,
					"metadata", `{"env":"prod"}`, "event_amount", 12.5, "event_count", int64(3), "event_status", "declined",
					"event_ok", false, "event_at", parquettest.Nanos("2025-02-12T13:30:00Z"), "metadata_env", "prod", "host", "web-1"),
				want("received_at", parquettest.Nanos("2025-02-12T14:40:00Z"), "event_id", "0123456789abcdef0123456789abcdef-1",
					"stream_id", "s1", "source", `café "pos"`,
					"event", `{"status":"a\nb","amount":-1e3,"count":9007199254740993}`,
					"extra", `{"tags":["x",{"k":null}],"client":{"ip":"10.0.0.1"}}`,
					"event_amount", -1000.0, "event_count", int64(9007199254740993), "event_status", "a\nb"),
				want("received_at", parquettest.Nanos("2025-02-12T14:59:59Z"), "event_id", "0123456789abcdef0123456789abcdef-2",
					"stream_id", "s1", "source", "b",
					"event", `{"amount":"12","count":1.5,"ok":"yes","at":"yesterday","status":null}`,
					"metadata", `{"env":["prod"]}`, "extra", `{"host":7}`),
				want("received_at", parquettest.Nanos("2025-02-12T14:00:00Z"), "stream_id", "s1", "source", "c", "event", `{}`),
			}
			for i := range 150 {
				at := time.Date(2025, 2, 12, 14, 0, i%60, i*1000, time.UTC).Format(time.RFC3339Nano)
				lines = append(lines, event(i, at, at))
				rows = append(rows, want("timestamp", parquettest.Nanos(at), "received_at", parquettest.Nanos(at), "stream_id", "s1",
					"source", "payments-app",
					"event", fmt.Sprintf(`{"transactionId":"txn_%d","status":"declined","amount":%d.5,"message":"card declined"}`, i, i*7),
					"metadata", `{"env":"prod"}`, "event_amount", float64(i*7)+0.5, "event_status", "declined",
					"metadata_env", "prod"))
			}
			if err := s.WriteBatch(ctx, batch(lines...)); err != nil {
				t.Fatal(err)
			}
			objs := objects(t, s)
			if len(objs) != 1 || !strings.HasSuffix(objs[0].key, ".parquet") || objs[0].contentType != "application/vnd.apache.parquet" {
				t.Fatalf("objects %+v", objs)
			}
			got := readParquet(t, s, objs[0].body)
			if len(got) != len(rows) {
				t.Fatalf("%d rows, want %d", len(got), len(rows))
			}
			for i := range rows {
				if !reflect.DeepEqual(got[i], rows[i]) {
					t.Errorf("row %d:\n got %v\nwant %v", i, got[i], rows[i])
				}
			}
			// The third event's amount, count, ok, at, env and host.
			if !strings.Contains(logs.String(), " nulled=6 ") {
				t.Errorf("log %q, want 6 nulled", logs.String())
			}
		})
	}
}

// TestParquetNulledLogged: an object holding values of the wrong type nulled is logged once,
// at Warn, when it is stored, with the count per column and no event contents; an object
// without them, or one that fails to upload, is not.
func TestParquetNulledLogged(t *testing.T) {
	f := newFakeS3(t)
	var logs bytes.Buffer
	s := newSink(t, f.URL, func(o *Options) {
		o.Format = FormatParquet
		o.Parquet = &ParquetOptions{Columns: parquetColumns}
	})
	s.log = slog.New(slog.NewJSONHandler(&logs, nil))
	const secret = "4111-1111-1111-1111"
	b := batch(
		`{"source":"a","event":{"count":"`+secret+`","amount":1},"stream_id":"s1","received_at":"2025-02-12T14:10:00Z"}`+"\n",
		`{"source":"a","event":{"count":"x","ok":"`+secret+`"},"host":false,"stream_id":"s1","received_at":"2025-02-12T14:20:00Z"}`+"\n",
		`{"source":"a","event":{"count":2,"at":"`+secret+`"},"stream_id":"s1","received_at":"2025-02-12T15:00:00Z"}`+"\n",
		`{"source":"a","event":{"count":3},"stream_id":"s1","received_at":"2025-02-12T16:00:00Z"}`+"\n",
	)
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), `"x"`) {
		t.Errorf("the log holds event contents:\n%s", logs.String())
	}
	type entry struct {
		Level, Msg, Sink, Object string
		Nulled                   int
		Columns                  map[string]int
	}
	var got []entry
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		got = append(got, e)
	}
	stored := map[string]bool{}
	for _, o := range objects(t, s) {
		stored["s3://"+bucket+"/"+o.key] = true
	}
	if len(stored) != 3 || len(got) != 2 {
		t.Fatalf("%d objects, %d log lines, want 3 and 2:\n%s", len(stored), len(got), logs.String())
	}
	wantColumns := map[string]map[string]int{
		"hour=14/": {"event_count": 2, "event_ok": 1, "host": 1},
		"hour=15/": {"event_at": 1},
	}
	for _, e := range got {
		hour := e.Object[strings.Index(e.Object, "hour="):][:len("hour=14/")]
		wantCols := wantColumns[hour]
		total := 0
		for _, n := range wantCols {
			total += n
		}
		if e.Level != "WARN" || e.Msg != "parquet values of the wrong type stored as null" || e.Sink != "lake" ||
			!stored[e.Object] || e.Nulled != total || !reflect.DeepEqual(e.Columns, wantCols) {
			t.Errorf("log entry %+v; want %d nulled in %v", e, total, wantCols)
		}
	}

	// A failed upload stores nothing and logs nothing; the sink's retry will.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s3Error(w, http.StatusInternalServerError, "InternalError")
	}))
	defer srv.Close()
	logs.Reset()
	s = newSink(t, srv.URL, func(o *Options) {
		o.Format = FormatParquet
		o.Parquet = &ParquetOptions{Columns: parquetColumns}
	})
	s.log = slog.New(slog.NewJSONHandler(&logs, nil))
	if err := s.WriteBatch(ctx, b); err == nil {
		t.Fatal("no error from a failing store")
	}
	if logs.Len() != 0 {
		t.Errorf("a failed upload logged:\n%s", logs.String())
	}
}

// TestParquetEncodeError: a batch that is not NDJSON objects is refused for good, before any
// request.
func TestParquetEncodeError(t *testing.T) {
	f := newFakeS3(t)
	s := newSink(t, f.URL, func(o *Options) { o.Format, o.Key = FormatParquet, "{uuid}.parquet" })
	err := s.WriteBatch(ctx, batch(`{"source":"a","received_at":"2025-02-12T14:00:00Z"}`+"\n", "[1]\n"))
	if err == nil || !strings.Contains(err.Error(), `s3 sink "lake": encoding: parquet: line 2 is not a JSON object`) {
		t.Fatalf("err %v", err)
	}
	if n := f.count(http.MethodPut, ""); n != 0 {
		t.Errorf("%d PUTs", n)
	}
}

func TestParquetOptionErrors(t *testing.T) {
	o := NewOptions()
	o.Bucket = "b"
	o.Format = FormatParquet
	o.Parquet = &ParquetOptions{Columns: []parquet.Column{{Path: "event..x", Type: "decimal"}}, Compression: "lz4"}
	errs := o.Validate()
	if len(errs) != 1 || errs[0].Key != "parquet" {
		t.Fatalf("errors %v, want one at parquet", errs)
	}
	o.Format, o.Parquet = FormatNDJSON, &ParquetOptions{}
	if errs := o.Validate(); len(errs) != 1 || errs[0].Key != "parquet" || !strings.Contains(errs[0].Msg, "only for format") {
		t.Fatalf("parquet options on ndjson: %v", errs)
	}
}
