package oci

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
)

// parseDigest validates a digest from a path or query.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fail(codeDigestInvalid, fmt.Sprintf("invalid digest %q", s), errdef.ErrInvalidArgument)
	}
	return d, nil
}

// blob serves GET, HEAD and DELETE of /v2/<name>/blobs/<digest>
// (spec: "Pulling blobs", "Deleting blobs"). A blob is visible only through
// this repository's link row, whatever is on disk (DESIGN.md rule 2).
func (s *Service) blob(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := parseDigest(c.req.ref)
	if err != nil {
		return err
	}
	if r.Method == http.MethodDelete {
		err := s.meta.Update(r.Context(), func(tx meta.Tx) error {
			return tx.UnlinkBlob(c.reg.Key, c.req.repo, d)
		})
		if errors.Is(err, errdef.ErrNotFound) {
			return fail(codeBlobUnknown, "blob unknown to repository", err)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	err = s.meta.View(r.Context(), func(tx meta.Tx) error {
		_, err := tx.BlobLink(c.reg.Key, c.req.repo, d)
		return err
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return fail(codeBlobUnknown, "blob unknown to repository", err)
	}
	if err != nil {
		return err
	}
	f, _, err := s.blobs.Open(r.Context(), d)
	if errors.Is(err, errdef.ErrNotFound) {
		return fail(codeBlobUnknown, "blob unknown to repository", err)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	// ServeContent handles HEAD, Range and 416; given an *os.File it lets
	// the kernel sendfile the bytes.
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}
