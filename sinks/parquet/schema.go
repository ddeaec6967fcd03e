// Package parquet encodes a batch of stored events (NDJSON, one event a line) as one Parquet
// file holding one row group, for sinks that write objects (S3 and the like).
//
// # Column layout
//
// Every file has these columns, all optional (null when the event lacks the member):
//
//	timestamp    INT64 TIMESTAMP(NANOS, UTC)  the event's "timestamp", parsed from RFC 3339
//	received_at  INT64 TIMESTAMP(NANOS, UTC)  "received_at", added by ingestd
//	event_id     BYTE_ARRAY STRING            "event_id", added by ingestd: "<32 hex>-<n>"
//	stream_id    BYTE_ARRAY STRING            dictionary-encoded
//	source       BYTE_ARRAY STRING            dictionary-encoded
//	event        BYTE_ARRAY STRING            the "event" member's JSON text, as stored
//	metadata     BYTE_ARRAY STRING            the "metadata" member's JSON text, as stored
//	extra        BYTE_ARRAY STRING            a JSON object of the top-level members no other
//	                                          column holds, in their order; null when none
//
// and one optional column per promoted path: event.amount with type double becomes the column
// event_amount (dots replaced by underscores) of physical type DOUBLE. The promoted types are
// int64 (INT64), double (DOUBLE), string (BYTE_ARRAY STRING), bool (BOOLEAN) and timestamp
// (INT64 TIMESTAMP(NANOS, UTC), read from an RFC 3339 string).
//
// The event id is unique per event and the same when the write-ahead log replays it, so the
// duplicates that at-least-once delivery can leave are removed by keeping one row per id.
//
// Parquet-go orders a group's fields by name, so the columns appear in the file sorted by name;
// readers address them by name.
//
// Nothing of an event is dropped: a top-level member is held by the column of its name (a
// fixed one, or a promoted path of one segment) or else copied, key and value as stored, into
// extra. Members a client or a processor added (a "host", "tags") thus land in extra, and so
// does a member whose value its column could not take (a "timestamp" that is a number). A
// promoted path of several segments copies a value out of its member; the member itself stays
// in its own column or in extra.
//
// Pages are compressed with Snappy (the default) or Zstd, chosen by Schema.Options. A Schema is
// shared by concurrent Encode calls; each takes a writer, with its page buffers, from a pool.
//
// A promoted value of the wrong JSON kind (a string in an int64 column, a fraction in an int64
// column, a timestamp that is not RFC 3339) is written as null and counted in
// Stats.Mismatched, and per column by EncodeStats, so one odd event does not fail a batch. A
// JSON null, or a missing member, is null without being counted.
package parquet

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	pq "github.com/parquet-go/parquet-go"

	"github.com/ingestd/ingestd/core/fieldpath"
)

// Column is a promoted typed column. Path is a fieldpath (event.amount); Type is one of int64,
// double, string, bool, timestamp. The column is named after Path with dots replaced by "_".
type Column struct {
	Path string
	Type string
}

// ColumnInfo describes one column of the files a Schema writes, in file order.
type ColumnInfo struct {
	Name     string // column name in the file
	Path     string // the event member it is read from; empty for extra, which gathers members
	Type     string // int64, double, string, bool or timestamp (see the package doc)
	Nullable bool   // always true today: every column may be null
}

// Compression is the codec of the pages of a file.
type Compression uint8

// The codecs. The zero value is Snappy.
const (
	Snappy Compression = iota
	Zstd
)

// Options tunes how files are written.
type Options struct {
	Compression Compression
}

// Stats tells what one Encode call wrote.
type Stats struct {
	Rows       int // rows written, one per non-empty line
	Mismatched int // values written as null because they were of the wrong kind
}

type colType uint8

const (
	typInt64 colType = iota + 1
	typDouble
	typString
	typBool
	typTimestamp
	typRaw // the JSON text of any value: event, metadata
)

var typeNames = map[string]colType{
	"int64": typInt64, "double": typDouble, "string": typString, "bool": typBool,
	"timestamp": typTimestamp,
}

func (t colType) String() string {
	switch t {
	case typInt64:
		return "int64"
	case typDouble:
		return "double"
	case typBool:
		return "bool"
	case typTimestamp:
		return "timestamp"
	}
	return "string"
}

// column is one column of the schema: where its value comes from and where it goes.
type column struct {
	name  string
	path  string
	typ   colType
	dict  bool // dictionary-encoded
	index int  // leaf index in the Parquet schema, the value's position in a row
}

// extraName is the column of the top-level members no other column holds.
const extraName = "extra"

// fixed are the columns every file has but extra, in the order the lookup set reads them.
var fixed = []column{
	{name: "timestamp", path: "timestamp", typ: typTimestamp},
	{name: "received_at", path: "received_at", typ: typTimestamp},
	{name: "event_id", path: "event_id", typ: typString},
	{name: "stream_id", path: "stream_id", typ: typString, dict: true},
	{name: "source", path: "source", typ: typString, dict: true},
	{name: "event", path: "event", typ: typRaw},
	{name: "metadata", path: "metadata", typ: typRaw},
}

// Schema is the layout of the files for one set of promoted columns. It is built once and is
// safe for concurrent use; set Options before the first Encode.
type Schema struct {
	Options Options

	cols   []column // fixed columns first, then the promoted ones, as set reads them
	top    []int    // places in cols of the columns that hold a top-level member whole
	extra  int      // leaf index of the extra column
	set    *fieldpath.Set
	schema *pq.Schema
	pool   sync.Pool // *encoder
}

// NewSchema checks the promoted columns and builds the schema: every type must be known, every
// path valid, and no two columns (fixed ones and extra included) may share a name.
func NewSchema(promoted []Column) (*Schema, error) {
	s := &Schema{cols: append([]column(nil), fixed...)}
	names := make(map[string]bool, len(fixed)+1+len(promoted))
	for _, c := range fixed {
		names[c.name] = true
	}
	names[extraName] = true
	var errs []error
	for i, pc := range promoted {
		typ, ok := typeNames[pc.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("column %d (%s): unknown type %q (want int64, double, string, bool or timestamp)", i, pc.Path, pc.Type))
		}
		if _, err := fieldpath.Parse(pc.Path); err != nil {
			errs = append(errs, fmt.Errorf("column %d: %w", i, err))
			continue
		}
		name := strings.ReplaceAll(pc.Path, ".", "_")
		if names[name] {
			errs = append(errs, fmt.Errorf("column %d (%s): column name %q is taken", i, pc.Path, name))
			continue
		}
		names[name] = true
		s.cols = append(s.cols, column{name: name, path: pc.Path, typ: typ})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	paths := make([]*fieldpath.Path, len(s.cols))
	group := make(pq.Group, len(s.cols)+1)
	for i, c := range s.cols {
		paths[i] = fieldpath.MustParse(c.path)
		group[c.name] = c.node()
		if !strings.Contains(c.path, ".") {
			s.top = append(s.top, i)
		}
	}
	group[extraName] = column{typ: typRaw}.node()
	s.set = fieldpath.NewSet(paths...)
	s.schema = pq.NewSchema("event", group)
	for i := range s.cols {
		s.cols[i].index = s.leaf(s.cols[i].name)
	}
	s.extra = s.leaf(extraName)
	return s, nil
}

// leaf returns the leaf index of a column the group was built with.
func (s *Schema) leaf(name string) int {
	leaf, _ := s.schema.Lookup(name)
	return leaf.ColumnIndex
}

func (c column) node() pq.Node {
	var n pq.Node
	switch c.typ {
	case typInt64:
		n = pq.Int(64)
	case typDouble:
		n = pq.Leaf(pq.DoubleType)
	case typBool:
		n = pq.Leaf(pq.BooleanType)
	case typTimestamp:
		n = pq.Timestamp(pq.Nanosecond)
	default:
		n = pq.String()
	}
	if c.dict {
		n = pq.Encoded(n, &pq.RLEDictionary)
	}
	return pq.Optional(n)
}

// Columns describes the columns of the files, in file order.
func (s *Schema) Columns() []ColumnInfo {
	out := make([]ColumnInfo, len(s.cols)+1)
	for _, c := range s.cols {
		out[c.index] = ColumnInfo{Name: c.name, Path: c.path, Type: c.typ.String(), Nullable: true}
	}
	out[s.extra] = ColumnInfo{Name: extraName, Type: typString.String(), Nullable: true}
	return out
}
