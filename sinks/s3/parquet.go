package s3

import (
	"fmt"
	"log/slog"

	"github.com/ingestd/ingestd/sinks/parquet"
)

// FormatParquet writes each object as one Parquet file (package sinks/parquet): the stored
// events' fields as columns, plus the promoted columns of the parquet option.
const FormatParquet = "parquet"

// ParquetOptions configures FormatParquet.
type ParquetOptions struct {
	// Columns are promoted typed columns: {path: event.amount, type: double} becomes the
	// column event_amount.
	Columns []parquet.Column `yaml:"columns"`
	// Compression is snappy (the default) or zstd.
	Compression string `yaml:"compression"`
}

// parquetFormat encodes with one schema, built from the options once.
type parquetFormat struct {
	schema  *parquet.Schema
	columns []parquet.ColumnInfo // the schema's, for naming the columns in logs
}

func newParquetFormat(o *ParquetOptions) (*parquetFormat, error) {
	if o == nil {
		o = &ParquetOptions{}
	}
	s, err := parquet.NewSchema(o.Columns)
	if err != nil {
		return nil, err
	}
	switch o.Compression {
	case "", "snappy":
		s.Options.Compression = parquet.Snappy
	case "zstd":
		s.Options.Compression = parquet.Zstd
	default:
		return nil, fmt.Errorf("compression must be snappy or zstd, not %q", o.Compression)
	}
	return &parquetFormat{schema: s, columns: s.Columns()}, nil
}

func (p *parquetFormat) Encode(dst, ndjson []byte) ([]byte, error) {
	dst, _, err := p.encode(dst, ndjson, nil)
	return dst, err
}

// encode is Encode, also counting the values each column nulled for their kind in nulled:
// nil, or one counter per column (see parquet.Schema.EncodeStats).
func (p *parquetFormat) encode(dst, ndjson []byte, nulled []int) ([]byte, int, error) {
	w := appender{b: dst}
	st, err := p.schema.EncodeStats(&w, ndjson, nulled)
	return w.b, st.Mismatched, err
}

// nulledAttrs names the columns that nulled values, with their counts, for a log line.
func (p *parquetFormat) nulledAttrs(nulled []int) []any {
	var attrs []any
	for i, n := range nulled {
		if n > 0 {
			attrs = append(attrs, slog.Int(p.columns[i].Name, n))
		}
	}
	return attrs
}

func (p *parquetFormat) Extension() string   { return ".parquet" }
func (p *parquetFormat) ContentType() string { return "application/vnd.apache.parquet" }

// Schema returns the Parquet columns objects are written with, for table definitions.
func (s *Sink) Schema() []parquet.ColumnInfo {
	if p, ok := s.format.(*parquetFormat); ok {
		return p.schema.Columns()
	}
	return nil
}
