package testpki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/sinks/internal/helpertest"
)

// handshake runs a TLS server with cfg on a loopback port (a real socket, standing for any
// TLS server a sink dials), dials it with client, and returns the common name of the
// certificate the server saw and the client's error.
func handshake(t *testing.T, cfg, client *tls.Config) (peer string, err error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			seen <- ""
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil {
			seen <- ""
			return
		}
		peer := ""
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			peer = certs[0].Subject.CommonName
		}
		seen <- peer
		tc.Write([]byte{1}) // for the client's read
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		// TLS 1.3 reports a refused client certificate on the first read.
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	return <-seen, err
}

// clientConfig builds a client's config from the PEM files alone, as a sink's tls block does.
func clientConfig(t *testing.T, caFile string, pair *Pair) *tls.Config {
	t.Helper()
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: x509.NewCertPool()}
	if !cfg.RootCAs.AppendCertsFromPEM(pemCA) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	if pair != nil {
		cert, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// TestMutualTLS: a client trusting the CA file and presenting a client certificate from its
// files completes a handshake with a server that requires one, verified by IP and by name; a client of
// another CA is refused by the server, and a client trusting another CA refuses the server.
func TestMutualTLS(t *testing.T) {
	ca, other := New(t), New(t)
	client := ca.Client(t)
	srv := ca.ServerConfig(t, tls.RequireAndVerifyClientCert)
	for _, name := range []string{"127.0.0.1", "localhost"} {
		cfg := clientConfig(t, ca.CertFile, &client)
		cfg.ServerName = name
		peer, err := handshake(t, srv, cfg)
		if err != nil || peer != ClientName {
			t.Fatalf("%s: err %v, server saw %q", name, err, peer)
		}
	}

	stranger := other.Client(t)
	if peer, err := handshake(t, srv, clientConfig(t, ca.CertFile, &stranger)); err == nil || peer != "" {
		t.Fatalf("a client of another CA: err %v, server saw %q", err, peer)
	}
	_, err := handshake(t, srv, clientConfig(t, other.CertFile, &client))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("trusting another CA: %v, want an unknown authority error", err)
	}
}

// TestServerConfig: without client authentication the server asks for no certificate and has
// no client CAs.
func TestServerConfig(t *testing.T) {
	ca := New(t)
	srv := ca.ServerConfig(t, tls.NoClientCert)
	if srv.ClientCAs != nil || len(srv.Certificates) != 1 || srv.Certificates[0].Leaf.Subject.CommonName != "localhost" {
		t.Fatalf("server config %+v", srv)
	}
	cfg := clientConfig(t, ca.CertFile, nil)
	cfg.ServerName = "localhost"
	if peer, err := handshake(t, srv, cfg); err != nil || peer != "" {
		t.Fatalf("err %v, peer %q", err, peer)
	}
}

// TestCertFile writes a certificate made elsewhere as PEM.
func TestCertFile(t *testing.T) {
	leaf := New(t).Server(t).TLS.Leaf
	b, err := os.ReadFile(CertFile(t, leaf))
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(b); block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, leaf.Raw) {
		t.Fatalf("file holds %q", b)
	}
}

// goneTemp is a test whose TempDir does not exist.
type goneTemp struct {
	testing.TB
	dir string
}

func (g goneTemp) TempDir() string { return g.dir }

// TestWriteFailure: a file that cannot be written ends the test, naming the file.
func TestWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	r := helpertest.Fails(t, func(tb testing.TB) { New(goneTemp{tb, dir}) })
	if !strings.Contains(r.Msg, filepath.Join(dir, "ca.pem")) {
		t.Fatalf("Fatal(%q)", r.Msg)
	}
}
