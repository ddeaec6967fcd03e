package s3

import (
	"fmt"

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
type parquetFormat struct{ schema *parquet.Schema }

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
	return &parquetFormat{schema: s}, nil
}

func (p *parquetFormat) Encode(dst, ndjson []byte) ([]byte, error) {
	w := appender{b: dst}
	_, err := p.schema.Encode(&w, ndjson)
	return w.b, err
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
