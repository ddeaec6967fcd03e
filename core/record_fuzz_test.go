package core

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/core/decode"
	"github.com/ingestd/ingestd/wal"
)

// go test ./core -run '^$' -fuzz FuzzParseRecord -fuzztime 60s
//
// FuzzParseRecord feeds parseRecord, which reads the write-ahead log's records at replay,
// arbitrary bytes. It must never panic, and a record it accepts must mean one thing: encoding
// its fields again with appendRecord (and appendCopy, for a copy made by relocate) gives the same
// header byte for byte, and parsing that gives the same fields and body.

func FuzzParseRecord(f *testing.F) {
	for _, rec := range loggedRecords(f) {
		f.Add(rec)
	}
	enc := closedDurable(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		rec, err := parseRecord(p)
		if err != nil {
			return
		}
		if rec.format != decode.JSON && rec.format != decode.NDJSON {
			t.Fatalf("accepted format %d", rec.format)
		}
		if rec.origin == 0 && (p[0] != walVersion || rec.only != nil) || rec.origin != 0 && (p[0] != walCopy || len(rec.only) == 0) {
			t.Fatalf("accepted kind %d with origin %d for %q", p[0], rec.origin, rec.only)
		}
		hdr := len(p) - len(rec.body)
		if !bytes.HasSuffix(p, rec.body) || !bytes.HasSuffix(p, rec.inner) || !bytes.HasSuffix(rec.inner, rec.body) {
			t.Fatal("the body is not the tail of the request record, nor that the tail of the record")
		}
		for _, cut := range []int{hdr - 1, hdr} {
			if _, err := parseRecord(p[:cut]); err == nil {
				t.Fatalf("accepted the record cut to %d of its %d header bytes and no body", cut, hdr)
			}
		}
		// parseRecord checks only the body's S2 header; replay decodes it and skips a record
		// whose data is corrupt. A header claiming more than fuzzing's inputs can hold is not
		// decoded, which would allocate what it claims.
		n, err := s2.DecodedLen(rec.body)
		if err != nil {
			t.Fatalf("accepted a body whose S2 header does not parse: %v", err)
		}
		if n > 1<<20 {
			return
		}
		plain, err := s2.Decode(nil, rec.body)
		if err != nil {
			return
		}
		u := &unit{stream: &stream{id: rec.stream}, token: &token{name: rec.token}, received: rec.received, body: plain}
		again, _, _ := enc.appendRecord(nil, u, rec.format)
		if rec.origin != 0 {
			again = appendCopy(nil, rec.origin, rec.only, again)
		}
		rec2, err := parseRecord(again)
		if err != nil {
			t.Fatalf("the re-encoded record %q is refused: %v", again, err)
		}
		if !bytes.Equal(again[:len(again)-len(rec2.body)], p[:hdr]) {
			t.Fatalf("header %q re-encodes as %q", p[:hdr], again[:len(again)-len(rec2.body)])
		}
		if rec2.format != rec.format || rec2.stream != rec.stream || rec2.token != rec.token || rec2.received != rec.received ||
			rec2.origin != rec.origin || !slices.Equal(rec2.only, rec.only) {
			t.Fatalf("fields %+v re-encode as %+v", rec, rec2)
		}
		if plain2, err := s2.Decode(nil, rec2.body); err != nil || !bytes.Equal(plain2, plain) {
			t.Fatalf("body %q re-encodes as %q (%v)", plain, plain2, err)
		}
	})
}

// loggedRecords writes requests to a real write-ahead log with appendRecord, as the handler
// does under ack: disk, and copies of two of them with appendCopy, as relocate does, and returns
// the records as replay reads them back.
func loggedRecords(f *testing.F) [][]byte {
	d, err := openDurable(config.WAL{Dir: f.TempDir(), MaxBytes: 1 << 30, SegmentBytes: 1 << 20}, map[int]string{0: "seed"})
	if err != nil {
		f.Fatal(err)
	}
	received := time.Date(2025, 2, 12, 14, 32, 15, 123456789, time.UTC).UnixNano()
	var copies [][]byte
	for i, r := range []struct {
		stream, token string
		format        decode.Format
		body          string
	}{
		{streamA, "star", decode.JSON, seedEvent},
		{streamA, "star", decode.JSON, "[" + seedEvent + "," + seedEvent + "]"},
		{"orders", "scoped-ingest", decode.NDJSON, seedEvent + "\n" + seedEvent + "\n"},
		{"ünïcode stream", "", decode.NDJSON, `{"source":"a","event":{"x":"\u2028"}}`},
		{"s", "t", decode.JSON, `{"source":"a","event":{"long":"` + strings.Repeat("abcdefgh", 512) + `"}}`},
	} {
		u := &unit{stream: &stream{id: r.stream}, token: &token{name: r.token}, received: received, body: []byte(r.body)}
		rec, pos, err := d.appendRecord(nil, u, r.format)
		if err != nil {
			f.Fatal(err)
		}
		switch i {
		case 0:
			copies = append(copies, appendCopy(nil, pos, []string{"hook"}, rec))
		case 2:
			copies = append(copies, appendCopy(nil, pos, []string{"hook", "warehouse"}, rec))
		}
	}
	for _, c := range copies {
		if _, err := d.log.Append(context.Background(), c); err != nil {
			f.Fatal(err)
		}
	}
	var recs [][]byte
	err = d.log.Replay("seed", func(_ wal.Position, p []byte) error {
		recs = append(recs, bytes.Clone(p))
		return nil
	})
	if err := errors.Join(err, d.close()); err != nil {
		f.Fatal(err)
	}
	if len(recs) != 7 {
		f.Fatalf("the log gave back %d of 7 records", len(recs))
	}
	return recs
}

// closedDurable returns a durable whose log is closed: appendRecord still builds the whole record
// in its scratch buffer and returns it, and the closed log refuses the append at once, so fuzzing
// uses the real encoder without waiting for an fsync per input.
func closedDurable(f *testing.F) *durable {
	d, err := openDurable(config.WAL{Dir: f.TempDir(), MaxBytes: 1 << 30, SegmentBytes: 1 << 20}, map[int]string{0: "enc"})
	if err != nil {
		f.Fatal(err)
	}
	if err := d.close(); err != nil {
		f.Fatal(err)
	}
	u := &unit{stream: &stream{id: "s"}, token: &token{name: "t"}, body: []byte("{}")}
	if rec, _, err := d.appendRecord(nil, u, decode.JSON); !errors.Is(err, wal.ErrClosed) || len(rec) == 0 {
		f.Fatalf("a closed log's appendRecord gave %q, %v; want the record and wal.ErrClosed", rec, err)
	}
	return d
}
