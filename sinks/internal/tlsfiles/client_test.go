package tlsfiles

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPool: Open builds and replaces the transport, a failed Open keeps the one in place, and
// Close is safe before Open and twice.
func TestPool(t *testing.T) {
	var p Pool
	p.Close()
	if err := p.Open(nil, time.Second, 2, 3); err != nil || p.Transport == nil {
		t.Fatalf("Open with the defaults: %v, transport %v", err, p.Transport)
	}
	if p.MaxIdleConns != 6 || p.MaxIdleConnsPerHost != 3 || p.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("transport: %d idle, %d per host, skip verify %v", p.MaxIdleConns, p.MaxIdleConnsPerHost, p.TLSClientConfig.InsecureSkipVerify)
	}
	first := p.Transport
	if err := p.Open(&Client{InsecureSkipVerify: true}, time.Second, 1, 1); err != nil || p.Transport == first || !p.TLSClientConfig.InsecureSkipVerify {
		t.Fatalf("second Open: %v, replaced %v", err, p.Transport != first)
	}
	kept := p.Transport
	err := p.Open(&Client{CAFile: filepath.Join(t.TempDir(), "missing.pem")}, time.Second, 1, 1)
	if err == nil || !strings.HasPrefix(err.Error(), "tls: ") || p.Transport != kept {
		t.Fatalf("Open with a missing CA file: %v, transport kept %v", err, p.Transport == kept)
	}
	p.Close()
	p.Close()
}
