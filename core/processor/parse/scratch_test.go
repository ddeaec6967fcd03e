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
