package decode

import (
	"errors"
	"syscall"
	"testing"

	"github.com/ingestd/ingestd/core/apierr"
)

// TestScanHugeBody checks the guard that keeps int32 spans exact. The 2 GiB body is an
// anonymous mapping that is never touched, so it costs no memory.
func TestScanHugeBody(t *testing.T) {
	body, err := syscall.Mmap(-1, 0, 1<<31, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		t.Skipf("cannot map 2 GiB: %v", err)
	}
	defer func() { _ = syscall.Munmap(body) }()
	var s Scanner
	err = s.Scan(body, JSON, Limits{})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.PayloadTooLarge || ae.Detail != "the body is larger than 2 GiB" {
		t.Fatalf("Scan of 2 GiB = %v", err)
	}
}
