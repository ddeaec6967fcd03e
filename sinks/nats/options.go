package nats

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ingestd/ingestd/core/fieldpath"
	"github.com/ingestd/ingestd/sinks"
)

// Defaults of the options a config may leave out.
const (
	DefaultSubject    = "ingestd.{stream}"
	DefaultMsgIDField = "event_id"
	DefaultMaxPending = 1024
	DefaultAckTimeout = 10 * time.Second
)

// Options is the nats sink's config block.
type Options struct {
	// URL is the server, or a comma-separated list of servers of one cluster:
	// nats://host:port or tls://host:port. Credentials may be given in it (nats://user:pass@host).
	URL string `yaml:"url"`
	// Subject is the subject every event of a batch is published to. {stream} and {stream_id}
	// are replaced by the batch's stream key and stream id.
	Subject string `yaml:"subject"`
	// StreamName, when set, is the JetStream stream the subject must belong to: the server
	// refuses (permanently) a message that another stream would capture.
	StreamName string `yaml:"stream_name"`
	// MsgIDField is a dotted path to a field holding each event's own id, sent as Nats-Msg-Id:
	// by default "event_id", the id ingestd gives every stored event. Set to "", or for an
	// event that lacks the field, the id is the stream id and a hash of the event's line.
	MsgIDField string `yaml:"msg_id_field"`
	// MaxPending bounds the messages published but not yet acknowledged.
	MaxPending int `yaml:"max_pending"`
	// AckTimeout is how long a message may wait for JetStream's acknowledgement.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// Credentials authenticate the connection.
	Credentials *Credentials `yaml:"credentials"`
	// TLS configures tls:// connections (and servers that require TLS).
	TLS *TLS `yaml:"tls"`
}

// Credentials is exactly one way to authenticate.
type Credentials struct {
	CredsFile string `yaml:"creds_file"` // a .creds file: user JWT and nkey seed
	NkeyFile  string `yaml:"nkey_file"`  // a file holding an nkey seed
	User      string `yaml:"user"`
	Password  string `yaml:"password"`
	Token     string `yaml:"token"`
}

// TLS configures the connection's TLS.
type TLS struct {
	CAFile   string `yaml:"ca_file"`   // PEM CAs to trust instead of the system's roots
	CertFile string `yaml:"cert_file"` // PEM client certificate, for mutual TLS ...
	KeyFile  string `yaml:"key_file"`  // ... and its key
}

// NewOptions returns the options with every default in place, ready for YAML decoding.
func NewOptions() *Options {
	return &Options{Subject: DefaultSubject, MsgIDField: DefaultMsgIDField, MaxPending: DefaultMaxPending, AckTimeout: DefaultAckTimeout}
}

// Validate reports every invalid option, keyed by its YAML path. Messages never repeat a
// secret.
func (o *Options) Validate() []sinks.FieldError {
	var errs []sinks.FieldError
	add := func(key, msg string) { errs = append(errs, sinks.FieldError{Key: key, Msg: msg}) }

	if err := checkURLs(o.URL); err != nil {
		add("url", err.Error())
	}
	if err := checkSubject(o.Subject); err != nil {
		add("subject", err.Error())
	}
	if o.StreamName != "" && strings.ContainsAny(o.StreamName, " \t\r\n.*>/\\") {
		add("stream_name", "must not contain whitespace or any of . * > / \\")
	}
	if o.MsgIDField != "" {
		if _, err := fieldpath.Parse(o.MsgIDField); err != nil {
			add("msg_id_field", err.Error())
		}
	}
	if o.MaxPending < 1 {
		add("max_pending", fmt.Sprintf("must be at least 1, such as %d; got %d", DefaultMaxPending, o.MaxPending))
	}
	if o.AckTimeout <= 0 {
		add("ack_timeout", fmt.Sprintf("must be positive, such as %v; got %v", DefaultAckTimeout, o.AckTimeout))
	}
	if c := o.Credentials; c != nil {
		n := 0
		for _, set := range []bool{c.CredsFile != "", c.NkeyFile != "", c.User != "" || c.Password != "", c.Token != ""} {
			if set {
				n++
			}
		}
		switch {
		case n == 0:
			add("credentials", "needs one of creds_file, nkey_file, user and password, or token")
		case n > 1:
			add("credentials", "set only one of creds_file, nkey_file, user and password, or token")
		case c.Password != "" && c.User == "":
			add("credentials.user", "is required with a password")
		}
		checkFile(add, "credentials.creds_file", c.CredsFile)
		checkFile(add, "credentials.nkey_file", c.NkeyFile)
	}
	if t := o.TLS; t != nil {
		checkFile(add, "tls.ca_file", t.CAFile)
		checkFile(add, "tls.cert_file", t.CertFile)
		checkFile(add, "tls.key_file", t.KeyFile)
		switch {
		case t.KeyFile != "" && t.CertFile == "":
			add("tls.key_file", "needs tls.cert_file")
		case t.CertFile != "" && t.KeyFile == "":
			add("tls.cert_file", "needs tls.key_file")
		}
	}
	return errs
}

// checkFile reports a file option naming a file that cannot be read.
func checkFile(add func(key, msg string), key, file string) {
	if file == "" {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		add(key, err.Error())
		return
	}
	f.Close()
}

// checkURLs checks the url option. Its errors do not quote a URL, which may hold credentials.
func checkURLs(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("is required")
	}
	for i, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("server %d is not a valid URL: %v", i+1, err)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("server %d must start with nats://, tls://, ws:// or wss://, not %q", i+1, u.Scheme+":")
		}
		if u.Host == "" {
			return fmt.Errorf("server %d has no host", i+1)
		}
	}
	return nil
}

// checkSubject checks a subject template: literal tokens must be valid subject tokens, and only
// the two placeholders are known.
func checkSubject(tmpl string) error {
	if tmpl == "" {
		return errors.New("is required")
	}
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return errors.New("has a '{' without its '}'")
		}
		if ph := rest[i : i+j+1]; ph != "{stream}" && ph != "{stream_id}" {
			return fmt.Errorf("has unknown placeholder %s: use {stream} or {stream_id}", ph)
		}
		rest = rest[i+j+1:]
	}
	return checkRendered(strings.NewReplacer("{stream}", "s", "{stream_id}", "s").Replace(tmpl))
}

// checkRendered checks a subject a batch publishes to: dot-separated non-empty tokens without
// wildcards or whitespace.
func checkRendered(subject string) error {
	if strings.ContainsAny(subject, " \t\r\n") {
		return fmt.Errorf("subject %q has whitespace", subject)
	}
	for tok := range strings.SplitSeq(subject, ".") {
		switch tok {
		case "":
			return fmt.Errorf("subject %q has an empty token", subject)
		case "*", ">":
			return fmt.Errorf("subject %q has a wildcard: a message goes to one subject", subject)
		}
	}
	return nil
}
