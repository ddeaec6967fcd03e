// Package s3 is the "s3" sink: it writes each batch as objects in an S3 bucket (AWS, or any
// S3-compatible store through endpoint and force_path_style), one object per time partition.
//
// Keys come from a template with the tokens {stream}, {stream_id}, {date} (YYYY-MM-DD),
// {hour} (hh), {minute} (mm) and {uuid}, a random UUID that keeps keys from colliding. The
// finest time token sets the partition: events are placed by their received_at or timestamp
// (time_field), in UTC, and a batch whose events fall in several partitions becomes one object
// per partition. Objects are encoded by a Format (NDJSON, plain or compressed) inside
// WriteBatch, on the engine's delivery workers, and uploaded with one PutObject, or as a
// multipart upload above multipart_threshold.
//
// The engine owns retries: the SDK's own are turned off, and failures are classified for
// sinks.Classify (SlowDown and 503 ask for back-off, EntityTooLarge splits the batch, refusals
// such as AccessDenied and NoSuchBucket go to the dead letters, the rest is retried).
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ingestd/ingestd/sinks"
)

// Concurrency is how many batches one s3 sink uploads at once.
const Concurrency = 4

// partSize is the size of the parts of a multipart upload but the last; minPartSize is S3's
// least part size.
const (
	partSize    = 8 << 20
	minPartSize = 5 << 20
)

func init() {
	sinks.MustRegister(sinks.Typed("s3", Concurrency, NewOptions, New))
}

// Sink writes batches to one bucket. WriteBatch may run on up to Concurrency goroutines at
// once; Connect and Close are not called concurrently with it.
type Sink struct {
	name      string
	opts      Options
	key       *keyTemplate
	format    Format
	parts     *partitioner
	client    *s3.Client // built by Connect
	closed    atomic.Bool
	scratches sync.Pool    // *scratch
	log       *slog.Logger // slog.Default(): sinks are given no logger
}

// scratch holds one WriteBatch's buffers, reused across batches.
type scratch struct {
	lines  []line
	group  []byte // the NDJSON of one partition, when a batch spans several
	body   []byte // the encoded object
	key    []byte
	parts  []int64
	nulled []int // per Parquet column, the values of one object nulled for their kind
}

// New returns an s3 sink named name (the name appears in its errors). It fails when opts do not
// validate. It does no I/O: Connect loads the credentials.
func New(name string, opts *Options) (*Sink, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Key + ": " + e.Msg
		}
		return nil, fmt.Errorf("s3 sink %q: invalid options: %s", name, strings.Join(msgs, "; "))
	}
	key, _ := parseKey(opts.keyTemplate())
	format := Formats[opts.Format]
	if opts.Format == FormatParquet {
		pf, err := newParquetFormat(opts.Parquet)
		if err != nil {
			return nil, fmt.Errorf("s3 sink %q: %w", name, err)
		}
		format = pf
	}
	s := &Sink{
		name:   name,
		opts:   *opts,
		key:    key,
		format: format,
		parts:  newPartitioner(opts.TimeField, key.period),
		log:    slog.Default(),
	}
	s.scratches.New = func() any { return new(scratch) }
	return s, nil
}

// Connect builds the S3 client: static credentials when the options hold them, the standard
// AWS chain otherwise. Without a region in the options the SDK's chain picks it (AWS_REGION,
// AWS_DEFAULT_REGION, the profile), and DefaultRegion when that finds none. It does not contact
// the bucket, so ingestd starts while S3 is away.
func (s *Sink) Connect(ctx context.Context) error {
	load := []func(*config.LoadOptions) error{config.WithDefaultRegion(DefaultRegion)}
	if s.opts.Region != "" {
		load = append(load, config.WithRegion(s.opts.Region))
	}
	if s.opts.AccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			s.opts.AccessKeyID, s.opts.SecretAccessKey, s.opts.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return fmt.Errorf("s3 sink %q: loading the AWS configuration: %w", s.name, err)
	}
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if s.opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.opts.Endpoint)
		}
		o.UsePathStyle = s.opts.ForcePathStyle
		o.Retryer = aws.NopRetryer{} // the engine retries, with its own back-off and dead letters
	})
	return nil
}

// WriteBatch encodes and uploads b's events, one object per partition. When one upload fails
// the batch fails, and its retry writes every partition again under new keys: delivery is at
// least once.
func (s *Sink) WriteBatch(ctx context.Context, b *sinks.Batch) error {
	if s.closed.Load() {
		return fmt.Errorf("s3 sink %q: closed", s.name)
	}
	if s.client == nil {
		return fmt.Errorf("s3 sink %q: not connected", s.name)
	}
	if len(b.Data) == 0 {
		return nil
	}
	sc := s.scratches.Get().(*scratch)
	defer s.scratches.Put(sc)
	var one bool
	sc.lines, one = s.parts.split(sc.lines[:0], b.Data, b.ReceivedAt/int64(time.Second))
	if one {
		return s.writeObject(ctx, sc, b, sc.lines[0].part, b.Data)
	}
	sc.parts = sc.parts[:0]
	for _, l := range sc.lines {
		if !containsPart(sc.parts, l.part) {
			sc.parts = append(sc.parts, l.part)
		}
	}
	for _, part := range sc.parts {
		sc.group = sc.group[:0]
		for _, l := range sc.lines {
			if l.part == part {
				sc.group = append(sc.group, b.Data[l.start:l.end]...)
			}
		}
		if err := s.writeObject(ctx, sc, b, part, sc.group); err != nil {
			return err
		}
	}
	return nil
}

func containsPart(parts []int64, p int64) bool {
	for _, q := range parts {
		if q == p {
			return true
		}
	}
	return false
}

// writeObject encodes ndjson, the events of b in the partition part, and uploads it. A Parquet
// object that holds nulls for values of the wrong type is logged once it is stored, with the
// count per column and without the values, which may be sensitive.
func (s *Sink) writeObject(ctx context.Context, sc *scratch, b *sinks.Batch, part int64, ndjson []byte) error {
	var err error
	nulled := 0
	pf, isParquet := s.format.(*parquetFormat)
	if isParquet {
		if len(sc.nulled) != len(pf.columns) {
			sc.nulled = make([]int, len(pf.columns))
		}
		sc.body, nulled, err = pf.encode(sc.body[:0], ndjson, sc.nulled)
	} else {
		sc.body, err = s.format.Encode(sc.body[:0], ndjson)
	}
	if err != nil {
		return sinks.PermanentError(fmt.Errorf("s3 sink %q: encoding: %w", s.name, err))
	}
	sc.key = s.key.expand(sc.key[:0], b, part)
	key := string(sc.key)
	if int64(len(sc.body)) > s.opts.MultipartThreshold {
		err = s.putMultipart(ctx, key, sc.body)
	} else {
		err = s.put(ctx, key, sc.body)
	}
	if err != nil {
		return classify(fmt.Errorf("s3 sink %q: writing s3://%s/%s: %w", s.name, s.opts.Bucket, key, err))
	}
	if nulled > 0 {
		s.log.LogAttrs(ctx, slog.LevelWarn, "parquet values of the wrong type stored as null",
			slog.String("sink", s.name), slog.String("object", "s3://"+s.opts.Bucket+"/"+key),
			slog.Int("nulled", nulled), slog.Group("columns", pf.nulledAttrs(sc.nulled)...))
	}
	return nil
}

// put uploads body in one request. A bytes.Reader is seekable, so the SDK can sign the
// payload's hash and rewind the body.
func (s *Sink) put(ctx context.Context, key string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	in := &s3.PutObjectInput{
		Bucket:        &s.opts.Bucket,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(s.format.ContentType()),
	}
	if sse := s.opts.ServerSideEncryption; sse != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(sse)
	}
	if s.opts.SSEKMSKeyID != "" {
		in.SSEKMSKeyId = &s.opts.SSEKMSKeyID
	}
	if s.opts.StorageClass != "" {
		in.StorageClass = types.StorageClass(s.opts.StorageClass)
	}
	_, err := s.client.PutObject(ctx, in)
	return err
}

// putMultipart uploads body in parts of partSize, one after the other (the sink's concurrency
// comes from its batches), and aborts the upload when a step fails so that no parts are left
// behind to be billed.
func (s *Sink) putMultipart(ctx context.Context, key string, body []byte) error {
	create := &s3.CreateMultipartUploadInput{
		Bucket:      &s.opts.Bucket,
		Key:         &key,
		ContentType: aws.String(s.format.ContentType()),
	}
	if sse := s.opts.ServerSideEncryption; sse != "" {
		create.ServerSideEncryption = types.ServerSideEncryption(sse)
	}
	if s.opts.SSEKMSKeyID != "" {
		create.SSEKMSKeyId = &s.opts.SSEKMSKeyID
	}
	if s.opts.StorageClass != "" {
		create.StorageClass = types.StorageClass(s.opts.StorageClass)
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	up, err := s.client.CreateMultipartUpload(cctx, create)
	cancel()
	if err != nil {
		return err
	}
	done := make([]types.CompletedPart, 0, (len(body)+partSize-1)/partSize)
	err = func() error {
		for off, n := 0, int32(1); off < len(body); off, n = off+partSize, n+1 {
			chunk := body[off:min(off+partSize, len(body))]
			pctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
			out, err := s.client.UploadPart(pctx, &s3.UploadPartInput{
				Bucket:        &s.opts.Bucket,
				Key:           &key,
				UploadId:      up.UploadId,
				PartNumber:    aws.Int32(n),
				Body:          bytes.NewReader(chunk),
				ContentLength: aws.Int64(int64(len(chunk))),
			})
			cancel()
			if err != nil {
				return fmt.Errorf("part %d: %w", n, err)
			}
			done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		}
		cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
		_, err := s.client.CompleteMultipartUpload(cctx, &s3.CompleteMultipartUploadInput{
			Bucket:          &s.opts.Bucket,
			Key:             &key,
			UploadId:        up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
		})
		return err
	}()
	if err != nil {
		// The abort runs even when ctx has ended: that is often why the upload failed.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		if _, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: &s.opts.Bucket, Key: &key, UploadId: up.UploadId,
		}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("aborting the multipart upload: %w", aerr))
		}
	}
	return err
}

// Close stops the sink: later batches fail. The SDK client holds only idle connections,
// which the transport closes by itself.
func (s *Sink) Close(context.Context) error {
	s.closed.Store(true)
	return nil
}
