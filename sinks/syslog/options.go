package syslog

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
	"github.com/ingestd/ingestd/sinks/internal/tlsfiles"
)

// Values of the transport option.
const (
	TransportTCP = "tcp"
	TransportTLS = "tls"
	TransportUDP = "udp"
)

// Values of the format option.
const (
	FormatRFC5424 = "rfc5424"
	FormatRFC3164 = "rfc3164"
)

// Values of the framing option (tcp and tls only; udp sends one datagram per message).
const (
	FramingOctetCounting  = "octet_counting"  // RFC 6587 3.4.1: "LEN SP MSG"
	FramingNonTransparent = "non_transparent" // RFC 6587 3.4.2: MSG LF
)

// Defaults of the options a config may leave out.
const (
	DefaultTransport = TransportTCP
	DefaultFormat    = FormatRFC5424
	DefaultFraming   = FramingOctetCounting
	DefaultFacility  = "user"
	DefaultSeverity  = "info"
	DefaultAppName   = "ingestd"
	DefaultTimeout   = 10 * time.Second
)

// Options is the syslog sink's config block.
type Options struct {
	// Address is the server's host:port.
	Address string `yaml:"address"`
	// Transport is TransportTCP, TransportTLS or TransportUDP.
	Transport string `yaml:"transport"`
	// Format is FormatRFC5424 or FormatRFC3164.
	Format string `yaml:"format"`
	// Framing separates messages on a stream transport: FramingOctetCounting or
	// FramingNonTransparent.
	Framing string `yaml:"framing"`
	// Facility and Severity are names (user, local0, info, err, ...) used for every event, or
	// when FacilityField / SeverityField is missing or holds no known name or number.
	Facility      string `yaml:"facility"`
	Severity      string `yaml:"severity"`
	FacilityField string `yaml:"facility_field"`
	SeverityField string `yaml:"severity_field"`
	// AppName is the APP-NAME (the TAG in RFC 3164), or AppNameField's text when present.
	AppName      string `yaml:"app_name"`
	AppNameField string `yaml:"app_name_field"`
	// Hostname is the HOSTNAME; empty means the machine's (os.Hostname).
	Hostname string `yaml:"hostname"`
	// MsgIDField's text is the MSGID (RFC 5424 only); absent, the MSGID is "-".
	MsgIDField string `yaml:"msgid_field"`
	// StructuredData maps SD-IDs to their params, each param to a field path (RFC 5424 only).
	StructuredData map[string]map[string]string `yaml:"structured_data"`
	// MessageField's text is the MSG; empty means the whole event line.
	MessageField string `yaml:"message_field"`
	// TLS configures the tls transport.
	TLS *TLS `yaml:"tls"`
	// Timeout bounds dialling (with the TLS handshake) and each batch's writes.
	Timeout time.Duration `yaml:"timeout"`
}

// TLS configures the tls transport. An empty server_name means the address's host.
type TLS = tlsfiles.Client

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{
		Transport: DefaultTransport,
		Format:    DefaultFormat,
		Framing:   DefaultFraming,
		Facility:  DefaultFacility,
		Severity:  DefaultSeverity,
		AppName:   DefaultAppName,
		Timeout:   DefaultTimeout,
	}
}

// facilities and severities are the RFC 5424 codes by name; a code is its index.
var (
	facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	severities = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	// severityAliases are the other spellings logging libraries use.
	severityAliases = map[string]int{"emergency": 0, "panic": 0, "fatal": 0, "critical": 2,
		"error": 3, "warn": 4, "informational": 6, "trace": 7}
)

// Limits of RFC 5424 header fields, in bytes.
const (
	maxHostname = 255
	maxAppName  = 48
	maxTag3164  = 32
	maxMsgID    = 32
	maxSDName   = 32
)

// Validate reports every invalid option, keyed by its YAML path.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	if o.Address == "" {
		add("address", "is required, as host:port")
	} else if host, port, err := net.SplitHostPort(o.Address); err != nil {
		add("address", fmt.Sprintf("must be host:port: %v", err))
	} else if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		add("address", fmt.Sprintf("needs a host and a port from 1 to 65535, not %q", o.Address))
	}
	switch o.Transport {
	case TransportTCP, TransportTLS, TransportUDP:
	default:
		add("transport", fmt.Sprintf("must be %q, %q or %q, not %q", TransportTCP, TransportTLS, TransportUDP, o.Transport))
	}
	if o.Format != FormatRFC5424 && o.Format != FormatRFC3164 {
		add("format", fmt.Sprintf("must be %q or %q, not %q", FormatRFC5424, FormatRFC3164, o.Format))
	}
	if o.Framing != FramingOctetCounting && o.Framing != FramingNonTransparent {
		add("framing", fmt.Sprintf("must be %q or %q, not %q", FramingOctetCounting, FramingNonTransparent, o.Framing))
	}
	if _, ok := code(facilities, nil, o.Facility); !ok {
		add("facility", fmt.Sprintf("must be one of %s, not %q", strings.Join(facilities, ", "), o.Facility))
	}
	if _, ok := code(severities, severityAliases, o.Severity); !ok {
		add("severity", fmt.Sprintf("must be one of %s, not %q", strings.Join(severities, ", "), o.Severity))
	}
	for _, f := range []struct{ key, path string }{{"facility_field", o.FacilityField},
		{"severity_field", o.SeverityField}, {"app_name_field", o.AppNameField},
		{"msgid_field", o.MsgIDField}, {"message_field", o.MessageField}} {
		if f.path == "" {
			continue
		}
		if _, err := fieldpath.Parse(f.path); err != nil {
			add(f.key, err.Error())
		}
	}
	if msg := headerName(o.AppName, maxAppName); msg != "" {
		add("app_name", msg)
	}
	if o.Hostname != "" {
		if msg := headerName(o.Hostname, maxHostname); msg != "" {
			add("hostname", msg)
		}
	}
	if o.Format == FormatRFC3164 {
		if o.MsgIDField != "" {
			add("msgid_field", "applies only to format rfc5424")
		}
		if len(o.StructuredData) > 0 {
			add("structured_data", "applies only to format rfc5424")
		}
	}
	for _, id := range sortedKeys(o.StructuredData) {
		key := "structured_data." + id
		if msg := sdName(id); msg != "" {
			add(key, "SD-ID "+msg)
		}
		params := o.StructuredData[id]
		if len(params) == 0 {
			add(key, "needs at least one param: field path")
		}
		for _, name := range sortedKeys(params) {
			if msg := sdName(name); msg != "" {
				add(key+"."+name, "param name "+msg)
			} else if _, err := fieldpath.Parse(params[name]); err != nil {
				add(key+"."+name, err.Error())
			}
		}
	}
	if t := o.TLS; t != nil {
		if o.Transport != TransportTLS {
			add("tls", "applies only to transport tls")
		}
		t.Check(add)
	}
	if o.Timeout <= 0 {
		add("timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultTimeout, o.Timeout))
	}
	return errs
}

// code returns the code of a facility or severity name, or of its decimal number.
func code(names []string, aliases map[string]int, s string) (int, bool) {
	if i := slices.Index(names, s); i >= 0 {
		return i, true
	}
	if n, ok := aliases[s]; ok {
		return n, true
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(names) {
		return n, true
	}
	return 0, false
}

// headerName checks a HOSTNAME or APP-NAME: printable US-ASCII without spaces.
func headerName(s string, limit int) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > limit:
		return fmt.Sprintf("is longer than %d bytes", limit)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "must be printable ASCII without spaces"
		}
	}
	return ""
}

// sdName checks an SD-ID or PARAM-NAME (RFC 5424 6.3.3).
func sdName(s string) string {
	if msg := headerName(s, maxSDName); msg != "" {
		return msg
	}
	if strings.ContainsAny(s, `= ]"`) {
		return `must not contain '=', ']' or '"'`
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
