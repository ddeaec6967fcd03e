package elasticsearch

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
	// DefaultIndex stays clear of logs-*-*, which stock Elasticsearch 8 turns into data
	// streams that refuse the index action and documents without @timestamp.
	DefaultIndex = "ingestd-{stream}-{date}"
	// DefaultAction is the action without data_stream; with it the action is ActionCreate.
	DefaultAction      = ActionIndex
	DefaultDSType      = "logs"
	DefaultDSDataset   = "{stream}"
	DefaultDSNamespace = "default"
	DefaultPath        = "/_bulk"
	DefaultCompression = CompressionNone
	DefaultTimeout     = 30 * time.Second
)

// Values of the action option.
const (
	ActionIndex  = "index"  // create or replace the document
	ActionCreate = "create" // create only; the one data streams accept
)

// Values of the compression option.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// Options is the elasticsearch sink's config block.
type Options struct {
	// URLs are the cluster's nodes (http or https, no path); requests go to them in turn.
	URLs []string `yaml:"urls"`
	// Index names each event's index; empty means DefaultIndex. {stream} and {stream_id} are
	// the batch's stream key and id, {date} the UTC day of the event's received_at as
	// 2006.01.02. It cannot be set with DataStream, which names the target itself.
	Index string `yaml:"index"`
	// Action is ActionIndex or ActionCreate; empty means DefaultAction, or ActionCreate with
	// DataStream, the only action data streams accept.
	Action string `yaml:"action"`
	// DataStream, when set, writes to the data stream <type>-<dataset>-<namespace> with the
	// create action and adds "@timestamp" to each document.
	DataStream *DataStream `yaml:"data_stream"`
	// IDField is a dotted path whose value becomes the document _id, which makes a re-sent
	// batch overwrite (index) or skip (create) what already arrived instead of duplicating it.
	IDField string `yaml:"id_field"`
	// Path is the bulk endpoint's path on every url.
	Path string `yaml:"path"`
	// Query holds extra URL query parameters, such as VictoriaLogs' _msg_field.
	Query map[string]string `yaml:"query"`
	// Headers are added to every request, except the ones that frame the body.
	Headers map[string]string `yaml:"headers"`
	// Compression is CompressionNone or CompressionGzip.
	Compression string `yaml:"compression"`
	// Auth sets the Authorization header.
	Auth *Auth `yaml:"auth"`
	// TLS configures https connections.
	TLS *TLS `yaml:"tls"`
	// Timeout bounds each request, from dialling to reading the answer.
	Timeout time.Duration `yaml:"timeout"`
}

// DataStream names the data stream events go to, after Elastic's naming scheme; each part may
// hold {stream} and {stream_id}, whose values are made fit for a data stream name (lower case,
// '_' for '-' and the characters index names refuse). Empty parts take the defaults.
type DataStream struct {
	Type      string `yaml:"type"`      // DefaultDSType: stock templates cover logs and metrics
	Dataset   string `yaml:"dataset"`   // DefaultDSDataset
	Namespace string `yaml:"namespace"` // DefaultDSNamespace
}

// name is the index template of the data stream, with the defaults in place.
func (d *DataStream) name() string {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	return or(d.Type, DefaultDSType) + "-" + or(d.Dataset, DefaultDSDataset) + "-" + or(d.Namespace, DefaultDSNamespace)
}

// Auth is exactly one way to authenticate.
type Auth struct {
	Basic  *BasicAuth `yaml:"basic"`
	APIKey string     `yaml:"api_key"` // sent as "Authorization: ApiKey <key>" (the encoded id:key)
	Bearer string     `yaml:"bearer"`  // sent as "Authorization: Bearer <token>"
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// TLS configures https connections.
type TLS = tlsfiles.Client

// NewOptions returns the options with every default in place, ready for YAML decoding. Index
// and Action stay empty, as their defaults depend on DataStream.
func NewOptions() *Options {
	return &Options{
		Path:        DefaultPath,
		Compression: DefaultCompression,
		Timeout:     DefaultTimeout,
	}
}

var reservedHeaders = []string{"Connection", "Content-Encoding", "Content-Length", "Content-Type", "Transfer-Encoding", "Host"}

// Validate reports every invalid option, keyed by its YAML path. Messages never repeat a
// secret.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	if len(o.URLs) == 0 {
		add("urls", "is required: at least one http(s)://host:port")
	}
	https := false
	for i, s := range o.URLs {
		u, err := parseURL(s)
		if err != nil {
			add(fmt.Sprintf("urls[%d]", i), err.Error())
			continue
		}
		https = https || u.Scheme == "https"
	}
	if o.Index != "" {
		if _, err := parseIndex(o.Index); err != nil {
			add("index", err.Error())
		}
	}
	switch {
	case o.Action != "" && o.Action != ActionIndex && o.Action != ActionCreate:
		add("action", fmt.Sprintf("must be %q or %q, not %q", ActionIndex, ActionCreate, o.Action))
	case o.Action == ActionIndex && o.DataStream != nil:
		add("action", fmt.Sprintf("data streams accept only %q: remove action or set it to %q", ActionCreate, ActionCreate))
	}
	if d := o.DataStream; d != nil {
		if o.Index != "" {
			add("index", "cannot be set with data_stream, which names the data stream <type>-<dataset>-<namespace>: remove one of them")
		}
		checkDSPart(add, "data_stream.type", d.Type, true)
		checkDSPart(add, "data_stream.dataset", d.Dataset, false)
		checkDSPart(add, "data_stream.namespace", d.Namespace, false)
	}
	if o.IDField != "" {
		if _, err := fieldpath.Parse(o.IDField); err != nil {
			add("id_field", err.Error())
		}
	}
	if o.Compression != CompressionNone && o.Compression != CompressionGzip {
		add("compression", fmt.Sprintf("must be %q or %q, not %q", CompressionNone, CompressionGzip, o.Compression))
	}
	if !strings.HasPrefix(o.Path, "/") || strings.ContainsAny(o.Path, "?#") {
		add("path", fmt.Sprintf("must start with / and hold no query, such as %q; got %q", DefaultPath, o.Path))
	}
	for k := range o.Query {
		if k == "" {
			add("query", "has an empty parameter name")
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range o.Headers {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validToken(name):
			add("headers."+name, "is not a valid header name")
		case slices.Contains(reservedHeaders, canon):
			add("headers."+name, "is set by the sink itself; remove it")
		case canon == "Authorization" && o.Auth != nil:
			add("headers."+name, "conflicts with auth; set one of them")
		case strings.ContainsFunc(o.Headers[name], func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
			add("headers."+name, "has a control character in its value")
		}
	}
	if a := o.Auth; a != nil {
		n := 0
		for _, set := range []bool{a.Basic != nil, a.APIKey != "", a.Bearer != ""} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			add("auth", "needs exactly one of basic: {user, password}, api_key or bearer")
		case a.Basic != nil && (a.Basic.User == "" || strings.Contains(a.Basic.User, ":")):
			add("auth.basic.user", "is required and must not contain ':'")
		}
	}
	if t := o.TLS; t != nil {
		if !https && len(o.URLs) > 0 {
			add("tls", "applies only to https urls")
		}
		t.Check(add)
	}
	if o.Timeout <= 0 {
		add("timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultTimeout, o.Timeout))
	}
	return errs
}

// dsRefused are the characters a data stream name part may not hold: the ones Elasticsearch
// refuses in index names, and '-', which separates the parts.
const dsRefused = "\\/*?\"<>|,#: -"

// checkDSPart checks one part of a data stream name; empty takes its default.
func checkDSPart(add func(key, msg string), key, v string, first bool) {
	if v == "" {
		return
	}
	parts, err := parseIndex(v)
	if err != nil {
		add(key, err.Error())
		return
	}
	for _, p := range parts {
		switch {
		case p.kind == partDate:
			add(key, "cannot hold {date}: a data stream rolls its indices over by itself")
			return
		case p.kind != partLiteral:
		case strings.ContainsAny(p.lit, dsRefused) || strings.ContainsFunc(p.lit, func(r rune) bool { return r < ' ' }):
			add(key, fmt.Sprintf(`%q holds '-', a space, a control character or one of \ / * ? " < > | , # :, which data stream names cannot`, v))
			return
		case strings.ToLower(p.lit) != p.lit:
			add(key, fmt.Sprintf("%q must be lower case", v))
			return
		}
	}
	if first && parts[0].kind == partLiteral && strings.IndexByte("_+.", parts[0].lit[0]) >= 0 {
		add(key, fmt.Sprintf("%q must not start with _, + or .", v))
	}
}

// parseURL checks one url. Its errors do not quote it: it may hold credentials.
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
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, errors.New("must hold no path or query: set path and query instead")
	}
	return u, nil
}

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
