package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
)

// copyBody streams an upload body into the store through a pooled 1 MiB
// buffer (large writes keep syscalls and hashing efficient). A body that
// cannot be read is the client's problem (BLOB_UPLOAD_INVALID); a store
// that cannot write is the server's, and its error is returned as it is,
// so that a full disk answers 503 and not 400.
func (s *Service) copyBody(dst io.Writer, src io.Reader) (int64, error) {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 1<<20)
		bp = &b
	}
	defer s.bufs.Put(bp)
	body := &bodyReader{r: src}
	n, err := io.CopyBuffer(dst, body, *bp)
	if err != nil && body.err != nil {
		return n, fail(codeBlobUploadInvalid, "reading the request body failed", err)
	}
	return n, err
}

// bodyReader remembers the error reading a request body failed with, to
// tell it from an error writing the bytes.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// dropIfFull removes upload id, its bytes and its row, when err says the
// storage is full, and returns err. A full disk must free what it can: the
// partial upload would otherwise hold its space until the upload TTL, and
// the client, told 503, starts a new upload when it retries. Other
// failures keep the session, so that the client may resume it. wr, when
// not nil, is closed first, since the store cannot abort an open upload.
func (s *Service) dropIfFull(ctx context.Context, id string, wr content.Writer, err error) error {
	if !errors.Is(err, errdef.ErrInsufficientStorage) {
		return err
	}
	ctx = context.WithoutCancel(ctx) // a client that hung up must not keep the bytes
	if wr != nil {
		wr.Close()
	}
	if aerr := s.blobs.Abort(ctx, id); aerr != nil {
		s.log.WarnContext(ctx, "removing an upload that failed on a full disk", "upload", id, "err", aerr)
	}
	if derr := s.meta.Update(ctx, func(tx meta.Tx) error { return tx.DeleteUpload(id) }); derr != nil && !errors.Is(derr, errdef.ErrNotFound) {
		s.log.WarnContext(ctx, "removing the row of an upload that failed on a full disk", "upload", id, "err", derr)
	}
	return err
}

// uploadLocation is the upload URL. It carries the upload id in the path
// only (no query), so stock clients and load tools that drop the query
// string still work; the id alone finds the state in meta, which survives
// a restart.
func uploadLocation(c *call, id string) string {
	return "/v2/" + c.name() + "/blobs/uploads/" + id
}

func blobLocation(c *call, d digest.Digest) string {
	return "/v2/" + c.name() + "/blobs/" + d.String()
}

// startUpload serves POST /v2/<name>/blobs/uploads/: a mount, a monolithic
// upload with ?digest=, or the start of a session (spec: "Pushing blobs").
func (s *Service) startUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, err := parseDigest(m)
		if err != nil {
			return err
		}
		if ok, err := s.mount(r, c, d, q.Get("from")); err != nil {
			return err
		} else if ok {
			w.Header().Set("Location", blobLocation(c, d))
			w.Header().Set("Docker-Content-Digest", d.String())
			w.WriteHeader(http.StatusCreated)
			return nil
		}
		// Not mountable: answer with a fresh upload session (202), as the
		// spec allows; never reveal whether the blob exists elsewhere.
	} else if dg := q.Get("digest"); dg != "" {
		d, err := parseDigest(dg)
		if err != nil {
			return err
		}
		if err := s.putMonolithic(r, c, d); err != nil {
			return err
		}
		w.Header().Set("Location", blobLocation(c, d))
		w.Header().Set("Docker-Content-Digest", d.String())
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	now := time.Now().UTC()
	u := meta.Upload{ID: uuid.NewString(), RegistryKey: c.reg.Key, Repository: c.req.repo, StartedAt: now, UpdatedAt: now}
	if err := s.meta.Update(r.Context(), func(tx meta.Tx) error { return tx.PutUpload(u) }); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", uploadLocation(c, u.ID))
	h.Set("Docker-Upload-UUID", u.ID)
	h.Set("Range", "0-0")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// mount links d into the target repository when from names a repository
// that holds it and the caller may pull from there. Within one registry
// that is a plain link. From another registry it is an egress channel: the
// gate decides, and refuses it by construction (DESIGN.md rule 2), so the
// client gets a fresh upload (202); only with the gate's permit could
// transfer.Mount link across.
func (s *Service) mount(r *http.Request, c *call, d digest.Digest, from string) (bool, error) {
	if from == "" {
		return false, nil
	}
	fq, err := parsePath("/v2/"+from+"/tags/list", c.req.registry, c.hostMode)
	if err != nil {
		return false, nil
	}
	if fq.registry != c.req.registry {
		return s.mountAcross(r, c, d, fq)
	}
	if s.allowed(r, c, c.reg, fq.repo, fq.name(c.hostMode), "pull") != nil {
		return false, nil
	}
	err = s.meta.Update(r.Context(), func(tx meta.Tx) error {
		l, err := tx.BlobLink(c.reg.Key, fq.repo, d)
		if err != nil {
			return err
		}
		l.Repository, l.CreatedAt = c.req.repo, time.Now().UTC()
		return tx.LinkBlob(l)
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// mountAcross asks the gate for a mount out of another registry and obeys
// its answer. Any refusal, an unknown source or a caller who may not pull
// there is a fresh upload, so the answer never reveals what the other
// registry holds.
func (s *Service) mountAcross(r *http.Request, c *call, d digest.Digest, fq request) (bool, error) {
	var src meta.Registry
	var permit egress.Permit
	err := s.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		if src, err = tx.RegistryByName(fq.registry); err != nil {
			return err
		}
		permit, err = egress.Check(egress.Source{Key: src.Key, Name: src.Name}, egress.ChannelCrossRegistryMount)
		return err
	})
	if err != nil {
		s.log.DebugContext(r.Context(), "cross-registry mount refused", "from", fq.registry, "to", c.req.registry, "reason", err)
		return false, nil
	}
	if s.allowed(r, c, src, fq.repo, fq.name(c.hostMode), "pull") != nil {
		return false, nil
	}
	err = s.meta.Update(r.Context(), func(tx meta.Tx) error {
		return transfer.Mount(tx, permit, transfer.MountRequest{Source: src, Target: c.reg, SourceRepo: fq.repo, TargetRepo: c.req.repo,
			Digest: d, Now: time.Now().UTC()})
	})
	if err != nil {
		return false, nil
	}
	return true, nil
}

// putMonolithic streams a whole blob from the request body.
func (s *Service) putMonolithic(r *http.Request, c *call, d digest.Digest) error {
	ref := uuid.NewString()
	wr, err := s.blobs.Writer(r.Context(), ref)
	if err != nil {
		return err
	}
	// A monolithic upload has no session to resume: whatever fails, its
	// bytes go.
	ctx := context.WithoutCancel(r.Context())
	if _, err := s.copyBody(wr, r.Body); err != nil {
		wr.Close()
		s.blobs.Abort(ctx, ref)
		return err
	}
	size := wr.Size()
	if err := s.commit(r, c, wr, r.ContentLength, d); err != nil {
		s.blobs.Abort(ctx, ref)
		return err
	}
	return s.meta.Update(r.Context(), func(tx meta.Tx) error {
		return tx.LinkBlob(meta.BlobLink{RegistryKey: c.reg.Key, Repository: c.req.repo, Digest: d, Size: size, CreatedAt: time.Now().UTC()})
	})
}

// commit verifies and stores the writer's bytes; the blob is linked by the
// caller afterwards, so a crash in between leaves only unreferenced bytes.
func (s *Service) commit(r *http.Request, c *call, wr content.Writer, size int64, d digest.Digest) error {
	if err := wr.Commit(r.Context(), size, d); err != nil {
		if errors.Is(err, errdef.ErrInvalidArgument) {
			return fail(codeDigestInvalid, "provided digest did not match uploaded content", err)
		}
		return err
	}
	return nil
}

// upload serves GET, PATCH, PUT and DELETE of an upload session.
func (s *Service) upload(w http.ResponseWriter, r *http.Request, c *call) error {
	var u meta.Upload
	err := s.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		u, err = tx.GetUpload(c.req.ref)
		return err
	})
	if errors.Is(err, errdef.ErrNotFound) || err == nil && (u.RegistryKey != c.reg.Key || u.Repository != c.req.repo || time.Since(u.UpdatedAt) > s.uploadTTL) {
		return fail(codeBlobUploadUnknown, "blob upload unknown to registry", errdef.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if r.Method == http.MethodDelete {
		if err := s.blobs.Abort(r.Context(), u.ID); err != nil {
			return err
		}
		if err := s.meta.Update(r.Context(), func(tx meta.Tx) error { return tx.DeleteUpload(u.ID) }); err != nil && !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	var d digest.Digest
	if r.Method == http.MethodPut {
		if d, err = parseDigest(r.URL.Query().Get("digest")); err != nil {
			return err
		}
	}
	wr, err := s.blobs.Writer(r.Context(), u.ID)
	if errors.Is(err, errdef.ErrConflict) {
		return fail(codeBlobUploadInvalid, "another request is writing to this upload", err)
	}
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			wr.Close()
		}
	}()
	if r.Method == http.MethodGet {
		setUploadHeaders(w, c, u.ID, wr.Size())
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if cr := r.Header.Get("Content-Range"); cr != "" {
		start, end, ok := parseContentRange(cr)
		if !ok || start != wr.Size() || (r.ContentLength >= 0 && end-start+1 != r.ContentLength) {
			setUploadHeaders(w, c, u.ID, wr.Size())
			return fail(codeRangeInvalid, fmt.Sprintf("content range %q does not continue the upload at offset %d", cr, wr.Size()))
		}
	}
	if _, err := s.copyBody(wr, r.Body); err != nil {
		closed = errors.Is(err, errdef.ErrInsufficientStorage)
		return s.dropIfFull(r.Context(), u.ID, wr, err)
	}
	if r.Method == http.MethodPatch {
		size := wr.Size()
		closed = true
		if err := wr.Close(); err != nil {
			return s.dropIfFull(r.Context(), u.ID, nil, err)
		}
		u.UpdatedAt = time.Now().UTC()
		if err := s.meta.Update(r.Context(), func(tx meta.Tx) error { return tx.PutUpload(u) }); err != nil {
			return s.dropIfFull(r.Context(), u.ID, nil, err)
		}
		setUploadHeaders(w, c, u.ID, size)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	size := wr.Size()
	closed = true
	if err := s.commit(r, c, wr, -1, d); err != nil {
		return s.dropIfFull(r.Context(), u.ID, nil, err)
	}
	err = s.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := tx.LinkBlob(meta.BlobLink{RegistryKey: c.reg.Key, Repository: c.req.repo, Digest: d, Size: size, CreatedAt: time.Now().UTC()}); err != nil {
			return err
		}
		return tx.DeleteUpload(u.ID)
	})
	if err != nil {
		// The bytes are stored but not linked: garbage collection takes
		// them. On a full disk the session goes too.
		return s.dropIfFull(r.Context(), u.ID, nil, err)
	}
	w.Header().Set("Location", blobLocation(c, d))
	w.Header().Set("Docker-Content-Digest", d.String())
	w.WriteHeader(http.StatusCreated)
	return nil
}

func setUploadHeaders(w http.ResponseWriter, c *call, id string, size int64) {
	end := size - 1
	if end < 0 {
		end = 0
	}
	h := w.Header()
	h.Set("Location", uploadLocation(c, id))
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", fmt.Sprintf("0-%d", end))
	h.Set("Content-Length", "0")
}

// parseContentRange accepts "start-end" (distribution-spec) and
// "bytes start-end/total" (RFC 9110 style, sent by some clients).
func parseContentRange(v string) (start, end int64, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "bytes ")
	v, _, _ = strings.Cut(v, "/")
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// SweepUploads removes uploads untouched for longer than the upload TTL:
// their rows and their partial bytes, including partial bytes whose row was
// lost. It is safe to run while the registry serves.
func (s *Service) SweepUploads(ctx context.Context) {
	cutoff := time.Now().Add(-s.uploadTTL)
	for {
		var stale []meta.Upload
		if err := s.meta.View(ctx, func(tx meta.Tx) (err error) {
			stale, err = tx.StaleUploads(cutoff, 500)
			return err
		}); err != nil {
			s.log.WarnContext(ctx, "listing stale uploads", "err", err)
			return
		}
		for _, u := range stale {
			if err := s.blobs.Abort(ctx, u.ID); err != nil {
				s.log.WarnContext(ctx, "aborting stale upload", "upload", u.ID, "err", err)
			}
			s.meta.Update(ctx, func(tx meta.Tx) error { return tx.DeleteUpload(u.ID) })
		}
		if len(stale) < 500 {
			break
		}
	}
	if sw, ok := s.blobs.(content.Sweeper); ok {
		if n, err := sw.SweepUploads(ctx, cutoff); err != nil {
			s.log.WarnContext(ctx, "sweeping upload files", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "removed abandoned uploads", "count", n)
		}
	}
}
