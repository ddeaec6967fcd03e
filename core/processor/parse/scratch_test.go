package parse

import (
	"encoding/json"
	"testing"

	"github.com/bytedance/sonic"
)

var doc = []byte(`{"transactionId":"txn_30921","status":"approved","latency_ms":120,"amount":5.0,"currency":"USD","message":"payment approved for order ord_400000 after 120 ms","nested":{"a":[1,2,3,{"b":null}],"c":true}}`)

func TestScratchAllocs(t *testing.T) {
	json.Valid(doc)
	sonic.Valid(doc)
	t.Log("json", testing.AllocsPerRun(1000, func() { json.Valid(doc) }))
	t.Log("sonic", testing.AllocsPerRun(1000, func() { sonic.Valid(doc) }))
}
func BenchmarkStd(b *testing.B) {
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		json.Valid(doc)
	}
}
func BenchmarkSonic(b *testing.B) {
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		sonic.Valid(doc)
	}
}

func FuzzScratchDiff(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2]`, `"a\u0000"`, "\"\x01\"", `01`, `1.`, `-`, `1e5`, `{"a":1,}`, ` true `, `nul`, `"\ud800"`, "[\n1\r]", `{"a" 1}`, `1 2`, `"\x"`, `-0.0e-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range b {
			if c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return
			}
		}
		if json.Valid(b) != sonic.Valid(b) {
			t.Fatalf("%q: std %v sonic %v", b, json.Valid(b), sonic.Valid(b))
		}
	})
}
