package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize is the largest manifest a transfer accepts (ACR's limit).
const MaxManifestSize = 4 << 20

const (
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// Manifest is a manifest or index that arrived from outside a registry
// (an archive, a remote registry), validated, with what it references.
type Manifest struct {
	// Row is the manifest as a registry stores it, without registry,
	// repository and time.
	Row meta.Manifest
	// Children are an index's manifests.
	Children []ocispec.Descriptor
	// Blobs are an image manifest's config and layers.
	Blobs []ocispec.Descriptor
}

// IsIndex reports an index (OCI or Docker manifest list).
func (m Manifest) IsIndex() bool {
	return m.Row.MediaType == ocispec.MediaTypeImageIndex || m.Row.MediaType == mediaTypeDockerList
}

// ParseManifest validates body as a manifest or index whose digest is d
// (with d's algorithm). mediaType is what the referring descriptor or the
// Content-Type said (parameters allowed), used when the body does not
// say. Errors wrap errdef.ErrInvalidArgument and never quote the body.
func ParseManifest(d digest.Digest, mediaType string, body []byte) (Manifest, error) {
	var pm Manifest
	bad := func(format string, args ...any) (Manifest, error) {
		return pm, fmt.Errorf("the manifest %s "+format+": %w", append(append([]any{d}, args...), errdef.ErrInvalidArgument)...)
	}
	if len(body) > MaxManifestSize {
		return bad("is larger than %d bytes", MaxManifestSize)
	}
	if !d.Algorithm().Available() || d.Algorithm().FromBytes(body) != d {
		return bad("does not match its digest")
	}
	var m struct {
		SchemaVersion int                  `json:"schemaVersion"`
		MediaType     string               `json:"mediaType"`
		ArtifactType  string               `json:"artifactType"`
		Config        *ocispec.Descriptor  `json:"config"`
		Layers        []ocispec.Descriptor `json:"layers"`
		Manifests     []ocispec.Descriptor `json:"manifests"`
		Subject       *ocispec.Descriptor  `json:"subject"`
		Annotations   map[string]string    `json:"annotations"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return bad("is not valid JSON")
	}
	hint, _, _ := strings.Cut(mediaType, ";")
	hint = strings.TrimSpace(hint)
	switch {
	case m.MediaType == "" && isManifestType(hint):
		m.MediaType = hint
	case m.MediaType == "" && m.Manifests != nil:
		m.MediaType = ocispec.MediaTypeImageIndex
	case m.MediaType == "":
		m.MediaType = ocispec.MediaTypeImageManifest
	}
	if m.SchemaVersion != 2 {
		return bad("has schemaVersion %d; only schema 2 manifests (OCI or Docker v2) can be copied", m.SchemaVersion)
	}
	switch m.MediaType {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
		if m.Config == nil {
			return bad("is an image manifest without a config")
		}
		if m.ArtifactType == "" {
			m.ArtifactType = m.Config.MediaType
		}
		pm.Blobs = append(append(pm.Blobs, *m.Config), m.Layers...)
	case ocispec.MediaTypeImageIndex, mediaTypeDockerList:
		pm.Children = m.Manifests
	default:
		mt := m.MediaType
		if len(mt) > 100 {
			mt = mt[:100] + "…"
		}
		return bad("has the unsupported media type %q", mt)
	}
	for _, r := range append(append([]ocispec.Descriptor(nil), pm.Blobs...), pm.Children...) {
		if r.Digest.Validate() != nil || r.Size < 0 {
			return bad("has an invalid descriptor")
		}
	}
	pm.Row = meta.Manifest{Digest: d, MediaType: m.MediaType, Size: int64(len(body)), ArtifactType: m.ArtifactType,
		Annotations: m.Annotations, Content: body}
	if m.Subject != nil {
		if m.Subject.Digest.Validate() != nil {
			return bad("has an invalid subject")
		}
		pm.Row.Subject = m.Subject.Digest
	}
	return pm, nil
}

func isManifestType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest, ocispec.MediaTypeImageIndex, mediaTypeDockerList:
		return true
	}
	return false
}

// foreign reports a layer whose bytes live elsewhere; registries do not
// hold them.
func foreign(d ocispec.Descriptor) bool { return len(d.URLs) > 0 || nondistributable(d.MediaType) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
