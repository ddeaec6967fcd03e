package core

import (
	"strconv"

	"github.com/ingestd/ingestd/core/decode"
)

// appendStored appends one event as stored (SPEC §2) and a newline to dst: the client's object
// minus any stream_id/received_at/event_id members it sent, plus "stream_id", "received_at",
// "event_id" and, when the client sent none, "timestamp" (the receive time). The event id is
// idPrefix (an opening quote, the request's 32 hex digits and '-') then the event's index in its
// request. Raw newlines can only be insignificant whitespace in JSON, so dropping them keeps the
// object intact and the output one line.
func appendStored(dst, body []byte, ev *decode.Event, streamIDJSON, receivedJSON, idPrefix []byte, index int) []byte {
	obj := body[ev.Object.Start : ev.Object.End-1] // without the closing brace
	base := ev.Object.Start
	start := len(dst)
	// The decoder records cut members in body order, so the non-empty ones are already sorted.
	from := base
	for _, c := range ev.Cut {
		if c.Empty() {
			break
		}
		dst = append(dst, obj[from-base:c.Start-base]...)
		from = c.End
	}
	dst = append(dst, obj[from-base:]...)
	if ev.Newlines {
		dst = dropNewlines(dst, start)
	}
	dst = appendTail(dst, ev, streamIDJSON, receivedJSON, idPrefix, index)
	return append(dst, '}', '\n')
}

// appendTail appends the members appendStored adds to the client's object, each after a comma.
func appendTail(dst []byte, ev *decode.Event, streamIDJSON, receivedJSON, idPrefix []byte, index int) []byte {
	return appendTailEnd(appendTailStart(dst, streamIDJSON, receivedJSON, idPrefix), ev, receivedJSON, index)
}

// appendTailStart appends the part of the tail that all events of a request share.
func appendTailStart(dst, streamIDJSON, receivedJSON, idPrefix []byte) []byte {
	dst = append(dst, `,"stream_id":`...)
	dst = append(dst, streamIDJSON...)
	dst = append(dst, `,"received_at":`...)
	dst = append(dst, receivedJSON...)
	dst = append(dst, `,"event_id":`...)
	return append(dst, idPrefix...)
}

// appendTailEnd appends the rest of the tail of event index of a request.
func appendTailEnd(dst []byte, ev *decode.Event, receivedJSON []byte, index int) []byte {
	dst = strconv.AppendUint(dst, uint64(index), 10)
	dst = append(dst, '"')
	if ev.Timestamp.Empty() {
		dst = append(dst, `,"timestamp":`...)
		dst = append(dst, receivedJSON...)
	}
	return dst
}

// dropNewlines removes '\n' and '\r' from dst[from:] in place.
func dropNewlines(dst []byte, from int) []byte {
	w := from
	for r := from; r < len(dst); r++ {
		if c := dst[r]; c != '\n' && c != '\r' {
			dst[w] = c
			w++
		}
	}
	return dst[:w]
}
