package oci

import (
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/reference"
)

// kind names the distribution-spec endpoint a request addresses
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints).
type kind int

const (
	kindBase      kind = iota // /v2/
	kindCatalog               // /v2/_catalog
	kindTags                  // /v2/<name>/tags/list
	kindManifest              // /v2/<name>/manifests/<reference>
	kindBlob                  // /v2/<name>/blobs/<digest>
	kindUploads               // /v2/<name>/blobs/uploads/
	kindUpload                // /v2/<name>/blobs/uploads/<id>
	kindReferrers             // /v2/<name>/referrers/<digest>
)

// request is a data-plane path parsed once (STYLE rule 7). Handlers read
// these fields and never re-parse the URL.
type request struct {
	kind     kind
	registry string // registry name, lower-case
	repo     string // repository inside the registry
	ref      string // tag or digest (manifests), digest (blobs, referrers), upload id
}

// name is the repository name as the client sees it in this addressing mode.
func (q request) name(hostMode bool) string {
	if hostMode {
		return q.repo
	}
	return q.registry + "/" + q.repo
}

// maxNameLen bounds the full repository name as clients spell it.
const maxNameLen = 255

// parsePath splits a /v2 path. In host mode registry is the registry named
// by the Host header and the whole name is the repository; in path mode the
// first name component is the registry. Suffixes are matched at the last
// occurrence so that repository names may contain "manifests" or "blobs".
func parsePath(path, hostRegistry string, hostMode bool) (request, error) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		if path == "/v2" {
			return request{kind: kindBase, registry: hostRegistry}, nil
		}
		return request{}, fmt.Errorf("path %q: %w", path, errdef.ErrNotFound)
	}
	if rest == "" {
		return request{kind: kindBase, registry: hostRegistry}, nil
	}
	if rest == "_catalog" {
		return request{kind: kindCatalog, registry: hostRegistry}, nil
	}
	var q request
	var name string
	switch {
	case strings.HasSuffix(rest, "/tags/list"):
		q.kind, name = kindTags, strings.TrimSuffix(rest, "/tags/list")
	case strings.HasSuffix(rest, "/blobs/uploads/"):
		q.kind, name = kindUploads, strings.TrimSuffix(rest, "/blobs/uploads/")
	case strings.HasSuffix(rest, "/blobs/uploads"):
		q.kind, name = kindUploads, strings.TrimSuffix(rest, "/blobs/uploads")
	default:
		for _, s := range []struct {
			sep string
			k   kind
		}{{"/blobs/uploads/", kindUpload}, {"/manifests/", kindManifest}, {"/blobs/", kindBlob}, {"/referrers/", kindReferrers}} {
			if i := strings.LastIndex(rest, s.sep); i > 0 {
				if ref := rest[i+len(s.sep):]; ref != "" && !strings.Contains(ref, "/") {
					q.kind, name, q.ref = s.k, rest[:i], ref
					break
				}
			}
		}
		if name == "" {
			return request{}, fmt.Errorf("path %q: %w", path, errdef.ErrNotFound)
		}
	}
	if len(name) > maxNameLen {
		return request{}, nameError("repository name longer than 255 characters")
	}
	for _, c := range strings.Split(name, "/") {
		if !reference.ValidComponent(c) {
			return request{}, nameError(fmt.Sprintf("invalid repository name %q", name))
		}
	}
	if hostMode {
		q.registry, q.repo = hostRegistry, name
	} else {
		reg, repo, ok := strings.Cut(name, "/")
		if !ok {
			return request{}, nameError(fmt.Sprintf("repository name %q must start with the registry name: <registry>/<repository>", name))
		}
		q.registry, q.repo = reg, repo
	}
	return q, nil
}

// nameInvalid marks a name that breaks the grammar (NAME_INVALID).
type nameInvalid struct{ msg string }

func (e nameInvalid) Error() string { return e.msg }
func (e nameInvalid) Unwrap() error { return errdef.ErrInvalidArgument }

func nameError(msg string) error { return nameInvalid{msg} }

// RouteLabel names the data-plane endpoint of path for metrics, without
// validating names (cheap suffix checks only).
func RouteLabel(path string) string {
	switch {
	case path == "/oauth2/token", path == "/oauth2/exchange":
		return "data" + path
	case path == "/v2" || path == "/v2/":
		return "v2/base"
	case path == "/v2/_catalog":
		return "v2/catalog"
	case strings.HasSuffix(path, "/tags/list"):
		return "v2/tags"
	case strings.Contains(path, "/blobs/uploads"):
		return "v2/uploads"
	case strings.Contains(path, "/manifests/"):
		return "v2/manifests"
	case strings.Contains(path, "/blobs/"):
		return "v2/blobs"
	case strings.Contains(path, "/referrers/"):
		return "v2/referrers"
	}
	return "v2/other"
}
