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

// parsedManifest is a manifest or index that arrived from outside a
// registry (an archive), with what it references.
type parsedManifest struct {
	row      meta.Manifest // without registry, repository and time
	children []digest.Digest
	blobs    []ocispec.Descriptor // config and layers
}

// parseManifest validates body as a manifest or index whose digest is d.
// mediaType is what the referring descriptor said, used when the body
// does not say.
func parseManifest(d digest.Digest, mediaType string, body []byte) (parsedManifest, error) {
	var pm parsedManifest
	bad := func(format string, args ...any) (parsedManifest, error) {
		return pm, fmt.Errorf("manifest %s: "+format+": %w", append(append([]any{d}, args...), errdef.ErrInvalidArgument)...)
	}
	if len(body) > MaxManifestSize {
		return bad("larger than %d bytes", MaxManifestSize)
	}
	if d.Algorithm().FromBytes(body) != d {
		return bad("the bytes do not match the digest")
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
		return bad("not valid JSON: %v", err)
	}
	if m.SchemaVersion != 2 {
		return bad("schemaVersion must be 2")
	}
	if m.MediaType == "" {
		m.MediaType = mediaType
	}
	if m.MediaType == "" {
		m.MediaType = ocispec.MediaTypeImageManifest
		if m.Manifests != nil {
			m.MediaType = ocispec.MediaTypeImageIndex
		}
	}
	switch m.MediaType {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
		if m.Config == nil {
			return bad("an image manifest needs a config")
		}
		if m.ArtifactType == "" {
			m.ArtifactType = m.Config.MediaType
		}
		pm.blobs = append(append(pm.blobs, *m.Config), m.Layers...)
	case ocispec.MediaTypeImageIndex, mediaTypeDockerList:
		for _, c := range m.Manifests {
			pm.children = append(pm.children, c.Digest)
		}
	default:
		return bad("unsupported media type %q", m.MediaType)
	}
	for _, r := range append(append([]ocispec.Descriptor(nil), pm.blobs...), m.Manifests...) {
		if r.Digest.Validate() != nil || r.Size < 0 {
			return bad("invalid descriptor %q", r.Digest)
		}
	}
	pm.row = meta.Manifest{Digest: d, MediaType: m.MediaType, Size: int64(len(body)), ArtifactType: m.ArtifactType,
		Annotations: m.Annotations, Content: body}
	if m.Subject != nil {
		if m.Subject.Digest.Validate() != nil {
			return bad("invalid subject")
		}
		pm.row.Subject = m.Subject.Digest
	}
	return pm, nil
}

// foreign reports a layer whose bytes live elsewhere; registries do not
// hold them.
func foreign(d ocispec.Descriptor) bool {
	return len(d.URLs) > 0 || strings.Contains(d.MediaType, "nondistributable") || strings.Contains(d.MediaType, "foreign")
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
