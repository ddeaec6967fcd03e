package kv

import (
	"encoding/json"
	"testing"
)

// go test -run '^$' -bench . -benchmem ./core/kv
// Expect 0 allocs/op for AppendJSON; BenchmarkMarshalMap is a baseline: the same object built
// as a Go map and encoded by encoding/json, which is what a naive processor would do.

// benchLine is a typical logfmt line of about 200 bytes.
const benchLine = `time=2025-02-12T14:32:15.123Z level=info msg="user logged in" user=bob ` +
	`ip=203.0.113.7 method=POST path=/v1/login status=200 latency=12ms ` +
	`agent="Mozilla/5.0 (X11; Linux x86_64)" trace_id=4bf92f3577b34da6`

var sinkBytes []byte

func BenchmarkAppendJSON(b *testing.B) {
	p := mustNew(b, DefaultOptions())
	in := []byte(benchLine)
	dst, err := p.AppendJSON(nil, in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		dst, _ = p.AppendJSON(dst[:0], in)
	}
	sinkBytes = dst
}

func BenchmarkMarshalMap(b *testing.B) {
	m := map[string]string{}
	if err := json.Unmarshal(mustJSON(b, benchLine), &m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		sinkBytes, _ = json.Marshal(m)
	}
}

func mustJSON(b *testing.B, line string) []byte {
	out, err := mustNew(b, DefaultOptions()).AppendJSON(nil, []byte(line))
	if err != nil {
		b.Fatal(err)
	}
	return out
}
