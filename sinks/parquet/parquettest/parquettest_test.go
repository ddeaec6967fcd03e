package parquettest

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/ingestd/ingestd/sinks/internal/helpertest"
)

type record struct {
	ID    int64   `parquet:"id"`
	Score float64 `parquet:"score"`
	OK    bool    `parquet:"ok"`
	Name  *string `parquet:"name,optional"`
	Meta  struct {
		Env string `parquet:"env"`
	} `parquet:"meta"`
}

// write encodes groups of records with parquet-go's writer, one row group per group.
func write(t *testing.T, groups ...[]record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pq.NewGenericWriter[record](&buf)
	for _, g := range groups {
		if _, err := w.Write(g); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRead: every kind a writer of this module emits, nulls, nested column paths, and more rows
// than one read of the reader takes.
func TestRead(t *testing.T) {
	var recs []record
	var want []map[string]any
	for i := range 25 {
		r := record{ID: int64(i) - 3, Score: float64(i) / 4, OK: i%2 == 0}
		r.Meta.Env = fmt.Sprint("env-", i)
		var name any
		if i%3 != 0 {
			s := fmt.Sprint("n", i)
			r.Name, name = &s, s
		}
		recs = append(recs, r)
		want = append(want, map[string]any{"id": r.ID, "score": r.Score, "ok": r.OK, "name": name, "meta.env": r.Meta.Env})
	}
	f := Read(t, write(t, recs))
	if cols := []string{"id", "score", "ok", "name", "meta.env"}; !reflect.DeepEqual(f.Columns, cols) {
		t.Fatalf("columns %v, want %v", f.Columns, cols)
	}
	if !reflect.DeepEqual(f.Rows, want) {
		t.Fatalf("rows\n got %v\nwant %v", f.Rows, want)
	}

	// A file of no rows has no row group.
	if f := Read(t, write(t)); len(f.Rows) != 0 || len(f.Columns) != 5 {
		t.Fatalf("empty file: %+v", f)
	}
}

func TestRowAndNanos(t *testing.T) {
	got := Row([]string{"a", "b", "c"}, "b", int64(2), "d", "x")
	if want := map[string]any{"a": nil, "b": int64(2), "c": nil, "d": "x"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Row: %v", got)
	}
	if n := Nanos("1970-01-01T00:00:01.5+00:00"); n != 1_500_000_000 {
		t.Fatalf("Nanos: %d", n)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Nanos accepted a malformed time")
		}
	}()
	Nanos("yesterday")
}

// readFails runs Read on data and returns what it ended the test with.
func readFails(t *testing.T, data []byte) string {
	t.Helper()
	return helpertest.Fails(t, func(tb testing.TB) { Read(tb, data) }).Msg
}

// TestReadFailures: what is not a Parquet file, a page that fails its checksum, a file of two
// row groups, and a column of a physical type no writer here emits end the test, saying which.
func TestReadFailures(t *testing.T) {
	if msg := readFails(t, []byte("PAR1 not parquet")); !strings.HasPrefix(msg, "open: ") {
		t.Errorf("not Parquet: %q", msg)
	}
	data := write(t, []record{{ID: 1}, {ID: 2}})
	f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The last byte of the first column's chunk is page data, which the page's CRC covers.
	chunk := f.Metadata().RowGroups[0].Columns[0].MetaData
	data[chunk.DataPageOffset+chunk.TotalCompressedSize-1] ^= 0xff
	if msg := readFails(t, data); !strings.HasPrefix(msg, "read: ") || !strings.Contains(msg, "checksum") {
		t.Errorf("corrupt page: %q", msg)
	}
	if msg := readFails(t, write(t, []record{{ID: 1}}, []record{{ID: 2}})); msg != "2 row groups, want 1" {
		t.Errorf("two row groups: %q", msg)
	}
	var buf bytes.Buffer
	w := pq.NewGenericWriter[struct {
		Small int32 `parquet:"small"`
	}](&buf)
	if _, err := w.Write([]struct {
		Small int32 `parquet:"small"`
	}{{7}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if msg := readFails(t, buf.Bytes()); msg != "column small: unexpected kind INT32" {
		t.Errorf("int32 column: %q", msg)
	}
}
