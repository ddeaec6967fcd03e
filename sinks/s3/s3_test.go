package s3

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

// TestFormats writes a batch in each format to gofakes3 (standing in for S3) and reads the
// object back: one object under the default key, decoding to exactly the lines sent.
func TestFormats(t *testing.T) {
	for format, ext := range map[string]string{FormatNDJSON: `\.ndjson`, FormatNDJSONGzip: `\.ndjson\.gz`, FormatNDJSONZstd: `\.ndjson\.zst`} {
		t.Run(format, func(t *testing.T) {
			s := newSink(t, newFakeS3(t).URL, func(o *Options) { o.Format = format })
			b := batch(
				event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15.1Z"),
				event(2, "2025-02-12T14:00:00Z", "2025-02-12T14:59:59.999Z"),
				event(3, "2025-02-12T13:00:00Z", "2025-02-12T14:00:00Z"),
			)
			if err := s.WriteBatch(ctx, b); err != nil {
				t.Fatal(err)
			}
			objs := objects(t, s)
			if len(objs) != 1 {
				t.Fatalf("%d objects, want 1", len(objs))
			}
			want := regexp.MustCompile(`^orders/dt=2025-02-12/hour=14/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}` + ext + `$`)
			if !want.MatchString(objs[0].key) {
				t.Errorf("key %q does not match %v", objs[0].key, want)
			}
			if ct := Formats[format].ContentType(); objs[0].contentType != ct {
				t.Errorf("Content-Type %q, want %q", objs[0].contentType, ct)
			}
			got := decode(t, format, objs[0].body)
			if !bytes.Equal(got, b.Data) {
				t.Errorf("stored\n%s\nwant\n%s", got, b.Data)
			}
			for i, l := range bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")) {
				if !json.Valid(l) {
					t.Errorf("line %d is not JSON: %s", i, l)
				}
			}
		})
	}
}

// TestPartitionSplit: a batch spanning two hours becomes two objects, each holding its hour's
// events in their order, placed by received_at or by timestamp as time_field says.
func TestPartitionSplit(t *testing.T) {
	e1 := event(1, "2025-02-12T15:10:00+01:00", "2025-02-12T14:59:59Z") // timestamp 14:10 UTC
	e2 := event(2, "2025-02-12T13:59:00Z", "2025-02-12T15:00:00Z")
	e3 := event(3, "2025-02-12T14:30:00Z", "2025-02-12T14:00:01Z")
	e4 := event(4, "not a time", "2025-02-12T15:30:00Z") // falls back to received_at
	for _, tc := range []struct {
		field string
		want  map[string]string // key prefix → content
	}{
		{TimeReceivedAt, map[string]string{"dt=2025-02-12/hour=14/": e1 + e3, "dt=2025-02-12/hour=15/": e2 + e4}},
		{TimeTimestamp, map[string]string{"dt=2025-02-12/hour=13/": e2, "dt=2025-02-12/hour=14/": e1 + e3, "dt=2025-02-12/hour=15/": e4}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			s := newSink(t, newFakeS3(t).URL, func(o *Options) {
				o.TimeField = tc.field
				o.Key = "{stream_id}/dt={date}/hour={hour}/{uuid}.json"
			})
			if err := s.WriteBatch(ctx, batch(e1, e2, e3, e4)); err != nil {
				t.Fatal(err)
			}
			objs := objects(t, s)
			if len(objs) != len(tc.want) {
				t.Fatalf("%d objects, want %d", len(objs), len(tc.want))
			}
			for _, o := range objs {
				prefix := strings.TrimPrefix(o.key[:strings.LastIndexByte(o.key, '/')+1], "s1/")
				if want, ok := tc.want[prefix]; !ok || string(o.body) != want {
					t.Errorf("object %s holds\n%s\nwant\n%s", o.key, o.body, want)
				}
			}
		})
	}
}

// TestNoTimeToken: without a time token a batch is never split.
func TestNoTimeToken(t *testing.T) {
	s := newSink(t, newFakeS3(t).URL, func(o *Options) { o.Key = "all/{stream}-{uuid}" })
	b := batch(event(1, "2025-02-12T14:00:00Z", "2025-02-12T14:00:00Z"), event(2, "2025-03-12T14:00:00Z", "2025-03-12T14:00:00Z"))
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	objs := objects(t, s)
	if len(objs) != 1 || !strings.HasPrefix(objs[0].key, "all/orders-") || !bytes.Equal(objs[0].body, b.Data) {
		t.Fatalf("objects %+v", objs)
	}
}

// TestMultipart: above multipart_threshold an ~11 MiB object goes up in two parts (8 MiB and
// the rest) and is stored whole.
func TestMultipart(t *testing.T) {
	f := newFakeS3(t)
	s := newSink(t, f.URL, func(o *Options) { o.MultipartThreshold = minPartSize })
	var lines []string
	for i, size := 0, 0; size < 11<<20; i++ {
		l := event(i, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15.5Z")
		lines = append(lines, l)
		size += len(l)
	}
	b := batch(lines...)
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := f.count(http.MethodPut, "partNumber="); n != 2 {
		t.Errorf("%d parts uploaded, want 2", n)
	}
	if n := f.count(http.MethodPost, "uploadId="); n != 1 {
		t.Errorf("%d completions, want 1", n)
	}
	objs := objects(t, s)
	if len(objs) != 1 || !bytes.Equal(objs[0].body, b.Data) {
		t.Fatalf("%d objects; stored %d bytes, sent %d", len(objs), len(objs[0].body), len(b.Data))
	}
}

// TestMultipartAbort: a failed part aborts the upload, and the error stays retryable.
func TestMultipartAbort(t *testing.T) {
	f := newFakeS3(t)
	inner := f.Config.Handler
	f.Config.Handler = failPart(inner, "2")
	s := newSink(t, f.URL, func(o *Options) { o.MultipartThreshold = minPartSize })
	err := s.WriteBatch(ctx, batch(strings.Repeat(event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z"), 60000)))
	if err == nil {
		t.Fatal("no error")
	}
	if k, _ := sinks.Classify(err); k != sinks.Retryable {
		t.Errorf("kind %v, want retryable: %v", k, err)
	}
	if n := f.count(http.MethodDelete, "uploadId="); n != 1 {
		t.Errorf("%d aborts, want 1", n)
	}
	if objs := objects(t, s); len(objs) != 0 {
		t.Errorf("%d objects stored, want none", len(objs))
	}
}

// failPart answers 500 InternalError to the upload of part n and passes the rest to next.
func failPart(next http.Handler, n string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("partNumber") == n {
			s3Error(w, http.StatusInternalServerError, "InternalError")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>refused by the test</Message><RequestId>r1</RequestId></Error>`))
}

// TestErrorClassification: a small server answering S3 error documents; each becomes the kind
// of error the engine acts on.
func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   sinks.Kind
	}{
		{503, "SlowDown", sinks.Backoff},
		{503, "ServiceUnavailable", sinks.Backoff},
		{403, "AccessDenied", sinks.Permanent},
		{404, "NoSuchBucket", sinks.Permanent},
		{400, "InvalidArgument", sinks.Permanent},
		{400, "EntityTooLarge", sinks.TooLarge},
		{500, "InternalError", sinks.Retryable},
		{400, "RequestTimeout", sinks.Retryable},
		{400, "ExpiredToken", sinks.Retryable},
	} {
		t.Run(tc.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s3Error(w, tc.status, tc.code)
			}))
			defer srv.Close()
			s := newSink(t, srv.URL, nil)
			err := s.WriteBatch(ctx, batch(event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z")))
			if err == nil {
				t.Fatal("no error")
			}
			if k, _ := sinks.Classify(err); k != tc.want {
				t.Errorf("kind %v, want %v: %v", k, tc.want, err)
			}
			if !strings.Contains(err.Error(), `s3 sink "lake"`) || !strings.Contains(err.Error(), "s3://events/orders/dt=2025-02-12/hour=14/") {
				t.Errorf("error does not name the sink and object: %v", err)
			}
		})
	}
}

// TestTimeout: a request that outlasts timeout fails, retryably.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	s := newSink(t, srv.URL, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	start := time.Now()
	err := s.WriteBatch(ctx, batch(event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z")))
	if err == nil {
		t.Fatal("no error")
	}
	if k, _ := sinks.Classify(err); k != sinks.Retryable {
		t.Errorf("kind %v, want retryable: %v", k, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestLifecycle: Close is safe without Connect and twice; WriteBatch refuses before Connect and
// after Close; an empty batch writes nothing.
func TestLifecycle(t *testing.T) {
	o := NewOptions()
	o.Bucket = bucket
	s, err := New("lake", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, batch(event(1, "x", "y"))); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("before Connect: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	f := newFakeS3(t)
	s = newSink(t, f.URL, nil)
	if err := s.WriteBatch(ctx, batch()); err != nil {
		t.Fatal(err)
	}
	if n := f.count(http.MethodPut, ""); n != 0 {
		t.Errorf("an empty batch made %d PUTs", n)
	}
	_ = s.Close(ctx)
	if err := s.WriteBatch(ctx, batch(event(1, "x", "y"))); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v", err)
	}
}

// TestRegistration: the type is registered with its concurrency and builds a sink from its
// options.
func TestRegistration(t *testing.T) {
	r, ok := sinks.Lookup("s3")
	if !ok || r.Concurrency != Concurrency {
		t.Fatalf("registration %+v, %v", r, ok)
	}
	o := r.NewOptions().(*Options)
	o.Bucket = bucket
	if s, err := r.New("x", o); err != nil || s == nil {
		t.Fatal(s, err)
	}
	o.Bucket = ""
	if s, err := r.New("x", o); err == nil || s != nil {
		t.Fatalf("invalid options gave %v, %v", s, err)
	}
	if _, err := r.New("x", nil); err == nil {
		t.Fatal("wrong options type accepted")
	}
}
