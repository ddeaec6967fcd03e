package tlsfiles

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Client is the `tls:` block of a sink that connects as a TLS client (over HTTPS, or a stream
// such as syslog's).
type Client struct {
	CAFile             string `yaml:"ca_file"`   // PEM CAs trusted instead of the system's
	CertFile           string `yaml:"cert_file"` // PEM client certificate, for mutual TLS
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // for tests only
	// ServerName is the name checked in the server's certificate and sent as SNI; empty, the
	// host being dialled.
	ServerName string `yaml:"server_name"`
}

// Config builds the client settings, reading the files; on failure it also names the option at
// fault. A nil block gives the defaults: the system's roots, TLS 1.2 at least.
func (c *Client) Config() (*tls.Config, string, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c == nil {
		return cfg, "", nil
	}
	cfg.InsecureSkipVerify, cfg.ServerName = c.InsecureSkipVerify, c.ServerName
	if c.CAFile != "" {
		pool, err := LoadCAs(c.CAFile)
		if err != nil {
			return nil, "tls.ca_file", err
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" && c.KeyFile != "" {
		cert, key, err := LoadKeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, key, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, "", nil
}

// Check reports the block's mistakes to add, for a sink's Validate: a certificate without its
// key (or the reverse) and files that cannot be read.
func (c *Client) Check(add func(key, msg string)) {
	if (c.CertFile == "") != (c.KeyFile == "") {
		add("tls", "cert_file and key_file go together")
	}
	if _, key, err := c.Config(); err != nil {
		add(key, err.Error())
	}
}

// Transport builds an HTTP transport with the block's TLS settings: proxies from the
// environment, dials and handshakes bounded by timeout, HTTP/2 when the server offers it, and
// up to perHost idle connections to each of hosts hosts, kept 90s. Its error names the option
// at fault, such as "tls.ca_file: open ...".
func (c *Client) Transport(timeout time.Duration, hosts, perHost int) (*http.Transport, error) {
	cfg, key, err := c.Config()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: min(timeout, 10*time.Second),
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        hosts * perHost,
		MaxIdleConnsPerHost: perHost,
		IdleConnTimeout:     90 * time.Second,
	}, nil
}

// Pool is a sink's HTTP transport: Open builds it from the sink's TLS block at Connect,
// dropping the idle connections of any earlier one, and Close drops its idle connections so
// that a later request dials again. The zero Pool has no transport yet (Transport is nil).
type Pool struct{ *http.Transport }

// Open builds the transport as Client.Transport does and puts it in place of the old one.
func (p *Pool) Open(c *Client, timeout time.Duration, hosts, perHost int) error {
	tr, err := c.Transport(timeout, hosts, perHost)
	if err != nil {
		return err
	}
	p.Close()
	p.Transport = tr
	return nil
}

// Close drops the idle connections; it is safe without Open and safe twice.
func (p *Pool) Close() {
	if p.Transport != nil {
		p.Transport.CloseIdleConnections()
	}
}
