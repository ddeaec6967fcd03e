package s3

import (
	"bytes"
	"strings"
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/ingestd/ingestd/sinks/parquet"
)

// TestParquetObjects: with format parquet an object is one Parquet file holding every event of
// its partition, with the promoted columns; read back with parquet-go and compared (gofakes3
// stands for S3).
func TestParquetObjects(t *testing.T) {
	s := newSink(t, newFakeS3(t).URL, func(o *Options) {
		o.Format = FormatParquet
		o.Parquet = &ParquetOptions{Columns: []parquet.Column{{Path: "event.amount", Type: "double"}}, Compression: "zstd"}
	})
	b := batch(
		event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15.1Z"),
		event(2, "2025-02-12T14:00:00Z", "2025-02-12T14:59:59.999Z"),
	)
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	objs := objects(t, s)
	if len(objs) != 1 || !strings.HasSuffix(objs[0].key, ".parquet") || objs[0].contentType != "application/vnd.apache.parquet" {
		t.Fatalf("objects %+v", objs)
	}
	f, err := pq.OpenFile(bytes.NewReader(objs[0].body), int64(len(objs[0].body)))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 2 {
		t.Fatalf("%d rows, want 2", f.NumRows())
	}
	col := -1
	for i, path := range f.Schema().Columns() {
		if strings.Join(path, ".") == "event_amount" {
			col = i
		}
	}
	rows := f.RowGroups()[0].Rows()
	defer rows.Close()
	buf := make([]pq.Row, 2)
	n, _ := rows.ReadRows(buf)
	var amounts []float64
	for _, row := range buf[:n] {
		for _, v := range row {
			if v.Column() == col {
				amounts = append(amounts, v.Double())
			}
		}
	}
	if len(amounts) != 2 || amounts[0] != 7.5 || amounts[1] != 14.5 {
		t.Fatalf("event_amount %v, want [7.5 14.5]", amounts)
	}
	if cols := s.Schema(); len(cols) == 0 {
		t.Error("Schema() is empty for a parquet sink")
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
