package oci

import (
	"encoding/json"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// referrers serves GET /v2/<name>/referrers/<digest> (spec: "Listing
// Referrers"): an image index of the manifests whose subject is the digest,
// filtered by ?artifactType=. The subject itself need not exist.
func (s *Service) referrers(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := parseDigest(c.req.ref)
	if err != nil {
		return err
	}
	at := r.URL.Query().Get("artifactType")
	var rows []meta.Manifest
	if err := s.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		rows, err = tx.Referrers(c.reg.Key, c.req.repo, d, at)
		return err
	}); err != nil {
		return err
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: make([]ocispec.Descriptor, 0, len(rows))}
	idx.SchemaVersion = 2
	for _, m := range rows {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{
			MediaType: m.MediaType, Digest: m.Digest, Size: m.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations,
		})
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	return json.NewEncoder(w).Encode(idx)
}
