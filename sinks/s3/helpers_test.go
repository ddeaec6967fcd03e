package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ingestd/ingestd/sinks"
)

var ctx = context.Background()

const bucket = "events"

// fakeS3 is gofakes3, an in-memory S3 implementation, standing in for S3: the tests drive it
// with the real SDK client over HTTP. In front of it a recording handler keeps each request's
// method, query and headers, so tests can see which API calls were made and what they carried
// on the wire. It accepts any credentials, so it cannot catch signing bugs.
type fakeS3 struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

// request is one request as it reached the server.
type request struct {
	method, query string
	header        http.Header
}

func newFakeS3(t testing.TB) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	handler := gofakes3.New(backend).Server()
	f := &fakeS3{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, request{method: r.Method, query: r.URL.RawQuery, header: r.Header.Clone()})
		f.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// count reports how many requests had the method and a query containing q.
func (f *fakeS3) count(method, q string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.method == method && strings.Contains(r.query, q) {
			n++
		}
	}
	return n
}

// recorded returns the requests with the method whose query matches the predicate.
func (f *fakeS3) recorded(method string, query func(string) bool) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if r.method == method && query(r.query) {
			out = append(out, r)
		}
	}
	return out
}

// newSink returns a connected sink writing to the server at url, with the options changed by
// edit.
func newSink(t testing.TB, url string, edit func(*Options)) *Sink {
	t.Helper()
	o := NewOptions()
	o.Bucket = bucket
	o.Endpoint = url
	o.ForcePathStyle = true
	o.AccessKeyID, o.SecretAccessKey = "test-key", "test-secret"
	if edit != nil {
		edit(o)
	}
	s, err := New("lake", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

// object is one stored object as read back.
type object struct {
	key, contentType string
	body             []byte
}

// objects reads every object of the bucket back through the sink's own client, sorted by key.
func objects(t testing.TB, s *Sink) []object {
	t.Helper()
	list, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.opts.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	var out []object
	for _, o := range list.Contents {
		got, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.opts.Bucket, Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, object{key: *o.Key, contentType: deref(got.ContentType), body: body})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// event is a stored event received at receivedAt and carrying timestamp.
func event(i int, timestamp, receivedAt string) string {
	return fmt.Sprintf(`{"timestamp":%q,"source":"payments-app","event":{"transactionId":"txn_%d","status":"declined","amount":%d.5,"message":"card declined"},"metadata":{"env":"prod"},"stream_id":"s1","received_at":%q}`+"\n",
		timestamp, i, i*7, receivedAt)
}

func batch(lines ...string) *sinks.Batch {
	data := strings.Join(lines, "")
	return &sinks.Batch{Stream: "orders", StreamID: "s1", Data: []byte(data), Events: len(lines)}
}

// gunzip and friends undo a format, for comparing what was stored with what was sent.
func decode(t testing.TB, format string, b []byte) []byte {
	t.Helper()
	switch format {
	case FormatNDJSONGzip:
		r, err := gzipReader(b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	case FormatNDJSONZstd:
		r, err := zstdDecode(b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return bytes.Clone(b)
}
