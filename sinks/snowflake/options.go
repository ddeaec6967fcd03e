package snowflake

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Defaults of the options a config may leave out.
const (
	DefaultCompression = CompressionGzip
	DefaultTimeout     = 30 * time.Second
	// DefaultPipeSuffix makes the name of the pipe Snowflake provides for every table
	// ("<TABLE>-STREAMING"), used when only table is set.
	DefaultPipeSuffix = "-STREAMING"
)

// Values of the compression option.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// Options is the snowflake_streaming sink's config block.
type Options struct {
	// Account is the account identifier, such as "myorg-account123" (preferred) or an account
	// locator with its region, "xy12345.us-east-2.aws".
	Account string `yaml:"account"`
	// User is the Snowflake user whose RSA public key matches PrivateKeyFile.
	User string `yaml:"user"`
	// PrivateKeyFile is an unencrypted PEM private key: PKCS#8 ("BEGIN PRIVATE KEY") or
	// PKCS#1 ("BEGIN RSA PRIVATE KEY").
	PrivateKeyFile string `yaml:"private_key_file"`
	// URL is the account's base URL; empty means https://<account>.snowflakecomputing.com.
	URL string `yaml:"url"`
	// Database, Schema and either Table (through its default pipe) or Pipe name the target.
	Database string `yaml:"database"`
	Schema   string `yaml:"schema"`
	Table    string `yaml:"table"`
	Pipe     string `yaml:"pipe"`
	// ChannelPrefix starts every channel name; shard n writes through "<prefix>-<n>". Two
	// ingestd instances writing to one pipe need different prefixes.
	ChannelPrefix string `yaml:"channel_prefix"`
	// Compression is CompressionGzip or CompressionNone.
	Compression string `yaml:"compression"`
	// Timeout bounds each request, from dialling to reading the answer.
	Timeout time.Duration `yaml:"timeout"`
	// TLS configures https connections.
	TLS *TLS `yaml:"tls"`
}

// TLS configures https connections.
type TLS = tlsfiles.Client

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Options{
		ChannelPrefix: "ingestd-" + host,
		Compression:   DefaultCompression,
		Timeout:       DefaultTimeout,
	}
}

// Validate reports every invalid option, keyed by its YAML path. It reads the key file and the
// TLS files, so a bad one is reported at load time.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	if o.Account == "" {
		add("account", `is required: the account identifier, such as "myorg-account123"`)
	} else if !validAccount(o.Account) {
		add("account", "may hold only letters, digits, '-', '_' and '.'")
	}
	if o.User == "" {
		add("user", "is required")
	} else if strings.ContainsAny(o.User, "\"\\\x00\n\r") {
		add("user", "holds a character a JWT claim cannot carry")
	}
	if o.PrivateKeyFile == "" {
		add("private_key_file", "is required: the PEM PKCS#8 private key registered with ALTER USER ... SET RSA_PUBLIC_KEY")
	} else if _, err := loadKey(o.PrivateKeyFile); err != nil {
		add("private_key_file", err.Error())
	}
	https := true
	if o.URL != "" {
		u, err := parseURL(o.URL)
		if err != nil {
			add("url", err.Error())
		} else {
			https = u.Scheme == "https"
		}
	}
	for _, f := range []struct{ key, val string }{{"database", o.Database}, {"schema", o.Schema}} {
		if f.val == "" {
			add(f.key, "is required")
		}
	}
	switch {
	case o.Table == "" && o.Pipe == "":
		add("pipe", "or table is required: table streams through its default pipe <TABLE>"+DefaultPipeSuffix)
	case o.Table != "" && o.Pipe != "":
		add("pipe", "and table exclude each other: set table for its default pipe, or pipe for your own")
	}
	if o.ChannelPrefix == "" {
		add("channel_prefix", "must not be empty")
	} else if strings.ContainsAny(o.ChannelPrefix, "/?#%\"\\") || strings.ContainsFunc(o.ChannelPrefix, isControl) {
		add("channel_prefix", "must not contain / ? # % \" \\ or control characters")
	}
	if o.Compression != CompressionNone && o.Compression != CompressionGzip {
		add("compression", fmt.Sprintf("must be %q or %q, not %q", CompressionGzip, CompressionNone, o.Compression))
	}
	if o.Timeout <= 0 {
		add("timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultTimeout, o.Timeout))
	}
	if t := o.TLS; t != nil {
		if !https {
			add("tls", "applies only to an https url")
		}
		t.Check(add)
	}
	return errs
}

// pipe is the pipe the channels are opened on.
func (o *Options) pipe() string {
	if o.Pipe != "" {
		return o.Pipe
	}
	return o.Table + DefaultPipeSuffix
}

// baseURL is the account URL the JWT is exchanged at.
func (o *Options) baseURL() *url.URL {
	if o.URL != "" {
		u, _ := parseURL(o.URL)
		return u
	}
	// Host names use '-' where account names have '_'.
	host := strings.ToLower(strings.ReplaceAll(o.Account, "_", "-")) + ".snowflakecomputing.com"
	return &url.URL{Scheme: "https", Host: host}
}

func validAccount(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// parseURL checks the url option. Its errors do not quote it: it may hold credentials.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must start with https:// (or http:// for a local test server)")
	}
	if u.Host == "" {
		return nil, errors.New("has no host")
	}
	if u.User != nil || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be scheme://host[:port] only")
	}
	u.Path = ""
	return u, nil
}
