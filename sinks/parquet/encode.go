package parquet

import (
	"bytes"
	"fmt"
	"io"
	"math"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonraw"
)

// chunkRows is how many rows are built before they go to the writer, which takes rows in runs
// of 64 anyway; it bounds the row buffers and the scratch space.
const chunkRows = 64

// encoder holds everything one Encode call reuses: the writer with its page buffers, the rows,
// and the scratch bytes behind unescaped strings. Schemas keep them in a pool.
type encoder struct {
	codec   Compression
	w       *pq.Writer
	rows    []pq.Row
	vals    []fieldpath.Value
	scratch []byte // unescaped string contents of the rows being built
	tmp     []byte // a timestamp string being parsed
}

func (s *Schema) newEncoder(codec Compression) *encoder {
	var c compress.Codec = snappyCodec{}
	if codec == Zstd {
		c = &pq.Zstd
	}
	e := &encoder{
		codec: codec,
		w:     pq.NewWriter(io.Discard, s.schema, pq.Compression(c)),
		rows:  make([]pq.Row, chunkRows),
		vals:  make([]fieldpath.Value, len(s.cols)),
	}
	for i := range e.rows {
		e.rows[i] = make(pq.Row, len(s.cols)+1)
	}
	return e
}

// Encode writes ndjson, one stored event a line, to w as one Parquet file with one row group,
// one row per non-empty line (an empty batch gives a valid file with no row group). It
// returns the number of rows. On error, what was written to w is not a valid file. Lines are
// expected to be valid JSON objects, as stored events are; other input gives unspecified
// values but no panic.
func (s *Schema) Encode(w io.Writer, ndjson []byte) (rows int, err error) {
	st, err := s.EncodeStats(w, ndjson, nil)
	return st.Rows, err
}

// EncodeStats is Encode, also reporting how many values were nulled for their kind: in all,
// and, when byColumn is not nil, per column. byColumn then holds one counter per column,
// indexed as Columns(); EncodeStats sets each to its column's count.
func (s *Schema) EncodeStats(w io.Writer, ndjson []byte, byColumn []int) (Stats, error) {
	if byColumn != nil && len(byColumn) != len(s.cols)+1 {
		return Stats{}, fmt.Errorf("parquet: %d counters for %d columns", len(byColumn), len(s.cols)+1)
	}
	clear(byColumn)
	codec := s.Options.Compression
	e, _ := s.pool.Get().(*encoder)
	if e == nil || e.codec != codec {
		e = s.newEncoder(codec)
	}
	st, err := s.encode(e, w, ndjson, byColumn)
	if err != nil {
		// The writer may be half way through a page; start afresh next time.
		return st, err
	}
	// Drop the references to w and to ndjson before the encoder waits in the pool.
	e.w.Reset(io.Discard)
	for _, r := range e.rows {
		clear(r)
	}
	clear(e.vals)
	s.pool.Put(e)
	return st, nil
}

func (s *Schema) encode(e *encoder, w io.Writer, ndjson []byte, byColumn []int) (Stats, error) {
	var st Stats
	e.w.Reset(w)
	n := 0 // rows built in e.rows
	line := 0
	for len(ndjson) > 0 {
		line++
		obj := ndjson
		if i := bytes.IndexByte(ndjson, '\n'); i >= 0 {
			obj, ndjson = ndjson[:i], ndjson[i+1:]
		} else {
			ndjson = nil
		}
		obj = bytes.TrimSpace(obj)
		if len(obj) == 0 {
			continue
		}
		if obj[0] != '{' {
			return st, fmt.Errorf("parquet: line %d is not a JSON object", line)
		}
		s.set.Lookup(obj, e.vals)
		st.Mismatched += s.fillRow(e, e.rows[n], obj, byColumn)
		n++
		if n == chunkRows {
			if err := e.flushRows(n); err != nil {
				return st, err
			}
			st.Rows += n
			n = 0
		}
	}
	if err := e.flushRows(n); err != nil {
		return st, err
	}
	st.Rows += n
	if err := e.w.Close(); err != nil {
		return st, fmt.Errorf("parquet: %w", err)
	}
	return st, nil
}

// flushRows hands the first n built rows to the writer, which copies their values, so the
// scratch space behind them can be reused.
func (e *encoder) flushRows(n int) error {
	if n > 0 {
		if _, err := e.w.WriteRows(e.rows[:n]); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
	}
	e.scratch = e.scratch[:0]
	return nil
}

// fillRow sets row from obj and the values the lookup found in it, and returns how many were
// of the wrong kind, counting them in byColumn too unless it is nil.
func (s *Schema) fillRow(e *encoder, row pq.Row, obj []byte, byColumn []int) (mismatched int) {
	for i, c := range s.cols {
		v, ok := e.value(c.typ, e.vals[i])
		if ok {
			row[c.index] = v.Level(0, 1, c.index)
			continue
		}
		if v := e.vals[i]; v.Kind != 0 && v.Kind != fieldpath.Null {
			mismatched++
			if byColumn != nil {
				byColumn[c.index]++
			}
			e.vals[i] = fieldpath.Value{} // not held by its column: extra keeps it
		}
		row[c.index] = pq.NullValue().Level(0, 0, c.index)
	}
	if x := s.extraMembers(e, obj); x != nil {
		row[s.extra] = pq.ByteArrayValue(x).Level(0, 1, s.extra)
	} else {
		row[s.extra] = pq.NullValue().Level(0, 0, s.extra)
	}
	return mismatched
}

// extraMembers copies to the scratch space, as one JSON object, the top-level members of obj
// that no column holds, and returns it; nil when every member is held. A column holds a member
// when its value is the one the lookup found and the column took it, so an earlier duplicate
// of a key (the lookup finds the last), or a value of the wrong kind, is kept here. Keys and
// values are copied as stored.
func (s *Schema) extraMembers(e *encoder, obj []byte) []byte {
	start := len(e.scratch)
	i := jsonraw.WS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	for i = jsonraw.WS(obj, i+1); i < len(obj) && obj[i] == '"'; {
		k := jsonraw.StrClose(obj, i)
		if k >= len(obj) {
			break // an unterminated key, in invalid input
		}
		key := obj[i : k+1]
		v := jsonraw.WS(obj, k+1)
		if v >= len(obj) || obj[v] != ':' {
			break
		}
		if v = jsonraw.WS(obj, v+1); v >= len(obj) {
			break
		}
		end := s.held(e, obj[v:])
		if end == 0 {
			end = jsonraw.Skip(obj, v) - v
			if len(e.scratch) == start {
				e.scratch = append(e.scratch, '{')
			} else {
				e.scratch = append(e.scratch, ',')
			}
			e.scratch = append(e.scratch, key...)
			e.scratch = append(e.scratch, ':')
			e.scratch = append(e.scratch, obj[v:v+end]...)
		}
		if i = jsonraw.WS(obj, v+end); i >= len(obj) || obj[i] != ',' {
			break
		}
		i = jsonraw.WS(obj, i+1)
	}
	if len(e.scratch) == start {
		return nil
	}
	e.scratch = append(e.scratch, '}')
	return e.scratch[start:len(e.scratch):len(e.scratch)]
}

// held returns the length of the value at the start of rest when a column holds its member,
// else 0. A held value is the very one the lookup found for a top-level column, told by its
// address: no key is compared, and the value, event and metadata being most of an event's
// bytes, is not read again.
func (s *Schema) held(e *encoder, rest []byte) int {
	for _, c := range s.top {
		if raw := e.vals[c].Raw; len(raw) > 0 && &raw[0] == &rest[0] {
			return len(raw)
		}
	}
	return 0
}

// value converts one JSON value to the column's type; false means null.
func (e *encoder) value(typ colType, v fieldpath.Value) (pq.Value, bool) {
	switch typ {
	case typRaw:
		if v.Kind == 0 || v.Kind == fieldpath.Null {
			return pq.Value{}, false
		}
		return pq.ByteArrayValue(v.Raw), true
	case typString:
		str, ok := e.str(v)
		return pq.ByteArrayValue(str), ok
	case typInt64:
		if v.Kind != fieldpath.Number {
			return pq.Value{}, false
		}
		n, ok := parseInt(v)
		return pq.Int64Value(n), ok
	case typDouble:
		if v.Kind != fieldpath.Number {
			return pq.Value{}, false
		}
		f, ok := v.Float()
		return pq.DoubleValue(f), ok
	case typBool:
		b, ok := v.Bool()
		return pq.BooleanValue(b), ok && v.Kind == fieldpath.Bool
	case typTimestamp:
		s, ok := content(v)
		if !ok {
			return pq.Value{}, false
		}
		if bytes.IndexByte(s, '\\') >= 0 {
			e.tmp = v.Str(e.tmp[:0])
			s = e.tmp
		}
		ns, ok := parseRFC3339(s)
		return pq.Int64Value(ns), ok
	}
	return pq.Value{}, false
}

// content returns the text between the quotes of the string v, escapes left in; false when v
// is not a string. The length check keeps a truncated string in invalid input from panicking.
func content(v fieldpath.Value) ([]byte, bool) {
	if v.Kind != fieldpath.String || len(v.Raw) < 2 {
		return nil, false
	}
	return v.Raw[1 : len(v.Raw)-1], true
}

// str returns the content of the string v: a view into the event when it has no escapes,
// else its unescaped copy in the scratch space.
func (e *encoder) str(v fieldpath.Value) ([]byte, bool) {
	s, ok := content(v)
	if !ok || bytes.IndexByte(s, '\\') < 0 {
		return s, ok
	}
	start := len(e.scratch)
	e.scratch = v.Str(e.scratch)
	// Earlier rows may point into an old array if this append grew it; that array stays
	// alive and unchanged until the rows are flushed.
	return e.scratch[start:len(e.scratch):len(e.scratch)], true
}

// parseInt reads an integral JSON number: plain digits exactly, and forms such as 12.0 or 1e3
// through float64 when the value is a whole number within ±2^53, where float64 is exact.
func parseInt(v fieldpath.Value) (int64, bool) {
	s := v.Raw
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return parseIntFloat(v)
		}
		if n > (math.MaxInt64+1)/10 { // n*10 would pass -2^63
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if len(s) == 0 {
		return 0, false
	}
	switch {
	case neg && n <= math.MaxInt64+1:
		return -int64(n-1) - 1, true
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}

func parseIntFloat(v fieldpath.Value) (int64, bool) {
	f, ok := v.Float()
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}
