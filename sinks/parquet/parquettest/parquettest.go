// Package parquettest reads Parquet files back for tests, through parquet-go's own reader, so
// that what a writer of this module produced is checked by code that is not its own. It is
// meant for tests only.
package parquettest

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
)

// File is a Parquet file read back.
type File struct {
	Columns []string         // leaf column paths, dot-joined, in the file's order
	Rows    []map[string]any // column → nil for null, else int64, float64, bool or string
}

// Read opens data as a Parquet file and returns its columns and rows. The file must hold one
// row group, or none and no rows (what an empty batch writes); any other file, or a value of
// another physical type, ends the test.
func Read(tb testing.TB, data []byte) File {
	tb.Helper()
	f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	var out File
	for _, path := range f.Schema().Columns() {
		out.Columns = append(out.Columns, strings.Join(path, "."))
	}
	switch n := len(f.RowGroups()); {
	case n == 0 && f.NumRows() == 0:
		return out
	case n != 1:
		tb.Fatalf("%d row groups, want 1", n)
	}
	rows := f.RowGroups()[0].Rows()
	defer rows.Close()
	buf := make([]pq.Row, 10)
	for {
		n, err := rows.ReadRows(buf)
		for _, row := range buf[:n] {
			m := make(map[string]any, len(row))
			for _, v := range row {
				name := out.Columns[v.Column()]
				switch {
				case v.IsNull():
					m[name] = nil
				case v.Kind() == pq.Int64:
					m[name] = v.Int64()
				case v.Kind() == pq.Double:
					m[name] = v.Double()
				case v.Kind() == pq.Boolean:
					m[name] = v.Boolean()
				case v.Kind() == pq.ByteArray:
					m[name] = string(v.ByteArray())
				default:
					tb.Fatalf("column %s: unexpected kind %v", name, v.Kind())
				}
			}
			out.Rows = append(out.Rows, m)
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatalf("read: %v", err)
		}
	}
}

// Row is an expected row of a file with the given columns: each null but those named in kv,
// which holds pairs of column name and value.
func Row(columns []string, kv ...any) map[string]any {
	m := make(map[string]any, len(columns))
	for _, c := range columns {
		m[c] = nil
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// Nanos is an RFC 3339 time as a timestamp column holds it: Unix nanoseconds. It panics on a
// malformed time, which only a test's own literal can be.
func Nanos(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}
