package remote

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types an import copies: OCI and Docker schema 2 images
// and indexes (the data plane accepts the same).
const (
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// manifestDoc is the part of a manifest or index the importer reads.
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

func (m manifestDoc) isIndex() bool {
	return m.MediaType == ocispec.MediaTypeImageIndex || m.MediaType == mediaTypeDockerList
}

// parseManifest validates the bytes of a manifest fetched as d, served
// with Content-Type contentType, and returns the document and the row the
// target will hold (registry, repository and time left for the writer).
// The bytes must hash to d with d's algorithm. Errors wrap
// errdef.ErrInvalidArgument.
func parseManifest(d digest.Digest, contentType string, body []byte) (manifestDoc, meta.Manifest, error) {
	var m manifestDoc
	bad := func(format string, args ...any) (manifestDoc, meta.Manifest, error) {
		return m, meta.Manifest{}, fmt.Errorf("the source manifest %s "+format+": %w", append([]any{d}, append(args, errdef.ErrInvalidArgument)...)...)
	}
	if !d.Algorithm().Available() || d.Algorithm().FromBytes(body) != d {
		return bad("does not match its digest")
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return bad("is not valid JSON")
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	switch {
	case m.MediaType == "" && isManifestType(ct):
		m.MediaType = ct
	case m.MediaType == "" && m.Manifests != nil:
		m.MediaType = ocispec.MediaTypeImageIndex
	case m.MediaType == "":
		m.MediaType = ocispec.MediaTypeImageManifest
	}
	if m.SchemaVersion != 2 {
		return bad("has schemaVersion %d; only schema 2 manifests (OCI or Docker v2) can be imported", m.SchemaVersion)
	}
	switch m.MediaType {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
		if m.Config == nil {
			return bad("is an image manifest without a config")
		}
		if m.ArtifactType == "" {
			m.ArtifactType = m.Config.MediaType
		}
	case ocispec.MediaTypeImageIndex, mediaTypeDockerList:
	default:
		return bad("has the unsupported media type %q", clip(m.MediaType))
	}
	for _, r := range m.references() {
		if r.Digest.Validate() != nil || r.Size < 0 {
			return bad("has an invalid descriptor")
		}
	}
	if m.Subject != nil && m.Subject.Digest.Validate() != nil {
		return bad("has an invalid subject")
	}
	row := meta.Manifest{Digest: d, MediaType: m.MediaType, Size: int64(len(body)), ArtifactType: m.ArtifactType,
		Annotations: m.Annotations, Content: body}
	if m.Subject != nil {
		row.Subject = m.Subject.Digest
	}
	return m, row, nil
}

func (m manifestDoc) references() []ocispec.Descriptor {
	var out []ocispec.Descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	out = append(out, m.Layers...)
	return append(out, m.Manifests...)
}

func isManifestType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest, ocispec.MediaTypeImageIndex, mediaTypeDockerList:
		return true
	}
	return false
}
