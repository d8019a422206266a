package transfer

import (
	"errors"
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Destinations is where an import of src writes, as ACR decides it: the
// target tags and untagged repositories the request names, or, when it
// names none, the source's own repository and tag (untagged when src is
// addressed by digest only). Every importer (local and remote) uses it, so
// both write the same places for the same request.
func Destinations(src Image, tags []Image, untagged []string) ([]Image, []string) {
	if len(tags) == 0 && len(untagged) == 0 {
		if src.Tag != "" {
			return []Image{{Repository: src.Repository, Tag: src.Tag}}, nil
		}
		return nil, []string{src.Repository}
	}
	return tags, untagged
}

// Repositories lists the distinct repositories of tags and untagged, in
// the order first named.
func Repositories(tags []Image, untagged []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		if !seen[t.Repository] {
			seen[t.Repository] = true
			out = append(out, t.Repository)
		}
	}
	for _, r := range untagged {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// CheckTags is mode NoForce: unless force is set, any of tags that already
// exists in target fails the import with an error wrapping
// errdef.ErrConflict. Call it in the transaction that writes the tags.
func CheckTags(tx meta.Tx, target meta.Registry, tags []Image, force bool) error {
	if force {
		return nil
	}
	for _, t := range tags {
		_, err := tx.Tag(target.Key, t.Repository, t.Tag)
		if err == nil {
			return fmt.Errorf("the tag '%s' already exists in registry '%s'; import with mode Force to overwrite it: %w", t, target.Name, errdef.ErrConflict)
		}
		if !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Foreign reports a layer media type whose bytes live outside registries
// (foreign or non-distributable layers): importers neither fetch nor link
// them, as a client fetches them from their URLs.
func Foreign(mediaType string) bool { return nondistributable(mediaType) }
