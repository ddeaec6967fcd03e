package http

import (
	"bytes"

	"github.com/ingestd/ingestd/sinks/internal/reqbody"
)

// work is one WriteBatch's scratch space, pooled by the sink.
type work struct {
	tmp     []byte               // the JSON array before compression
	scratch [excerptMax + 1]byte // response excerpt (and one byte to see if it was cut); draining
}

// encode builds body from a batch's NDJSON in the sink's format and compression. It never
// keeps data: the batch's buffer belongs to the engine once WriteBatch returns, while the body
// may outlive it.
func (s *Sink) encode(body *reqbody.Body, w *work, data []byte) {
	raw := data
	switch {
	case s.compression == CompressionNone && s.array:
		body.Bytes = appendArray(body.Bytes[:0], data)
		return
	case s.compression == CompressionNone:
		body.Set(data)
		return
	case s.array:
		w.tmp = appendArray(w.tmp[:0], data)
		raw = w.tmp
	}
	if s.compression == CompressionZstd {
		body.Bytes = s.zstd.EncodeAll(raw, body.Bytes[:0])
		return
	}
	body.Gzip(raw)
}

// appendArray appends NDJSON lines as one JSON array: each line's '\n' becomes the separating
// comma and the last one the closing bracket.
func appendArray(dst, data []byte) []byte {
	dst = append(dst, '[')
	start := len(dst)
	dst = append(dst, data...)
	rest := dst[start:]
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		rest[i] = ','
		rest = rest[i+1:]
	}
	if n := len(dst); n > start && dst[n-1] == ',' {
		dst[n-1] = ']'
		return dst
	}
	return append(dst, ']') // an empty batch, or a last line without its '\n'
}
