package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/opencontainers/go-digest"
)

var _ content.Collector = (*Store)(nil)

// commitLock is the lock stripe of d.
func (s *Store) commitLock(d digest.Digest) *sync.Mutex {
	hex := d.Encoded()
	var h byte
	for i := 0; i < len(hex) && i < 8; i++ {
		h = h*31 + hex[i]
	}
	return &s.commits[int(h)%len(s.commits)]
}

// touchIfStored marks an already stored blob as committed now and reports
// whether it was stored.
func (s *Store) touchIfStored(d digest.Digest, target string) (bool, error) {
	mu := s.commitLock(d)
	mu.Lock()
	defer mu.Unlock()
	if _, err := s.fs.Stat(target); err != nil {
		return false, nil
	}
	now := time.Now()
	if err := s.fs.Chtimes(target, now, now); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// renameCommitted moves verified bytes to target and marks them committed
// now: the upload file's own time is that of its last write, which may be
// older than the collector's cutoff.
func (s *Store) renameCommitted(d digest.Digest, from, target string) error {
	mu := s.commitLock(d)
	mu.Lock()
	defer mu.Unlock()
	if err := s.fs.Rename(from, target); err != nil {
		return err
	}
	now := time.Now()
	return s.fs.Chtimes(target, now, now)
}

// Blobs implements content.Collector by walking blobs/<algorithm>/<xx>/.
// Entries that are not digests of this layout are skipped.
func (s *Store) Blobs(ctx context.Context, fn func(d digest.Digest, size int64, committed time.Time) error) error {
	algs, err := s.fs.ReadDir(s.blobsDir())
	if err != nil {
		return fmt.Errorf("listing blobs: %w", err)
	}
	for _, alg := range algs {
		if !alg.IsDir() {
			continue
		}
		prefixes, err := s.fs.ReadDir(filepath.Join(s.blobsDir(), alg.Name()))
		if err != nil {
			return fmt.Errorf("listing blobs: %w", err)
		}
		for _, prefix := range prefixes {
			if !prefix.IsDir() {
				continue
			}
			entries, err := s.fs.ReadDir(filepath.Join(s.blobsDir(), alg.Name(), prefix.Name()))
			if err != nil {
				return fmt.Errorf("listing blobs: %w", err)
			}
			for _, e := range entries {
				if err := ctx.Err(); err != nil {
					return err
				}
				d := digest.NewDigestFromEncoded(digest.Algorithm(alg.Name()), e.Name())
				if d.Validate() != nil || d.Encoded()[:2] != prefix.Name() || !e.Type().IsRegular() {
					continue
				}
				info, err := e.Info()
				if errors.Is(err, os.ErrNotExist) {
					continue // deleted since the listing
				}
				if err != nil {
					return fmt.Errorf("blob %s: %w", d, err)
				}
				if err := fn(d, info.Size(), info.ModTime()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// DeleteIdle implements content.Collector.
func (s *Store) DeleteIdle(_ context.Context, d digest.Digest, cutoff time.Time) (bool, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return false, err
	}
	mu := s.commitLock(d)
	mu.Lock()
	defer mu.Unlock()
	info, err := s.fs.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob %s: %w", d, err)
	}
	if !info.ModTime().Before(cutoff) {
		return false, nil
	}
	if err := s.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("blob %s: %w", d, err)
	}
	return true, nil
}
