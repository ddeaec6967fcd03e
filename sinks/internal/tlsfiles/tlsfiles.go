// Package tlsfiles reads the CA bundles and client key pairs that sink options name, with the
// messages every sink gives about them.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// LoadCAs reads a PEM bundle of CA certificates.
func LoadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// LoadKeyPair reads a client certificate and its key; on failure it also names the option at
// fault ("tls.cert_file" or "tls.key_file").
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, string, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, "tls.cert_file", err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, "tls.key_file", err
	}
	// X509KeyPair's errors describe the mismatch without quoting the key.
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, "tls.cert_file", fmt.Errorf("%s and %s: %v", certFile, keyFile, err)
	}
	return cert, "", nil
}
