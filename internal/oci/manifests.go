package oci

import (
	_ "crypto/sha512" // registers sha384/sha512 for go-digest
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxManifestSize is the largest manifest accepted (ACR's limit, 4 MiB).
const maxManifestSize = 4 << 20

// Manifest media types the data plane accepts.
const (
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// manifestDoc is the union of the fields Bulkhead reads from image
// manifests and indexes (OCI and Docker schema 2).
type manifestDoc struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType"`
	Config        *ocispec.Descriptor  `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Manifests     []ocispec.Descriptor `json:"manifests"`
	Subject       *ocispec.Descriptor  `json:"subject"`
	Annotations   map[string]string    `json:"annotations"`
}

func isIndex(mt string) bool { return mt == ocispec.MediaTypeImageIndex || mt == mediaTypeDockerList }

// parseManifest validates body as a manifest of the given Content-Type and
// returns the document with MediaType settled.
func parseManifest(contentType string, body []byte) (manifestDoc, error) {
	var m manifestDoc
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fail(codeManifestInvalid, "manifest is not valid JSON: "+err.Error(), errdef.ErrInvalidArgument)
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	switch {
	case m.MediaType != "" && ct != "" && ct != m.MediaType:
		return m, fail(codeManifestInvalid, fmt.Sprintf("Content-Type %q does not match the manifest's mediaType %q", ct, m.MediaType), errdef.ErrInvalidArgument)
	case m.MediaType == "" && ct != "":
		m.MediaType = ct
	case m.MediaType == "" && m.Manifests != nil:
		m.MediaType = ocispec.MediaTypeImageIndex
	case m.MediaType == "":
		m.MediaType = ocispec.MediaTypeImageManifest
	}
	if m.SchemaVersion != 2 {
		return m, fail(codeManifestInvalid, "schemaVersion must be 2", errdef.ErrInvalidArgument)
	}
	switch m.MediaType {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
		if m.Config == nil {
			return m, fail(codeManifestInvalid, "image manifest has no config", errdef.ErrInvalidArgument)
		}
		// The referrers API reports config.mediaType when artifactType
		// is absent (spec: "Listing Referrers").
		if m.ArtifactType == "" {
			m.ArtifactType = m.Config.MediaType
		}
	case ocispec.MediaTypeImageIndex, mediaTypeDockerList:
	default:
		return m, fail(codeManifestInvalid, fmt.Sprintf("unsupported manifest media type %q", m.MediaType), errdef.ErrInvalidArgument)
	}
	for _, d := range m.references() {
		if d.Digest.Validate() != nil || d.Size < 0 {
			return m, fail(codeManifestInvalid, fmt.Sprintf("invalid descriptor %q", d.Digest), errdef.ErrInvalidArgument)
		}
	}
	if m.Subject != nil && m.Subject.Digest.Validate() != nil {
		return m, fail(codeManifestInvalid, "invalid subject descriptor", errdef.ErrInvalidArgument)
	}
	return m, nil
}

// references lists the descriptors that must exist before the manifest.
func (m manifestDoc) references() []ocispec.Descriptor {
	var out []ocispec.Descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	out = append(out, m.Layers...)
	return append(out, m.Manifests...)
}

// nonDistributable reports a layer whose bytes live elsewhere: the
// registry does not require them to be pushed.
func nonDistributable(d ocispec.Descriptor) bool {
	return len(d.URLs) > 0 || strings.Contains(d.MediaType, ".nondistributable.") || strings.Contains(d.MediaType, ".foreign.")
}

// manifest serves /v2/<name>/manifests/<reference> (spec: "Pulling
// manifests", "Pushing manifests", "Deleting manifests").
func (s *Service) manifest(w http.ResponseWriter, r *http.Request, c *call) error {
	ref := c.req.ref
	var dg digest.Digest
	if strings.Contains(ref, ":") {
		d, err := parseDigest(ref)
		if err != nil {
			return err
		}
		dg = d
	} else if !reference.ValidTag(ref) {
		return fail(codeManifestInvalid, fmt.Sprintf("invalid tag %q", ref), errdef.ErrInvalidArgument)
	}
	switch r.Method {
	case http.MethodPut:
		return s.putManifest(w, r, c, ref, dg)
	case http.MethodDelete:
		return s.deleteManifest(w, r, c, ref, dg)
	}
	var m meta.Manifest
	err := s.meta.View(r.Context(), func(tx meta.Tx) error {
		d := dg
		if d == "" {
			var err error
			if d, err = tx.Tag(c.reg.Key, c.req.repo, ref); err != nil {
				return err
			}
		}
		var err error
		m, err = tx.GetManifest(c.reg.Key, c.req.repo, d)
		return err
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return fail(codeManifestUnknown, fmt.Sprintf("manifest %s not found", ref), err)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", m.Digest.String())
	h.Set("ETag", `"`+m.Digest.String()+`"`)
	h.Set("Content-Length", strconv.Itoa(len(m.Content)))
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, m.Digest.String()) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if r.Method == http.MethodHead {
		return nil
	}
	w.Write(m.Content)
	return nil
}

func (s *Service) putManifest(w http.ResponseWriter, r *http.Request, c *call, ref string, dg digest.Digest) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
	if err != nil {
		return fail(codeManifestInvalid, "reading the manifest failed", err)
	}
	if len(body) > maxManifestSize {
		return withStatus(fail(codeSizeInvalid, "manifest exceeds the 4 MiB limit", errdef.ErrTooLarge), http.StatusRequestEntityTooLarge)
	}
	m, err := parseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	alg := digest.Canonical
	if dg != "" {
		alg = dg.Algorithm()
	}
	if !alg.Available() {
		return fail(codeDigestInvalid, fmt.Sprintf("unsupported digest algorithm %q", alg), errdef.ErrInvalidArgument)
	}
	d := alg.FromBytes(body)
	if dg != "" && d != dg {
		return fail(codeDigestInvalid, fmt.Sprintf("manifest digest %s does not match reference %s", d, dg), errdef.ErrInvalidArgument)
	}
	row := meta.Manifest{RegistryKey: c.reg.Key, Repository: c.req.repo, Digest: d, MediaType: m.MediaType, Size: int64(len(body)),
		ArtifactType: m.ArtifactType, Annotations: m.Annotations, Content: body, CreatedAt: time.Now().UTC()}
	if m.Subject != nil {
		row.Subject = m.Subject.Digest
	}
	err = s.meta.Update(r.Context(), func(tx meta.Tx) error {
		for _, ref := range m.references() {
			if nonDistributable(ref) {
				continue
			}
			var err error
			if isIndex(m.MediaType) {
				_, err = tx.GetManifest(c.reg.Key, c.req.repo, ref.Digest)
			} else {
				_, err = tx.BlobLink(c.reg.Key, c.req.repo, ref.Digest)
			}
			if errors.Is(err, errdef.ErrNotFound) {
				return fail(codeManifestBlobUnknown, fmt.Sprintf("manifest references %s, which is not in the repository", ref.Digest), err)
			}
			if err != nil {
				return err
			}
		}
		if err := tx.PutManifest(row); err != nil {
			return err
		}
		if dg == "" {
			return tx.PutTag(c.reg.Key, c.req.repo, ref, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", "/v2/"+c.name()+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	if m.Subject != nil {
		h.Set("OCI-Subject", m.Subject.Digest.String())
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Service) deleteManifest(w http.ResponseWriter, r *http.Request, c *call, ref string, dg digest.Digest) error {
	err := s.meta.Update(r.Context(), func(tx meta.Tx) error {
		if dg == "" {
			return tx.DeleteTag(c.reg.Key, c.req.repo, ref)
		}
		return tx.DeleteManifest(c.reg.Key, c.req.repo, dg)
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return fail(codeManifestUnknown, fmt.Sprintf("manifest %s not found", ref), err)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
