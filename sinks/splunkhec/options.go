package splunkhec

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Defaults of the options a config may leave out.
const (
	DefaultPath            = "/services/collector/event"
	DefaultTimeField       = "timestamp"
	DefaultCompression     = CompressionNone
	DefaultTimeout         = 30 * time.Second
	DefaultAckPollInterval = time.Second
	DefaultAckTimeout      = 2 * time.Minute
)

// ackPath is where HEC answers indexer acknowledgement queries.
const ackPath = "/services/collector/ack"

// Values of the compression option.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// Options is the splunk_hec sink's config block.
type Options struct {
	// URL is the HEC base address, such as https://splunk:8088 (no path).
	URL string `yaml:"url"`
	// Path is the event endpoint's path.
	Path string `yaml:"path"`
	// Token is the HEC token, sent as "Authorization: Splunk <token>".
	Token string `yaml:"token"`

	// The *Field options are dotted paths into the stored event whose string (or number)
	// value fills the envelope key; the plain options are the value used when the field is
	// missing, empty or of another kind. An envelope key with neither is left out, so HEC
	// applies the token's defaults.
	HostField       string `yaml:"host_field"`
	SourceField     string `yaml:"source_field"`
	SourcetypeField string `yaml:"sourcetype_field"`
	IndexField      string `yaml:"index_field"`
	Host            string `yaml:"host"`
	Source          string `yaml:"source"`
	Sourcetype      string `yaml:"sourcetype"`
	Index           string `yaml:"index"`

	// TimeField is the path of the event time: an RFC 3339 string or epoch seconds.
	TimeField string `yaml:"time_field"`
	// EventField is the path of the value sent as "event"; empty sends the whole event.
	EventField string `yaml:"event_field"`
	// Fields maps HEC indexed-field names to paths whose string or number values they take.
	Fields map[string]string `yaml:"fields"`

	// Compression is CompressionNone or CompressionGzip.
	Compression string `yaml:"compression"`
	// Ack configures indexer acknowledgement.
	Ack Ack `yaml:"ack"`
	// Channel is the HEC channel, a UUID; empty picks a random one per sink.
	Channel string `yaml:"channel"`
	// TLS configures https connections.
	TLS *TLS `yaml:"tls"`
	// Timeout bounds each request, from dialling to reading the answer.
	Timeout time.Duration `yaml:"timeout"`
	// Headers are added to every request, except the ones the sink sets itself.
	Headers map[string]string `yaml:"headers"`
}

// Ack configures indexer acknowledgement: with it, WriteBatch returns only once Splunk says
// the batch is indexed (replicated, under an indexer cluster).
type Ack struct {
	Enabled      bool          `yaml:"enabled"`
	PollInterval time.Duration `yaml:"poll_interval"`
	Timeout      time.Duration `yaml:"timeout"` // from the answer to the POST until acked
}

// TLS configures https connections.
type TLS = tlsfiles.Client

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{
		Path:        DefaultPath,
		TimeField:   DefaultTimeField,
		Compression: DefaultCompression,
		Ack:         Ack{PollInterval: DefaultAckPollInterval, Timeout: DefaultAckTimeout},
		Timeout:     DefaultTimeout,
	}
}

// reservedHeaders frame the body or carry the token and channel: the sink sets them.
var reservedHeaders = []string{"Authorization", "Connection", "Content-Encoding", "Content-Length",
	"Content-Type", "Host", "Transfer-Encoding", "X-Splunk-Request-Channel"}

// Validate reports every invalid option, keyed by its YAML path. Messages never quote the
// token or header values.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	https := false
	if o.URL == "" {
		add("url", "is required, such as https://splunk:8088")
	} else if u, err := parseURL(o.URL); err != nil {
		add("url", err.Error())
	} else {
		https = u.Scheme == "https"
	}
	if !strings.HasPrefix(o.Path, "/") || strings.ContainsAny(o.Path, "?#") {
		add("path", fmt.Sprintf("must start with / and hold no query, such as %q", DefaultPath))
	}
	switch {
	case o.Token == "":
		add("token", "is required: the HEC token, such as \"${SPLUNK_HEC_TOKEN}\"")
	case strings.ContainsFunc(o.Token, isControlOrSpace):
		add("token", "holds a space or control character")
	}
	for key, p := range map[string]string{
		"host_field": o.HostField, "source_field": o.SourceField, "sourcetype_field": o.SourcetypeField,
		"index_field": o.IndexField, "event_field": o.EventField,
	} {
		if p != "" {
			if _, err := fieldpath.Parse(p); err != nil {
				add(key, err.Error())
			}
		}
	}
	if o.TimeField == "" {
		add("time_field", fmt.Sprintf("is required, such as %q", DefaultTimeField))
	} else if _, err := fieldpath.Parse(o.TimeField); err != nil {
		add("time_field", err.Error())
	}
	for _, name := range sortedKeys(o.Fields) {
		if name == "" {
			add("fields", "has an empty field name")
			continue
		}
		if _, err := fieldpath.Parse(o.Fields[name]); err != nil {
			add("fields."+name, err.Error())
		}
	}
	if o.Compression != CompressionNone && o.Compression != CompressionGzip {
		add("compression", fmt.Sprintf("must be %q or %q, not %q", CompressionNone, CompressionGzip, o.Compression))
	}
	if o.Ack.PollInterval <= 0 {
		add("ack.poll_interval", fmt.Sprintf("must be positive, such as %v", DefaultAckPollInterval))
	}
	if o.Ack.Timeout <= 0 {
		add("ack.timeout", fmt.Sprintf("must be positive, such as %v", DefaultAckTimeout))
	}
	if o.Channel != "" && !isUUID(o.Channel) {
		add("channel", fmt.Sprintf("must be a UUID such as 0d2a6b5c-3f4e-4c1a-9b7d-8e6f5a4b3c2d, not %q", o.Channel))
	}
	if t := o.TLS; t != nil {
		if !https && o.URL != "" {
			add("tls", "applies only to an https url")
		}
		t.Check(add)
	}
	if o.Timeout <= 0 {
		add("timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultTimeout, o.Timeout))
	}
	for _, name := range sortedKeys(o.Headers) {
		switch canon := http.CanonicalHeaderKey(name); {
		case !validToken(name):
			add("headers."+name, "is not a valid header name")
		case slices.Contains(reservedHeaders, canon):
			add("headers."+name, "is set by the sink itself; remove it")
		case strings.ContainsFunc(o.Headers[name], func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
			add("headers."+name, "has a control character in its value")
		}
	}
	slices.SortStableFunc(errs, func(a, b sinks.FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

// parseURL checks the base url. Its errors do not quote it: it may hold credentials.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must start with http:// or https://")
	}
	if u.Host == "" {
		return nil, errors.New("has no host")
	}
	if u.User != nil {
		return nil, errors.New("must hold no user info: HEC authenticates with token")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must hold no path or query: set path instead")
	}
	return u, nil
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isControlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

func validToken(s string) bool {
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
