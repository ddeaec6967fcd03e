package s3

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingestd/ingestd/sinks"
)

func fe(key, msg string) sinks.FieldError { return sinks.FieldError{Key: key, Msg: msg} }

func TestValidate(t *testing.T) {
	valid := func() *Options { o := NewOptions(); o.Bucket = bucket; return o }
	if errs := valid().Validate(); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want []sinks.FieldError
	}{
		{"no bucket", func(o *Options) { o.Bucket = "" }, []sinks.FieldError{fe("bucket", "is required")}},
		{"bucket path", func(o *Options) { o.Bucket = "b/prefix" }, []sinks.FieldError{fe("bucket", "is a bucket name, not a path: put prefixes in key")}},
		{"endpoint", func(o *Options) { o.Endpoint = "minio:9000" }, []sinks.FieldError{fe("endpoint", "must be an absolute http:// or https:// URL")}},
		{"half keys", func(o *Options) { o.SecretAccessKey = "s3cr3t" }, []sinks.FieldError{fe("access_key_id", "and secret_access_key go together: set both or neither")}},
		{"token alone", func(o *Options) { o.SessionToken = "tok" }, []sinks.FieldError{fe("session_token", "needs access_key_id and secret_access_key")}},
		{"no uuid", func(o *Options) { o.Key = "{stream}/{date}.json" }, []sinks.FieldError{fe("key", "needs {uuid}, so that two objects never get the same key")}},
		{"unknown token", func(o *Options) { o.Key = "{stream}/{year}/{uuid}" }, []sinks.FieldError{fe("key", "has an unknown token {year}; known are {stream} {stream_id} {date} {hour} {minute} {uuid}")}},
		{"open brace", func(o *Options) { o.Key = "{uuid}/{date" }, []sinks.FieldError{fe("key", "has a '{' without its '}'")}},
		{"close brace", func(o *Options) { o.Key = "{uuid}}" }, []sinks.FieldError{fe("key", "has a '}' without its '{'")}},
		{"leading slash", func(o *Options) { o.Key = "/{uuid}" }, []sinks.FieldError{fe("key", "must not start with '/': S3 keys have no root")}},
		{"time field", func(o *Options) { o.TimeField = "event_time" }, []sinks.FieldError{fe("time_field", `must be "received_at" or "timestamp", not "event_time"`)}},
		{"format", func(o *Options) { o.Format = "csv" }, []sinks.FieldError{fe("format", `must be one of ndjson, ndjson_gzip, ndjson_zstd, parquet, not "csv"`)}},
		{"sse", func(o *Options) { o.ServerSideEncryption = "kms" }, []sinks.FieldError{fe("server_side_encryption", `must be empty, "AES256" or "aws:kms", not "kms"`)}},
		{"kms key without kms", func(o *Options) { o.SSEKMSKeyID = "k1" }, []sinks.FieldError{fe("sse_kms_key_id", "needs server_side_encryption: aws:kms")}},
		{"storage class", func(o *Options) { o.StorageClass = "COLD" }, []sinks.FieldError{fe("storage_class", `is not an S3 storage class: "COLD"`)}},
		{"threshold", func(o *Options) { o.MultipartThreshold = 1 << 20 }, []sinks.FieldError{fe("multipart_threshold", "must be between 5242880 (5 MiB) and 5368709120 (5 GiB) bytes; got 1048576")}},
		{"timeout", func(o *Options) { o.Timeout = 0 }, []sinks.FieldError{fe("timeout", "must be positive, such as 1m0s; got 0s")}},
		{"every one at once", func(o *Options) { o.Bucket, o.Timeout = "", -time.Second },
			[]sinks.FieldError{fe("bucket", "is required"), fe("timeout", "must be positive, such as 1m0s; got -1s")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(o)
			if got := o.Validate(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			if _, err := New("lake", o); err == nil || !strings.Contains(err.Error(), `s3 sink "lake": invalid options: `+tc.want[0].Key) {
				t.Errorf("New: %v", err)
			}
		})
	}
	o := valid()
	o.SecretAccessKey, o.SessionToken = "s3cr3t-value", "t0ken-value"
	for _, e := range o.Validate() {
		if strings.Contains(e.Msg, "s3cr3t") || strings.Contains(e.Msg, "t0ken") {
			t.Errorf("message repeats a secret: %v", e)
		}
	}
	o = valid()
	o.ServerSideEncryption, o.SSEKMSKeyID, o.StorageClass = SSEKMS, "alias/ingest", "STANDARD_IA"
	if errs := o.Validate(); len(errs) != 0 {
		t.Errorf("kms with a key and a storage class: %v", errs)
	}
}

func TestDefaultKeyFollowsFormat(t *testing.T) {
	for format, want := range map[string]string{
		FormatNDJSON:     "{stream}/dt={date}/hour={hour}/{uuid}.ndjson",
		FormatNDJSONGzip: "{stream}/dt={date}/hour={hour}/{uuid}.ndjson.gz",
		FormatNDJSONZstd: "{stream}/dt={date}/hour={hour}/{uuid}.ndjson.zst",
	} {
		o := NewOptions()
		o.Format = format
		if got := o.keyTemplate(); got != want {
			t.Errorf("%s: %q, want %q", format, got, want)
		}
	}
}
