package s3

import (
	"errors"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/ingestd/ingestd/sinks"
)

// retryable4xx are S3 refusals in the 4xx range that a later attempt can get past: a slow
// upload, a clock or a token that is refreshed meanwhile, a conflicting operation ending.
var retryable4xx = map[string]bool{
	"RequestTimeout":            true,
	"RequestTimeTooSkewed":      true,
	"ExpiredToken":              true,
	"TokenRefreshRequired":      true,
	"OperationAborted":          true,
	"InternalError":             true,
	"IncompleteBody":            true,
	"BadDigest":                 true, // the body was damaged on its way
	"XAmzContentSHA256Mismatch": true,
}

// classify marks err, a failed S3 call, for sinks.Classify: SlowDown and 503 (and throttling
// 429s) ask for back-off, EntityTooLarge refuses the size, other 4xx refusals (AccessDenied,
// NoSuchBucket, InvalidArgument...) are permanent, and 5xx, timeouts and network errors stay
// retryable.
func classify(err error) error {
	code := ""
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	switch {
	case code == "SlowDown" || code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded" ||
		status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return sinks.BackoffError(err, 0)
	case code == "EntityTooLarge" || status == http.StatusRequestEntityTooLarge:
		return sinks.TooLargeError(err)
	case retryable4xx[code] || status == http.StatusRequestTimeout:
		return err
	case status >= 400 && status < 500:
		return sinks.PermanentError(err)
	}
	return err
}
