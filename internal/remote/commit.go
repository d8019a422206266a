package remote

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
)

// ErrTargetChanged is the answer of Commit when the target changed under
// the import in a way that makes its fetch unusable (the target registry
// was deleted, or a blob the import counted on it linking is gone). It
// wraps errdef.ErrConflict: the caller may simply try again.
var ErrTargetChanged = fmt.Errorf("the target registry changed during the import; try again: %w", errdef.ErrConflict)

// Commit makes a fetched import visible in one transaction: it checks
// again that the target exists and that NoForce finds no existing tag,
// then links the blobs, stores the manifests in every target repository
// and points the tags at the image. Call it inside the caller's
// meta.Store.Update, so that the import and whatever the caller records
// with it are one atomic step. Errors wrap errdef.ErrConflict (a tag
// exists and Force is off; or ErrTargetChanged) or come from the store.
func (f *Fetched) Commit(tx meta.Tx, now time.Time) (transfer.ImportResult, error) {
	var res transfer.ImportResult
	target := f.req.Target
	row, err := tx.RegistryByName(target.Name)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && row.Key != target.Key {
		return res, ErrTargetChanged
	}
	if err != nil {
		return res, err
	}
	if err := transfer.CheckTags(tx, target, f.tags, f.req.Force); err != nil {
		return res, err
	}
	repos := transfer.Repositories(f.tags, f.untagged)
	for d, ok := range f.present {
		if !ok {
			continue
		}
		// Not downloaded because the target linked it: it must still,
		// or its bytes may have been collected meanwhile.
		if still, err := linkedInTarget(tx, target.Key, repos, d); err != nil || !still {
			if err == nil {
				err = ErrTargetChanged
			}
			return res, err
		}
	}
	for _, repo := range repos {
		for _, b := range f.blobs {
			if err := tx.LinkBlob(meta.BlobLink{RegistryKey: target.Key, Repository: repo, Digest: b.d, Size: b.size, CreatedAt: now}); err != nil {
				return res, err
			}
		}
		for _, m := range f.manifests {
			m.RegistryKey, m.Repository, m.CreatedAt = target.Key, repo, now
			if err := tx.PutManifest(m); err != nil {
				return res, err
			}
		}
	}
	for _, t := range f.tags {
		if err := tx.PutTag(target.Key, t.Repository, t.Tag, f.root); err != nil {
			return res, err
		}
	}
	return transfer.ImportResult{Digest: f.root, Manifests: len(f.manifests), Blobs: len(f.blobs)}, nil
}
