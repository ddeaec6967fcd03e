package enrich

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/core/jsonedit"
	"github.com/ingestd/ingestd/core/processor"
)

// The limits of a lookup table; variables so that tests can reach them cheaply.
var (
	maxFileBytes int64 = 64 << 20
	maxRows            = 1_000_000
)

const maxColumns = 64

// table is a loaded lookup table. The cells it sets are JSON strings laid end to end in data,
// cell c of row r ending at ends[r*len(slots)+c]: two slices instead of one per cell, whatever
// the number of rows.
type table struct {
	rows  map[string]uint32 // key → row
	data  []byte
	ends  []uint32
	slots []int // the set slot of each column the table sets
	src   int   // the index of the key among the program's reads
}

// row finds the row of t keyed by v, unescaping a string into the state's scratch buffer.
func (s *state) row(t *table, v fieldpath.Value) (int, bool) {
	var k []byte
	switch v.Kind {
	case fieldpath.String:
		s.key = v.Str(s.key[:0])
		k = s.key
	case fieldpath.Number:
		k = v.Raw
	default:
		return 0, false
	}
	row, ok := t.rows[string(k)] // indexing with a conversion does not allocate
	return int(row), ok
}

// load sets the cells of row.
func (t *table) load(e *jsonedit.Edits, row int) {
	first := row * len(t.slots)
	start := uint32(0)
	if first > 0 {
		start = t.ends[first-1]
	}
	for c, slot := range t.slots {
		end := t.ends[first+c]
		e.SetRaw(slot, t.data[start:end])
		start = end
	}
}

// loadTable reads the CSV file, named name in the config, keyed by column (the first when
// empty). It returns the table without its slots and the names of the columns it sets, in
// order.
func loadTable(name, file, column string) (*table, []string, *processor.FieldError) {
	bad := func(key, format string, args ...any) (*table, []string, *processor.FieldError) {
		return nil, nil, &processor.FieldError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	f, err := os.Open(file)
	if err != nil {
		return bad("lookup.file", "%v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return bad("lookup.file", "%v", err)
	} else if fi.Size() > maxFileBytes {
		return bad("lookup.file", "%s has %d bytes; a lookup table may have at most %d", name, fi.Size(), maxFileBytes)
	}
	// The limit holds even if the file grows while it is read.
	r := csv.NewReader(io.LimitReader(f, maxFileBytes))
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return bad("lookup.file", "%s is empty; it needs a header row naming its columns", name)
	} else if err != nil {
		return bad("lookup.file", "%s: %v", name, err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheets often start with a BOM
	if len(header) > maxColumns {
		return bad("lookup.file", "%s has %d columns; a lookup table may have at most %d", name, len(header), maxColumns)
	}
	keyCol := 0
	if column != "" {
		if keyCol = slices.Index(header, column); keyCol < 0 {
			return bad("lookup.column", "%s has no column %q; its columns are %s", name, column, strings.Join(header, ", "))
		}
	}
	if len(header) < 2 {
		return bad("lookup.file", "%s has only the key column; the other columns are what lookup sets", name)
	}
	cols := make([]string, 0, len(header)-1)
	for i, h := range header {
		if i == keyCol {
			continue
		}
		if _, err := fieldpath.Parse(h); err != nil || strings.Contains(h, ".") {
			return bad("lookup.file", "%s: column %q cannot be a field name: it must be made of letters, digits and _ @ $ -", name, h)
		}
		if slices.Contains(cols, h) {
			return bad("lookup.file", "%s: column %q appears twice", name, h)
		}
		cols = append(cols, h)
	}
	t := &table{rows: make(map[string]uint32)}
	var lines []int // the line of each row, to report a repeated key
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return bad("lookup.file", "%s: %v", name, err)
		}
		row := len(lines)
		if row == maxRows {
			return bad("lookup.file", "%s has more than %d rows", name, maxRows)
		}
		line, _ := r.FieldPos(0)
		k := rec[keyCol]
		if prev, dup := t.rows[k]; dup {
			return bad("lookup.file", "%s line %d: key %q repeats the row of line %d", name, line, k, lines[prev])
		}
		t.rows[strings.Clone(k)] = uint32(row) // a clone, not a view keeping the record alive
		lines = append(lines, line)
		for i, v := range rec {
			if i != keyCol {
				t.data = jsonedit.AppendString(t.data, []byte(v))
				t.ends = append(t.ends, uint32(len(t.data)))
			}
		}
	}
	return t, cols, nil
}
