package s3

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ingestd/ingestd/sinks"
)

// Defaults of the options a config may leave out.
const (
	DefaultRegion             = "us-east-1" // when neither the options nor the AWS chain name one
	DefaultTimeField          = TimeReceivedAt
	DefaultFormat             = FormatNDJSON
	DefaultMultipartThreshold = 16 << 20
	DefaultTimeout            = 60 * time.Second

	// DefaultKeyPrefix is the key template without its extension; a config that leaves key
	// out gets it followed by its format's extension, such as
	// "{stream}/dt={date}/hour={hour}/{uuid}.ndjson.gz" for ndjson_gzip.
	DefaultKeyPrefix = "{stream}/dt={date}/hour={hour}/{uuid}"
)

// Values of the time_field option.
const (
	TimeReceivedAt = "received_at" // when ingestd received the event
	TimeTimestamp  = "timestamp"   // the time the event itself carries
)

// Values of the server_side_encryption option.
const (
	SSEAES256 = "AES256"
	SSEKMS    = "aws:kms"
)

// maxObjectSize is the largest object one PutObject may write.
const maxObjectSize = 5 << 30

// Options is the s3 sink's config block.
type Options struct {
	// Bucket receives the objects.
	Bucket string `yaml:"bucket"`
	// Region is the bucket's AWS region. Empty leaves it to the AWS chain (AWS_REGION,
	// AWS_DEFAULT_REGION, the profile), then DefaultRegion.
	Region string `yaml:"region"`
	// Endpoint is the base URL of an S3-compatible store (MinIO, R2, Ceph...); empty for AWS.
	Endpoint string `yaml:"endpoint"`
	// ForcePathStyle addresses the bucket as endpoint/bucket/key instead of bucket.endpoint/key,
	// which most S3-compatible stores need.
	ForcePathStyle bool `yaml:"force_path_style"`
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials. Without them the
	// standard AWS chain applies: environment, shared files, web identity, instance role.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
	// Key is the template of object keys; see the package documentation for its tokens. Empty
	// means DefaultKeyPrefix followed by the format's extension.
	Key string `yaml:"key"`
	// TimeField is TimeReceivedAt or TimeTimestamp: the time that places an event in its
	// partition.
	TimeField string `yaml:"time_field"`
	// Format names how objects are encoded: a key of Formats, or FormatParquet.
	Format string `yaml:"format"`
	// Parquet configures FormatParquet.
	Parquet *ParquetOptions `yaml:"parquet"`
	// ServerSideEncryption is "", SSEAES256 or SSEKMS.
	ServerSideEncryption string `yaml:"server_side_encryption"`
	// SSEKMSKeyID is the KMS key for SSEKMS; empty uses the bucket's default key.
	SSEKMSKeyID string `yaml:"sse_kms_key_id"`
	// StorageClass is an S3 storage class such as STANDARD_IA; empty uses the bucket's default.
	StorageClass string `yaml:"storage_class"`
	// MultipartThreshold is the object size in bytes above which a multipart upload is used.
	MultipartThreshold int64 `yaml:"multipart_threshold"`
	// Timeout bounds each request to S3.
	Timeout time.Duration `yaml:"timeout"`
}

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{
		TimeField:          DefaultTimeField,
		Format:             DefaultFormat,
		MultipartThreshold: DefaultMultipartThreshold,
		Timeout:            DefaultTimeout,
	}
}

// keyTemplate returns the key option, or the default for the format.
func (o *Options) keyTemplate() string {
	if o.Key != "" {
		return o.Key
	}
	if f, ok := Formats[o.Format]; ok {
		return DefaultKeyPrefix + f.Extension()
	}
	if o.Format == FormatParquet {
		return DefaultKeyPrefix + (&parquetFormat{}).Extension()
	}
	return DefaultKeyPrefix
}

// Validate reports every invalid option, keyed by its YAML path. Messages never repeat a
// credential.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	if o.Bucket == "" {
		add("bucket", "is required")
	} else if strings.Contains(o.Bucket, "/") {
		add("bucket", "is a bucket name, not a path: put prefixes in key")
	}
	if o.Endpoint != "" {
		if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("endpoint", "must be an absolute http:// or https:// URL")
		}
	}
	switch {
	case (o.AccessKeyID == "") != (o.SecretAccessKey == ""):
		add("access_key_id", "and secret_access_key go together: set both or neither")
	case o.SessionToken != "" && o.AccessKeyID == "":
		add("session_token", "needs access_key_id and secret_access_key")
	}
	if _, err := parseKey(o.keyTemplate()); err != nil {
		add("key", err.Error())
	}
	if o.TimeField != TimeReceivedAt && o.TimeField != TimeTimestamp {
		add("time_field", fmt.Sprintf("must be %q or %q, not %q", TimeReceivedAt, TimeTimestamp, o.TimeField))
	}
	switch _, ok := Formats[o.Format]; {
	case o.Format == FormatParquet:
		if _, err := newParquetFormat(o.Parquet); err != nil {
			add("parquet", err.Error())
		}
	case !ok:
		add("format", fmt.Sprintf("must be one of %s, not %q", strings.Join(append(formatNames(), FormatParquet), ", "), o.Format))
	case o.Parquet != nil:
		add("parquet", "only for format: "+FormatParquet)
	}
	switch o.ServerSideEncryption {
	case "", SSEAES256:
		if o.SSEKMSKeyID != "" {
			add("sse_kms_key_id", fmt.Sprintf("needs server_side_encryption: %s", SSEKMS))
		}
	case SSEKMS:
	default:
		add("server_side_encryption", fmt.Sprintf("must be empty, %q or %q, not %q", SSEAES256, SSEKMS, o.ServerSideEncryption))
	}
	if o.StorageClass != "" && !slices.Contains(types.StorageClass("").Values(), types.StorageClass(o.StorageClass)) {
		add("storage_class", fmt.Sprintf("is not an S3 storage class: %q", o.StorageClass))
	}
	if o.MultipartThreshold < minPartSize || o.MultipartThreshold > maxObjectSize {
		add("multipart_threshold", fmt.Sprintf("must be between %d (5 MiB) and %d (5 GiB) bytes; got %d", minPartSize, maxObjectSize, o.MultipartThreshold))
	}
	if o.Timeout <= 0 {
		add("timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultTimeout, o.Timeout))
	}
	return errs
}
