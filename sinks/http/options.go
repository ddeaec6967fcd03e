package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Defaults of the options a config may leave out.
const (
	DefaultMethod      = http.MethodPost
	DefaultFormat      = FormatNDJSON
	DefaultCompression = CompressionNone
	DefaultTimeout     = 30 * time.Second
)

// Values of the format option.
const (
	FormatNDJSON    = "ndjson"     // the batch's lines as they are: application/x-ndjson
	FormatJSONArray = "json_array" // the lines as the elements of one JSON array: application/json
)

// Values of the compression option.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
)

// Options is the http sink's config block.
type Options struct {
	// URL is where batches go: an absolute http or https URL.
	URL string `yaml:"url"`
	// Method is POST or PUT (any letter case).
	Method string `yaml:"method"`
	// Format is FormatNDJSON or FormatJSONArray.
	Format string `yaml:"format"`
	// Compression is CompressionNone, CompressionGzip or CompressionZstd; the body is sent with
	// the matching Content-Encoding.
	Compression string `yaml:"compression"`
	// Headers are added to every request. They may set Content-Type, User-Agent, Host and
	// Authorization (when auth is not set), not the headers that frame the body.
	Headers map[string]string `yaml:"headers"`
	// Auth sets the Authorization header.
	Auth *Auth `yaml:"auth"`
	// TLS configures https connections.
	TLS *TLS `yaml:"tls"`
	// Timeout bounds each request, from dialling to reading the response.
	Timeout time.Duration `yaml:"timeout"`
}

// Auth is exactly one way to authenticate.
type Auth struct {
	Bearer string     `yaml:"bearer"` // sent as "Authorization: Bearer <token>"
	Basic  *BasicAuth `yaml:"basic"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// TLS configures https connections.
type TLS = tlsfiles.Client

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{
		Method:      DefaultMethod,
		Format:      DefaultFormat,
		Compression: DefaultCompression,
		Timeout:     DefaultTimeout,
	}
}

// reservedHeaders frame the body or the connection; the sink sets them itself.
var reservedHeaders = []string{"Connection", "Content-Encoding", "Content-Length", "Transfer-Encoding"}

// Validate reports every invalid option, keyed by its YAML path. Messages never repeat a
// secret: neither auth values nor header values.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	u, urlErr := parseURL(o.URL)
	if urlErr != nil {
		add("url", urlErr.Error())
	}
	if m := strings.ToUpper(o.Method); m != http.MethodPost && m != http.MethodPut {
		add("method", fmt.Sprintf("must be %q or %q, not %q", http.MethodPost, http.MethodPut, o.Method))
	}
	if o.Format != FormatNDJSON && o.Format != FormatJSONArray {
		add("format", fmt.Sprintf("must be %q or %q, not %q", FormatNDJSON, FormatJSONArray, o.Format))
	}
	switch o.Compression {
	case CompressionNone, CompressionGzip, CompressionZstd:
	default:
		add("compression", fmt.Sprintf("must be %q, %q or %q, not %q", CompressionNone, CompressionGzip, CompressionZstd, o.Compression))
	}
	names := make([]string, 0, len(o.Headers))
	for name := range o.Headers {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order of messages
	seen := make(map[string]string, len(names))
	for _, name := range names {
		key := "headers." + name
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			add(key, "is not a valid header name: use letters, digits and !#$%&'*+-.^_`|~")
		case slices.Contains(reservedHeaders, canon):
			add(key, "is set by the sink from the body and compression; remove it")
		case canon == "Authorization" && o.Auth != nil:
			add(key, "conflicts with auth; set one of them")
		case seen[canon] != "":
			add(key, fmt.Sprintf("repeats header %q in another letter case", seen[canon]))
		case !validHeaderValue(o.Headers[name]):
			add(key, "has a control character (such as a line break) in its value")
		}
		seen[canon] = name
	}
	if a := o.Auth; a != nil {
		switch {
		case a.Bearer != "" && a.Basic != nil:
			add("auth", "set either bearer or basic, not both")
		case a.Bearer == "" && a.Basic == nil:
			add("auth", "needs bearer: TOKEN or basic: {user, password}; the token is empty or missing")
		case a.Basic != nil && a.Basic.User == "":
			add("auth.basic.user", "is required")
		case a.Basic != nil && strings.Contains(a.Basic.User, ":"):
			add("auth.basic.user", "must not contain ':'")
		}
	}
	if t := o.TLS; t != nil {
		if urlErr == nil && u.Scheme != "https" {
			add("tls", "applies only to an https url")
		}
		t.Check(add)
	}
	if o.Timeout <= 0 {
		add("timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultTimeout, o.Timeout))
	}
	return errs
}

// parseURL checks the url option. Its errors do not quote the URL, which may hold credentials.
func parseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL itself
		}
		return nil, fmt.Errorf("is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("must start with http:// or https://, not %q", u.Scheme+":")
	}
	if u.Host == "" {
		return nil, errors.New("has no host")
	}
	return u, nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than tab, which would end the header line.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
