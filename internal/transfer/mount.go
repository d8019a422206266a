package transfer

import (
	"fmt"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
)

// MountRequest links one blob of a repository of Source into a repository
// of Target, inside one transaction.
type MountRequest struct {
	Source, Target         meta.Registry
	SourceRepo, TargetRepo string
	Digest                 digest.Digest
	Now                    time.Time
}

// Mount makes a blob of another registry visible in the target repository.
// permit must be the gate's for req.Source and
// egress.ChannelCrossRegistryMount; the gate refuses that channel by
// construction today (DESIGN.md rule 2), so this runs only if that rule
// ever changes. Errors wrap errdef.ErrDenied (no such permit, or the
// registries are the same: a same-registry mount is not egress) or
// ErrNotFound (the blob is not in the source repository).
func Mount(tx meta.Tx, permit egress.Permit, req MountRequest) error {
	if err := permit.Covers(req.Source.Key, egress.ChannelCrossRegistryMount); err != nil {
		return err
	}
	if req.Source.Key == req.Target.Key {
		return fmt.Errorf("a mount within registry %s needs no permit: %w", req.Source.Name, errdef.ErrDenied)
	}
	l, err := tx.BlobLink(req.Source.Key, req.SourceRepo, req.Digest)
	if err != nil {
		return err
	}
	l.RegistryKey, l.Repository, l.CreatedAt = req.Target.Key, req.TargetRepo, req.Now
	return tx.LinkBlob(l)
}
