package s3

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestEncryptionAndStorageClassOnTheWire: the recording handler in front of gofakes3 (standing
// for S3) sees server_side_encryption, sse_kms_key_id and storage_class as their x-amz headers
// on PutObject and on CreateMultipartUpload, and none of them when unset. The parts of a
// multipart upload carry none: S3 takes them from the upload.
func TestEncryptionAndStorageClassOnTheWire(t *testing.T) {
	const (
		hSSE   = "X-Amz-Server-Side-Encryption"
		hKey   = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
		hClass = "X-Amz-Storage-Class"
	)
	var large []string
	for i, size := 0, 0; size < minPartSize+(1<<20); i++ {
		l := event(i, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z")
		large = append(large, l)
		size += len(l)
	}
	for _, tc := range []struct{ name, sse, key, class string }{
		{"unset", "", "", ""},
		{"AES256", SSEAES256, "", "STANDARD_IA"},
		{"KMS key", SSEKMS, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "INTELLIGENT_TIERING"},
		{"KMS default key", SSEKMS, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeS3(t)
			s := newSink(t, f.URL, func(o *Options) {
				o.ServerSideEncryption, o.SSEKMSKeyID, o.StorageClass = tc.sse, tc.key, tc.class
				o.MultipartThreshold = minPartSize
			})
			if err := s.WriteBatch(ctx, batch(event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z"))); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteBatch(ctx, batch(large...)); err != nil {
				t.Fatal(err)
			}
			if objs := objects(t, s); len(objs) != 2 {
				t.Fatalf("%d objects stored, want 2", len(objs))
			}
			puts := f.recorded(http.MethodPut, func(q string) bool { return !strings.Contains(q, "uploadId=") })
			creates := f.recorded(http.MethodPost, func(q string) bool { return strings.Contains(q, "uploads") })
			parts := f.recorded(http.MethodPut, func(q string) bool { return strings.Contains(q, "partNumber=") })
			if len(puts) != 1 || len(creates) != 1 || len(parts) != 1 {
				t.Fatalf("%d PutObject, %d CreateMultipartUpload, %d UploadPart; want 1 each", len(puts), len(creates), len(parts))
			}
			want := map[string][]string{hSSE: values(tc.sse), hKey: values(tc.key), hClass: values(tc.class)}
			for _, r := range []struct {
				what string
				req  request
			}{{"PutObject", puts[0]}, {"CreateMultipartUpload", creates[0]}} {
				for h, v := range want {
					if got := r.req.header.Values(h); !reflect.DeepEqual(got, v) {
						t.Errorf("%s: %s is %q, want %q", r.what, h, got, v)
					}
				}
			}
			for h := range want {
				if got := parts[0].header.Values(h); len(got) != 0 {
					t.Errorf("UploadPart carries %s: %q", h, got)
				}
			}
		})
	}
}

func values(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// TestRegionFromTheAWSChain: without region in the options the SDK's chain decides (AWS_REGION,
// AWS_DEFAULT_REGION, the profile in the shared config file), us-east-1 only when it finds
// none, and a region in the options wins over all. The region is read off the wire, from the
// credential scope of the request's SigV4 signature, as S3 would see it.
func TestRegionFromTheAWSChain(t *testing.T) {
	dir := t.TempDir()
	configFile := filepath.Join(dir, "config")
	if err := os.WriteFile(configFile, []byte("[default]\noutput = json\n\n[profile ingest]\nregion = eu-north-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, option string
		env          map[string]string
		want         string
	}{
		{"AWS_REGION", "", map[string]string{"AWS_REGION": "ap-southeast-2", "AWS_DEFAULT_REGION": "sa-east-1"}, "ap-southeast-2"},
		{"AWS_DEFAULT_REGION", "", map[string]string{"AWS_DEFAULT_REGION": "sa-east-1"}, "sa-east-1"},
		{"profile", "", map[string]string{"AWS_PROFILE": "ingest"}, "eu-north-1"},
		{"none", "", nil, DefaultRegion},
		{"option", "eu-west-3", map[string]string{"AWS_REGION": "ap-southeast-2", "AWS_PROFILE": "ingest"}, "eu-west-3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
				t.Setenv(k, "")
			}
			t.Setenv("AWS_CONFIG_FILE", configFile)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			f := newFakeS3(t)
			s := newSink(t, f.URL, func(o *Options) { o.Region = tc.option })
			if got := s.client.Options().Region; got != tc.want {
				t.Errorf("client region %q, want %q", got, tc.want)
			}
			if err := s.WriteBatch(ctx, batch(event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z"))); err != nil {
				t.Fatal(err)
			}
			puts := f.recorded(http.MethodPut, func(string) bool { return true })
			if len(puts) != 1 {
				t.Fatalf("%d PUTs", len(puts))
			}
			if auth := puts[0].header.Get("Authorization"); !strings.Contains(auth, "/"+tc.want+"/s3/aws4_request") {
				t.Errorf("signed for another region: %s", auth)
			}
		})
	}
}

// TestCredentialsFromTheAWSChain: without keys in the options the SDK's default chain supplies
// them (here the environment, as on a machine whose role's keys are exported); the request is
// signed with that access key, read off the wire.
func TestCredentialsFromTheAWSChain(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY01")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-the-environment")
	f := newFakeS3(t)
	s := newSink(t, f.URL, func(o *Options) { o.AccessKeyID, o.SecretAccessKey = "", "" })
	if err := s.WriteBatch(ctx, batch(event(1, "2025-02-12T14:32:15Z", "2025-02-12T14:32:15Z"))); err != nil {
		t.Fatal(err)
	}
	puts := f.recorded(http.MethodPut, func(string) bool { return true })
	if len(puts) != 1 || !strings.Contains(puts[0].header.Get("Authorization"), "Credential=AKIAENVIRONMENTKEY01/") {
		t.Fatalf("not signed with the environment's key: %v", puts)
	}
}
