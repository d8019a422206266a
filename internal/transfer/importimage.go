// Package transfer moves artifacts between registries: importImage and
// cross-registry blob mounts now, export/import pipelines and their runs
// later. Every entry point runs inside the caller's metadata transaction
// and takes the egress gate's permit for what it moves (DESIGN.md rule 1),
// so a copy and the policy it was allowed under are one atomic step, and a
// caller that never asked the gate has nothing to pass.
package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/reference"
	"github.com/opencontainers/go-digest"
)

// MaxImportManifests is ACR's limit on the manifests one imported image
// may have (an index and its children).
const MaxImportManifests = 50

// Image names an image in a repository, by tag or by digest.
type Image struct {
	Repository string
	Tag        string        // empty when addressed by digest only
	Digest     digest.Digest // empty when addressed by tag only
}

func (i Image) String() string {
	s := i.Repository
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest.String()
	}
	return s
}

// ParseImage reads "repo", "repo:tag", "repo@digest" or "repo:tag@digest".
// A bare repository means its "latest" tag when defaultTag is set.
func ParseImage(s string, defaultTag bool) (Image, error) {
	var img Image
	rest := s
	if at := strings.Index(rest, "@"); at >= 0 {
		d, err := digest.Parse(rest[at+1:])
		if err != nil {
			return img, fmt.Errorf("%q: the digest is not valid: %w", s, errdef.ErrInvalidArgument)
		}
		img.Digest, rest = d, rest[:at]
	}
	if colon := strings.LastIndex(rest, ":"); colon >= 0 && !strings.Contains(rest[colon:], "/") {
		img.Tag, rest = rest[colon+1:], rest[:colon]
		if !reference.ValidTag(img.Tag) {
			return img, fmt.Errorf("%q: the tag is not valid: %w", s, errdef.ErrInvalidArgument)
		}
	}
	if len(rest) > 256 || !reference.ValidRepository(rest) {
		return img, fmt.Errorf("%q: the repository name is not valid (lower-case letters, digits and separators): %w", s, errdef.ErrInvalidArgument)
	}
	img.Repository = rest
	if img.Tag == "" && img.Digest == "" && defaultTag {
		img.Tag = "latest"
	}
	return img, nil
}

// ImportRequest is one importImage, already authorized.
type ImportRequest struct {
	Source, Target meta.Registry
	Image          Image
	// TargetTags are the repository:tag names to create; Untagged are
	// repositories that get the manifests without a tag.
	TargetTags []Image
	Untagged   []string
	// Force overwrites existing target tags; without it any existing tag
	// fails the import before anything is copied.
	Force bool
	Now   time.Time
}

// ImportResult says what was copied.
type ImportResult struct {
	Digest    digest.Digest // the imported image's root manifest
	Manifests int
	Blobs     int
	// Bytes is the size of the image: its manifests and blobs.
	Bytes int64
}

// Import copies an image between registries inside tx: the manifests (an
// index with its children) and links to their blobs, whose bytes are
// shared on disk and never re-read. permit must be the gate's for
// req.Source and egress.ChannelImportSource. Errors wrap errdef.ErrDenied
// (no such permit), ErrNotFound (no such source image), ErrConflict (a
// target tag exists and Force is off) or ErrInvalidArgument.
func Import(tx meta.Tx, permit egress.Permit, req ImportRequest) (ImportResult, error) {
	var res ImportResult
	if err := permit.Covers(req.Source.Key, egress.ChannelImportSource); err != nil {
		return res, err
	}
	src := req.Image
	root := src.Digest
	if src.Tag != "" {
		d, err := tx.Tag(req.Source.Key, src.Repository, src.Tag)
		if errors.Is(err, errdef.ErrNotFound) {
			return res, fmt.Errorf("the source image '%s' was not found in registry '%s': %w", src, req.Source.Name, errdef.ErrNotFound)
		}
		if err != nil {
			return res, err
		}
		if root != "" && root != d {
			return res, fmt.Errorf("the source tag '%s' points to %s, not %s: %w", src.Tag, d, root, errdef.ErrInvalidArgument)
		}
		root = d
	}
	targets, untagged := Destinations(src, req.TargetTags, req.Untagged)
	if err := CheckTags(tx, req.Target, targets, req.Force); err != nil {
		return res, err
	}
	manifests, blobs, err := closure(tx, req.Source, src.Repository, root)
	if err != nil {
		return res, err
	}
	for _, repo := range Repositories(targets, untagged) {
		for _, b := range blobs {
			b.RegistryKey, b.Repository, b.CreatedAt = req.Target.Key, repo, req.Now
			if err := tx.LinkBlob(b); err != nil {
				return res, err
			}
		}
		for _, m := range manifests {
			m.RegistryKey, m.Repository, m.CreatedAt = req.Target.Key, repo, req.Now
			if err := tx.PutManifest(m); err != nil {
				return res, err
			}
		}
	}
	for _, t := range targets {
		if err := tx.PutTag(req.Target.Key, t.Repository, t.Tag, root); err != nil {
			return res, err
		}
	}
	res = ImportResult{Digest: root, Manifests: len(manifests), Blobs: len(blobs)}
	for _, m := range manifests {
		res.Bytes += int64(len(m.Content))
	}
	for _, b := range blobs {
		res.Bytes += b.Size
	}
	return res, nil
}

// references is what a manifest or index points at.
type references struct {
	Config *struct {
		Digest digest.Digest `json:"digest"`
	} `json:"config"`
	Layers []struct {
		Digest    digest.Digest `json:"digest"`
		MediaType string        `json:"mediaType"`
	} `json:"layers"`
	Manifests []struct {
		Digest digest.Digest `json:"digest"`
	} `json:"manifests"`
}

// closure collects the root manifest, its children when it is an index,
// and the blob links they need, all from the source repository.
func closure(tx meta.Tx, src meta.Registry, repo string, root digest.Digest) ([]meta.Manifest, []meta.BlobLink, error) {
	var manifests []meta.Manifest
	var blobs []meta.BlobLink
	seen := map[digest.Digest]bool{}
	queue := []digest.Digest{root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		if len(manifests) == MaxImportManifests {
			return nil, nil, fmt.Errorf("the image has more than %d manifests, the most one import may copy: %w", MaxImportManifests, errdef.ErrInvalidArgument)
		}
		m, err := tx.GetManifest(src.Key, repo, d)
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, nil, fmt.Errorf("the manifest %s of the source image was not found in '%s/%s': %w", d, src.Name, repo, errdef.ErrNotFound)
		}
		if err != nil {
			return nil, nil, err
		}
		manifests = append(manifests, m)
		var refs references
		if err := json.Unmarshal(m.Content, &refs); err != nil {
			return nil, nil, fmt.Errorf("manifest %s: %v: %w", d, err, errdef.ErrInvalidArgument)
		}
		for _, c := range refs.Manifests {
			queue = append(queue, c.Digest)
		}
		var need []digest.Digest
		if refs.Config != nil {
			need = append(need, refs.Config.Digest)
		}
		for _, l := range refs.Layers {
			if _, err := tx.BlobLink(src.Key, repo, l.Digest); errors.Is(err, errdef.ErrNotFound) && nondistributable(l.MediaType) {
				continue // foreign layers are fetched from their URLs, never stored
			}
			need = append(need, l.Digest)
		}
		for _, b := range need {
			if seen[b] {
				continue
			}
			seen[b] = true
			link, err := tx.BlobLink(src.Key, repo, b)
			if errors.Is(err, errdef.ErrNotFound) {
				return nil, nil, fmt.Errorf("the blob %s of the source image was not found in '%s/%s': %w", b, src.Name, repo, errdef.ErrNotFound)
			}
			if err != nil {
				return nil, nil, err
			}
			blobs = append(blobs, link)
		}
	}
	return manifests, blobs, nil
}

func nondistributable(mediaType string) bool {
	return strings.Contains(mediaType, "foreign") || strings.Contains(mediaType, "nondistributable")
}
