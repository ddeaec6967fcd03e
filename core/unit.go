package core

import (
	"sync/atomic"
	"time"

	"github.com/ingestd/ingestd/core/decode"
)

// unit is one accepted request on its way through a shard: the decoded body, the index of its
// events and the facts the worker adds. Units are pooled and reference-counted; the scanner's
// Event slice and the body buffer keep their capacity across uses, which is what makes the
// steady state allocation-free.
type unit struct {
	refs     atomic.Int32
	body     []byte
	scan     decode.Scanner
	stream   *stream
	token    *token  // the sender, whose name enrich may add
	ticket   *ticket // set when the request waits for delivery (ack: delivered) or is logged (ack: disk)
	record   []byte  // the write-ahead log record of the request, under ack: disk
	skip     uint64  // sinks (by id) that must not get the events: a replay they already had
	received int64   // Unix nanoseconds
	// receivedJSON is received as a quoted RFC 3339 UTC string with nanoseconds, formatted
	// once per request and appended to every event.
	receivedJSON []byte
	// idPrefix starts the event_id of the request's events: see setID.
	idPrefix []byte
}

// tickUnit is a marker pushed onto rings to make idle workers flush batches past max_age.
var tickUnit = new(unit)

const receivedLayout = `"2006-01-02T15:04:05.000000000Z"`

func (e *Engine) acquireUnit() *unit {
	u := e.units.Get().(*unit)
	u.refs.Store(1)
	return u
}

// stamp records the receive time.
func (u *unit) stamp(now time.Time) {
	u.received = now.UnixNano()
	u.receivedJSON = now.UTC().AppendFormat(u.receivedJSON[:0], receivedLayout)
}

// setID names the request for its events' ids: origin identifies who numbered it (the
// write-ahead log's id, or the process's random id when the request is not logged) and seq is its
// number there (its log position, or a counter). Its events' ids are then "<origin><seq>-<index>"
// in hex, so a request replayed from the log gets the same ids again, and duplicates left by
// at-least-once delivery can be removed by id downstream.
func (u *unit) setID(origin, seq uint64) {
	u.idPrefix = appendIDPrefix(u.idPrefix[:0], origin, seq)
}

// appendIDPrefix appends what starts an event id: a quote, origin and seq in hex, and '-'.
func appendIDPrefix(b []byte, origin, seq uint64) []byte {
	b = append(b, '"')
	b = appendHex16(b, origin)
	b = appendHex16(b, seq)
	return append(b, '-')
}

func appendHex16(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

// release drops one reference; the last one returns the unit to the pool. Bodies that grew past
// maxPooledBody are not kept, so one huge request does not pin its memory forever.
func (e *Engine) release(u *unit) {
	if u.refs.Add(-1) != 0 {
		return
	}
	e.queued.Add(-int64(len(u.body)))
	u.stream = nil
	u.token = nil
	u.ticket = nil
	u.skip = 0
	if cap(u.body) > maxPooledBody {
		u.body = nil
	}
	if cap(u.record) > maxPooledBody {
		u.record = nil
	}
	u.body = u.body[:0]
	e.units.Put(u)
}

const maxPooledBody = 4 << 20
