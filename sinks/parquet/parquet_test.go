package parquet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/ingestd/ingestd/sinks/parquet/parquettest"
)

var testColumns = []Column{
	{Path: "event.amount", Type: "double"},
	{Path: "event.count", Type: "int64"},
	{Path: "event.status", Type: "string"},
	{Path: "event.ok", Type: "bool"},
	{Path: "event.at", Type: "timestamp"},
	{Path: "metadata.env", Type: "string"},
}

// readBack returns a file's rows, read with parquet-go (see parquettest.Read).
func readBack(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	return parquettest.Read(t, data).Rows
}

// fileColumns are the columns of a file of testColumns.
var fileColumns = []string{"timestamp", "received_at", "stream_id", "source", "event",
	"metadata", "event_id", "event_amount", "event_count", "event_status", "event_ok",
	"event_at", "metadata_env", "extra"}

// row is the expected row with every column null but those given.
func row(kv ...any) map[string]any { return parquettest.Row(fileColumns, kv...) }

func TestEncodeRoundTrip(t *testing.T) {
	s, err := NewSchema(testColumns)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		// Everything present and of the right kind.
		`{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"amount":1234.5,"count":3,"status":"declined","ok":true,"at":"2025-02-12T14:30:00.5Z"},"metadata":{"env":"prod"},"stream_id":"s1","received_at":"2025-02-12T14:32:15.123456789Z","event_id":"5f0c8e3a9b1d4e7f8a2c6b0d9e1f3a5c-0"}`,
		// Wrong kinds everywhere: all null, each counted.
		`{"timestamp":1739370735,"source":"a","event":{"amount":"12","count":1.5,"status":7,"ok":"true","at":"yesterday"},"metadata":{"env":{"x":1}},"stream_id":"s1","received_at":"2025-02-12 14:32:15","event_id":9}`,
		// JSON nulls and missing members: null, not counted; other members kept in extra.
		`{"source":null,"event":{"amount":null,"count":null},"stream_id":"s2","received_at":"2025-02-12T14:32:15Z","extra":[1,2]}`,
		"",
		// Escapes, offsets, integral forms, bounds.
		`{"timestamp":"2025-02-12T20:02:15.25+05:30","source":"pay\u00e9 \"x\"","event":{"amount":-1e3,"count":-9223372036854775808,"status":"a\nb","ok":false,"at":"2025-02-12T14:30:00\u005a"},"metadata":{},"stream_id":"s1","received_at":"2025-02-12T14:32:15-00:30"}`,
		"  \r",
		`{"event":{"count":1e3,"amount":0},"metadata":null,"event_id":""}`,
		`{"event":{"count":9223372036854775808}}`,
		`{"event":{"count":9223372036854775807,"at":"2025-02-30T00:00:00Z"}}`,
	}
	var buf bytes.Buffer
	byColumn := make([]int, len(s.Columns()))
	byColumn[0] = 99 // set, not added to
	st, err := s.EncodeStats(&buf, []byte(strings.Join(lines, "\n")+"\n"), byColumn)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		row("timestamp", parquettest.Nanos("2025-02-12T14:32:15Z"),
			"received_at", parquettest.Nanos("2025-02-12T14:32:15.123456789Z"), "stream_id", "s1", "source", "payments-app",
			"event", `{"amount":1234.5,"count":3,"status":"declined","ok":true,"at":"2025-02-12T14:30:00.5Z"}`,
			"metadata", `{"env":"prod"}`, "event_id", "5f0c8e3a9b1d4e7f8a2c6b0d9e1f3a5c-0", "event_amount", 1234.5, "event_count", int64(3),
			"event_status", "declined", "event_ok", true, "event_at", parquettest.Nanos("2025-02-12T14:30:00.5Z"),
			"metadata_env", "prod"),
		row("source", "a", "stream_id", "s1",
			"event", `{"amount":"12","count":1.5,"status":7,"ok":"true","at":"yesterday"}`,
			"metadata", `{"env":{"x":1}}`,
			"extra", `{"timestamp":1739370735,"received_at":"2025-02-12 14:32:15","event_id":9}`),
		row("stream_id", "s2", "received_at", parquettest.Nanos("2025-02-12T14:32:15Z"),
			"event", `{"amount":null,"count":null}`, "extra", `{"extra":[1,2]}`),
		row("timestamp", parquettest.Nanos("2025-02-12T14:32:15.25Z"),
			"received_at", parquettest.Nanos("2025-02-12T15:02:15Z"), "stream_id", "s1", "source", "payé \"x\"",
			"event", `{"amount":-1e3,"count":-9223372036854775808,"status":"a\nb","ok":false,"at":"2025-02-12T14:30:00\u005a"}`,
			"metadata", `{}`, "event_amount", -1000.0, "event_count", int64(math.MinInt64),
			"event_status", "a\nb", "event_ok", false, "event_at", parquettest.Nanos("2025-02-12T14:30:00Z")),
		row("event", `{"count":1e3,"amount":0}`, "event_count", int64(1000), "event_amount", 0.0, "event_id", ""),
		row("event", `{"count":9223372036854775808}`),
		row("event", `{"count":9223372036854775807,"at":"2025-02-30T00:00:00Z"}`, "event_count", int64(math.MaxInt64)),
	}
	// Line 2: timestamp, received_at, event_id, amount, count, status, ok, at, env = 9;
	// line 6: count overflows; line 7: Feb 30.
	if wantStats := (Stats{Rows: len(want), Mismatched: 11}); st != wantStats {
		t.Errorf("stats %+v, want %+v", st, wantStats)
	}
	wantBy := map[string]int{"timestamp": 1, "received_at": 1, "event_id": 1, "event_amount": 1,
		"event_count": 2, "event_status": 1, "event_ok": 1, "event_at": 2, "metadata_env": 1}
	for i, c := range s.Columns() {
		if byColumn[i] != wantBy[c.Name] {
			t.Errorf("column %s: %d mismatched, want %d", c.Name, byColumn[i], wantBy[c.Name])
		}
	}
	got := readBack(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

// TestExtra: every top-level member no column holds is kept in extra, key and value as stored,
// in their order; a member held by a column is not repeated there.
func TestExtra(t *testing.T) {
	s, err := NewSchema([]Column{{Path: "host", Type: "string"}, {Path: "client.ip", Type: "string"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ line, extra string }{
		// Fields a client or enrich added at the top level.
		{`{"source":"a","event":{},"tags":["x","y"],"n":1.5e3,"ok":false,"none":null,"stream_id":"s"}`,
			`{"tags":["x","y"],"n":1.5e3,"ok":false,"none":null}`},
		// Only held members: null.
		{`{"source":"a","event":{"k":1},"metadata":{},"timestamp":"2025-02-12T14:32:15Z","host":"h1"}`, ""},
		{`{}`, ""},
		// A promoted top-level member is held; its wrong kind is not, nor is a fixed one's.
		{`{"host":7,"source":"a","timestamp":1739370735,"event":{}}`, `{"host":7,"timestamp":1739370735}`},
		// A path of two segments copies a value out: the member stays whole in extra.
		{`{"client":{"ip":"10.0.0.1","port":443},"source":"a"}`, `{"client":{"ip":"10.0.0.1","port":443}}`},
		// An escaped key is the member it names; an escaped key of no column is copied as is.
		{`{"\u0073ource":"a","ho\u0073t":"h","x\"y":"\u00e9\n"}`, `{"x\"y":"\u00e9\n"}`},
		// The lookup takes the last of duplicate keys; the earlier one is kept here.
		{`{"host":"old","source":"a","host":"new"}`, `{"host":"old"}`},
		// Whitespace between members goes; within a value it stays.
		{" { \"a\" : 1 ,\t\"source\":\"s\", \"b\" : [ 1, {\"c\" : 2} ] } ", `{"a":1,"b":[ 1, {"c" : 2} ]}`},
		// Strings holding braces, quotes and commas are skipped whole.
		{`{"event":{"m":"}\",{"},"q":"a,\"b\":}","source":"a"}`, `{"q":"a,\"b\":}"}`},
	} {
		var out bytes.Buffer
		if _, err := s.Encode(&out, []byte(c.line)); err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		got := readBack(t, out.Bytes())[0]["extra"]
		var want any
		if c.extra != "" {
			want = c.extra
			if !json.Valid([]byte(c.extra)) {
				t.Fatalf("%s: the wanted extra is not JSON", c.line)
			}
		}
		if got != want {
			t.Errorf("%s: extra %v, want %v", c.line, got, want)
		}
	}
}

// TestEncodeStatsCounters: per-column counters must match the columns.
func TestEncodeStatsCounters(t *testing.T) {
	s, _ := NewSchema(testColumns)
	for _, n := range []int{0, len(s.Columns()) - 1, len(s.Columns()) + 1} {
		_, err := s.EncodeStats(io.Discard, []byte(`{"source":"a"}`), make([]int, n))
		if want := fmt.Sprintf("parquet: %d counters for %d columns", n, len(s.Columns())); err == nil || err.Error() != want {
			t.Errorf("%d counters: err %v, want %q", n, err, want)
		}
	}
}

// TestEncodeManyRows crosses the row chunks with escaped strings, which live in the scratch
// space, and reuses one schema for batches of different sizes.
func TestEncodeManyRows(t *testing.T) {
	s, err := NewSchema(testColumns)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 63, 64, 65, 200, 3} {
		var in bytes.Buffer
		for i := range n {
			fmt.Fprintf(&in, `{"source":"src\t%d","event":{"count":%d,"status":"st\u0041%d"},"stream_id":"s"}`+"\n", i, i, i)
		}
		var out bytes.Buffer
		rows, err := s.Encode(&out, in.Bytes())
		if err != nil || rows != n {
			t.Fatalf("n=%d: rows %d, err %v", n, rows, err)
		}
		got := readBack(t, out.Bytes())
		if len(got) != n {
			t.Fatalf("n=%d: read %d rows", n, len(got))
		}
		for i, r := range got {
			if r["source"] != fmt.Sprintf("src\t%d", i) || r["event_status"] != fmt.Sprintf("stA%d", i) ||
				r["event_count"] != int64(i) || r["stream_id"] != "s" {
				t.Fatalf("n=%d row %d: %v", n, i, r)
			}
		}
	}
}

func TestEncodeEmpty(t *testing.T) {
	s, err := NewSchema(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "\n\n", " \r\n"} {
		var out bytes.Buffer
		rows, err := s.Encode(&out, []byte(in))
		if err != nil || rows != 0 {
			t.Fatalf("%q: rows %d, err %v", in, rows, err)
		}
		f, err := pq.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if f.NumRows() != 0 || len(f.Schema().Columns()) != len(fixed)+1 {
			t.Fatalf("%q: %d rows, %d columns", in, f.NumRows(), len(f.Schema().Columns()))
		}
	}
}

func TestEncodeNotAnObject(t *testing.T) {
	s, _ := NewSchema(nil)
	_, err := s.Encode(io.Discard, []byte("{\"source\":\"a\"}\n\n[1]\n"))
	if err == nil || err.Error() != "parquet: line 3 is not a JSON object" {
		t.Fatalf("err %v", err)
	}
	// The schema stays usable.
	if rows, err := s.Encode(io.Discard, []byte(`{"source":"a"}`)); err != nil || rows != 1 {
		t.Fatalf("rows %d, err %v", rows, err)
	}
}

type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestEncodeWriteError(t *testing.T) {
	s, _ := NewSchema(nil)
	if _, err := s.Encode(failWriter{}, []byte(`{"source":"a"}`)); !errors.Is(err, errWrite) {
		t.Fatalf("err %v", err)
	}
}

func TestCompression(t *testing.T) {
	for _, c := range []struct {
		opt  Compression
		want format.CompressionCodec
	}{{Snappy, format.Snappy}, {Zstd, format.Zstd}, {Snappy, format.Snappy}} {
		s, _ := NewSchema(testColumns)
		s.Options.Compression = c.opt
		var out bytes.Buffer
		if _, err := s.Encode(&out, []byte(`{"source":"a","event":{"count":1}}`)); err != nil {
			t.Fatal(err)
		}
		f, err := pq.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, cc := range f.Metadata().RowGroups[0].Columns {
			if cc.MetaData.Codec != c.want {
				t.Fatalf("%v: column %v has codec %v", c.opt, cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}
}

// TestEncodeConcurrent shares one schema between goroutines, as a sink with concurrent writes
// does; run with -race.
func TestEncodeConcurrent(t *testing.T) {
	s, _ := NewSchema(testColumns)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var in bytes.Buffer
			for i := range 100 {
				fmt.Fprintf(&in, `{"source":"g%d\n","event":{"count":%d}}`+"\n", g, i)
			}
			var out bytes.Buffer
			if _, err := s.Encode(&out, in.Bytes()); err != nil {
				t.Error(err)
				return
			}
			for i, r := range readBack(t, out.Bytes()) {
				if r["source"] != fmt.Sprintf("g%d\n", g) || r["event_count"] != int64(i) {
					t.Errorf("g%d row %d: %v", g, i, r)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestColumns(t *testing.T) {
	s, err := NewSchema([]Column{{Path: "event.amount", Type: "double"}, {Path: "event.n", Type: "int64"},
		{Path: "metadata.ok", Type: "bool"}, {Path: "event.at", Type: "timestamp"}, {Path: "x", Type: "string"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []ColumnInfo{
		{"event", "event", "string", true},
		{"event_amount", "event.amount", "double", true},
		{"event_at", "event.at", "timestamp", true},
		{"event_id", "event_id", "string", true},
		{"event_n", "event.n", "int64", true},
		{"extra", "", "string", true},
		{"metadata", "metadata", "string", true},
		{"metadata_ok", "metadata.ok", "bool", true},
		{"received_at", "received_at", "timestamp", true},
		{"source", "source", "string", true},
		{"stream_id", "stream_id", "string", true},
		{"timestamp", "timestamp", "timestamp", true},
		{"x", "x", "string", true},
	}
	if got := s.Columns(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	// The file's own schema agrees on names and order.
	var out bytes.Buffer
	if _, err := s.Encode(&out, nil); err != nil {
		t.Fatal(err)
	}
	f, _ := pq.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	for i, path := range f.Schema().Columns() {
		if path[0] != want[i].Name {
			t.Fatalf("file column %d is %v, want %s", i, path, want[i].Name)
		}
	}
	leaf, _ := f.Schema().Lookup("event_at")
	if got := leaf.Node.Type().String(); got != "TIMESTAMP(isAdjustedToUTC=true,unit=NANOS)" || !leaf.Node.Optional() {
		t.Fatalf("event_at is %s, optional %v", got, leaf.Node.Optional())
	}
}

func TestNewSchemaErrors(t *testing.T) {
	for _, c := range []struct {
		cols []Column
		want string
	}{
		{[]Column{{Path: "event.a", Type: "float"}}, `column 0 (event.a): unknown type "float"`},
		{[]Column{{Path: "event..a", Type: "int64"}}, "column 0: "},
		{[]Column{{Path: "", Type: "int64"}}, "column 0: "},
		{[]Column{{Path: "event.a b", Type: "int64"}}, "column 0: "},
		{[]Column{{Path: "event.a", Type: "int64"}, {Path: "event_a", Type: "string"}}, `column 1 (event_a): column name "event_a" is taken`},
		{[]Column{{Path: "source", Type: "string"}}, `column 0 (source): column name "source" is taken`},
		{[]Column{{Path: "event_id", Type: "int64"}}, `column 0 (event_id): column name "event_id" is taken`},
		{[]Column{{Path: "extra", Type: "string"}}, `column 0 (extra): column name "extra" is taken`},
	} {
		s, err := NewSchema(c.cols)
		if s != nil || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.cols, err, c.want)
		}
	}
	// Every problem is reported, not just the first.
	_, err := NewSchema([]Column{{Path: "a", Type: "x"}, {Path: "b", Type: "y"}})
	if err == nil || !strings.Contains(err.Error(), "column 0") || !strings.Contains(err.Error(), "column 1") {
		t.Errorf("err %v", err)
	}
}

func TestParseRFC3339(t *testing.T) {
	for _, s := range []string{
		"2025-02-12T14:32:15Z", "2025-02-12t14:32:15z", "2025-02-12T14:32:15.1Z",
		"2025-02-12T14:32:15.123456789Z", "2025-02-12T14:32:15.1234567891Z",
		"2025-02-12T14:32:15+05:30", "2025-02-12T14:32:15.5-11:45", "2024-02-29T00:00:00Z",
		"1970-01-01T00:00:00Z", "1677-09-21T00:12:43.145224192Z", "2262-04-11T23:47:16.854775807Z",
	} {
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := parseRFC3339([]byte(s)); !ok || got != want.UnixNano() {
			t.Errorf("%s: got %d %v, want %d", s, got, ok, want.UnixNano())
		}
	}
	for _, s := range []string{
		"", "2025-02-12", "2025-02-12T14:32:15", "2025-02-12 14:32:15Z", "2025-13-12T14:32:15Z",
		"2025-00-12T14:32:15Z", "2025-02-00T14:32:15Z", "2025-02-29T14:32:15Z", "2025-04-31T00:00:00Z",
		"2025-02-12T24:00:00Z", "2025-02-12T14:60:15Z", "2025-02-12T14:32:60Z", "2025-02-12T14:32:15.Z",
		"2025-02-12T14:32:15+0530", "2025-02-12T14:32:15+24:00", "2025-02-12T14:32:15+05:60",
		"2025-02-12T14:32:15ZZ", "2025-0a-12T14:32:15Z", "+025-02-12T14:32:15Z",
		"1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775808Z", "0001-01-01T00:00:00Z",
	} {
		if got, ok := parseRFC3339([]byte(s)); ok {
			t.Errorf("%q: accepted as %d", s, got)
		}
	}
}
