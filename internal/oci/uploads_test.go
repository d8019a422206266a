package oci

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// fullDisk is a store writer on a disk with no space left.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) {
	return 0, fmt.Errorf("%w: write uploads/u1: %w", errdef.ErrInsufficientStorage, syscall.ENOSPC)
}

// copyBody blames whoever failed: a body that cannot be read is the
// client's (400 BLOB_UPLOAD_INVALID), a store that cannot write is the
// server's (503 on a full disk, where it used to be a 400).
func TestCopyBodyBlame(t *testing.T) {
	s := New(Options{})
	_, err := s.copyBody(io.Discard, iotest.ErrReader(errors.New("connection reset by peer")))
	if ae := toAPIError(err); ae.code != codeBlobUploadInvalid || ae.status != http.StatusBadRequest {
		t.Errorf("unreadable body: %d %s, want 400 BLOB_UPLOAD_INVALID", ae.status, ae.code)
	}
	_, err = s.copyBody(fullDisk{}, strings.NewReader("layer bytes"))
	if ae := toAPIError(err); ae.status != http.StatusServiceUnavailable || !errors.Is(err, errdef.ErrInsufficientStorage) {
		t.Errorf("full disk: %d %s, want 503", ae.status, ae.code)
	}
}
