package core

import (
	"github.com/ingestd/ingestd/core/decode"
)

// appendStored appends one event as stored (SPEC §2) and a newline to dst: the client's object
// minus any stream_id/received_at members it sent, plus "stream_id", "received_at" and, when the
// client sent none, "timestamp" (the receive time). Raw newlines can only be insignificant
// whitespace in JSON, so dropping them keeps the object intact and the output one line.
func appendStored(dst, body []byte, ev *decode.Event, streamIDJSON, receivedJSON []byte) []byte {
	obj := body[ev.Object.Start : ev.Object.End-1] // without the closing brace
	base := int32(ev.Object.Start)
	start := len(dst)
	c0, c1 := ev.Cut[0], ev.Cut[1]
	if c1.Start != 0 && c1.Start < c0.Start {
		c0, c1 = c1, c0
	}
	switch {
	case c0.Empty():
		dst = append(dst, obj...)
	case c1.Empty():
		dst = append(dst, obj[:c0.Start-base]...)
		dst = append(dst, obj[c0.End-base:]...)
	default:
		dst = append(dst, obj[:c0.Start-base]...)
		dst = append(dst, obj[c0.End-base:c1.Start-base]...)
		dst = append(dst, obj[c1.End-base:]...)
	}
	if ev.Newlines {
		dst = dropNewlines(dst, start)
	}
	dst = append(dst, `,"stream_id":`...)
	dst = append(dst, streamIDJSON...)
	dst = append(dst, `,"received_at":`...)
	dst = append(dst, receivedJSON...)
	if ev.Timestamp.Empty() {
		dst = append(dst, `,"timestamp":`...)
		dst = append(dst, receivedJSON...)
	}
	return append(dst, '}', '\n')
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
