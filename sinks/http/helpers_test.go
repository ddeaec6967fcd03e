package http

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ingestd/ingestd/sinks"
)

var ctx = context.Background()

// lines is a batch's NDJSON as the engine hands it over.
const lines = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_1","status":"declined","amount":1234.5,"message":"a, b\\n"},"stream_id":"s1"}` + "\n" +
	`{"timestamp":"2025-02-12T14:32:16Z","source":"payments-app","event":{"transactionId":"txn_2","status":"approved"},"stream_id":"s1"}` + "\n"

func batch(data string) *sinks.Batch {
	return &sinks.Batch{Stream: "payments", StreamID: "s1", Data: []byte(data), Events: strings.Count(data, "\n"), ReceivedAt: time.Now().UnixNano()}
}

// received is one request as the stand-in webhook receiver saw it, its body decompressed.
type received struct {
	method, host string
	proto        int // HTTP major version
	header       http.Header
	raw          int // body bytes on the wire
	body         string
}

// receiver is an httptest server standing in for a webhook receiver: it records every request,
// decoding the body per its Content-Encoding, and answers with reply (204 when nil).
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []received
	reply func(w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{reply: reply}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve(t)))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(t *testing.T) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: reading the body: %v", err)
		}
		body, err := decompress(r.Header.Get("Content-Encoding"), raw)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{method: r.Method, host: r.Host, proto: r.ProtoMajor, header: r.Header, raw: len(raw), body: string(body)})
		rc.mu.Unlock()
		if rc.reply != nil {
			rc.reply(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// only returns the one request the receiver got.
func (rc *receiver) only(t *testing.T) received {
	t.Helper()
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	return got[0]
}

func decompress(encoding string, b []byte) ([]byte, error) {
	switch encoding {
	case "":
		return b, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "zstd":
		zr, err := zstd.NewReader(nil)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return zr.DecodeAll(b, nil)
	}
	return nil, &unknownEncoding{encoding}
}

type unknownEncoding struct{ name string }

func (e *unknownEncoding) Error() string { return "unknown Content-Encoding " + e.name }

// newSink returns a connected sink for url, closed when the test ends.
func newSink(t testing.TB, url string, edit func(o *Options)) *Sink {
	t.Helper()
	o := NewOptions()
	o.URL = url
	if edit != nil {
		edit(o)
	}
	s, err := New("hook", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

func write(t testing.TB, s *Sink, b *sinks.Batch) {
	t.Helper()
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes data to name in a test's temp dir and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
