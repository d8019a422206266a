// Package fs is Bulkhead's default content store: blobs are files on a local
// filesystem.
//
// Layout under the root directory:
//
//	blobs/<algorithm>/<first 2 hex>/<hex>   committed blobs, named by digest
//	uploads/<ref>                           bytes of an upload in progress
//	uploads/.<ref>.state                    sidecar: sha256 state + offset
//
// A blob becomes visible only through an atomic rename of a fully written,
// verified and fsynced upload file, followed by an fsync of the directory, so
// a crash leaves either no blob or the whole blob under a digest name, never
// a partial one. Only one process may use a root at a time: the
// one-writer-per-ref rule is enforced in memory.
package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// Store is a filesystem content store. It is safe for concurrent use.
type Store struct {
	root string
	fs   fileSystem

	mu   sync.Mutex
	busy map[string]struct{} // refs claimed by an open writer, Abort or sweep

	// dirMu serializes directory creation so that a commit never renames
	// into a directory that another goroutine created but has not yet made
	// durable in its parent.
	dirMu sync.Mutex

	// commits stripes a lock over digests: a commit's check-and-touch or
	// rename and garbage collection's check-and-delete of the same blob
	// never interleave.
	commits [64]sync.Mutex
}

var (
	_ content.Store   = (*Store)(nil)
	_ content.Sweeper = (*Store)(nil)
)

// New opens the store rooted at root, creating its directories when needed.
// Uploads left by an earlier process are kept and can be resumed.
func New(root string) (*Store, error) {
	return newStore(root, osFS{})
}

func newStore(root string, fsys fileSystem) (*Store, error) {
	s := &Store{root: filepath.Clean(root), fs: fsys, busy: map[string]struct{}{}}
	for _, dir := range []string{s.blobsDir(), s.uploadsDir()} {
		if err := s.mkdirAll(dir); err != nil {
			return nil, fmt.Errorf("content store %s: %w", root, err)
		}
	}
	return s, nil
}

// full classifies err: a filesystem out of space (ENOSPC) or a user out of
// quota (EDQUOT) is errdef.ErrInsufficientStorage, so that callers can
// answer it as "retry later" and free what they can, without knowing
// about errno. The errno stays in the chain.
func full(err error) error {
	if err == nil || errors.Is(err, errdef.ErrInsufficientStorage) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", errdef.ErrInsufficientStorage, err)
	}
	return err
}

// Close is a no-op: the store keeps no files open between calls. Writers
// that are still open stay usable.
func (s *Store) Close() error { return nil }

func (s *Store) blobsDir() string   { return filepath.Join(s.root, "blobs") }
func (s *Store) uploadsDir() string { return filepath.Join(s.root, "uploads") }

// blobPath maps a digest to its file. Validating first is what keeps a
// client-supplied digest from naming a path outside the store.
func (s *Store) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: %v: %w", d, err, errdef.ErrInvalidArgument)
	}
	hex := d.Encoded()
	return filepath.Join(s.blobsDir(), string(d.Algorithm()), hex[:2], hex), nil
}

// stateSuffix and the leading dot name an upload's sidecar. Refs may not
// start with a dot, so no ref's data file can collide with a sidecar.
const stateSuffix = ".state"

// maxRefLen keeps ".<ref>.state" within the usual 255-byte name limit.
const maxRefLen = 200

// uploadPaths returns the data file and sidecar of ref, or
// errdef.ErrInvalidArgument when ref is not a safe file name.
func (s *Store) uploadPaths(ref string) (data, state string, err error) {
	if !validRef(ref) {
		return "", "", fmt.Errorf("upload ref %q: %w", ref, errdef.ErrInvalidArgument)
	}
	dir := s.uploadsDir()
	return filepath.Join(dir, ref), filepath.Join(dir, "."+ref+stateSuffix), nil
}

// validRef accepts URL-safe names (RFC 3986 unreserved characters) that
// cannot escape the uploads directory or be mistaken for a sidecar.
func validRef(ref string) bool {
	if ref == "" || len(ref) > maxRefLen || ref[0] == '.' || strings.Contains(ref, "..") {
		return false
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
		if !ok {
			return false
		}
	}
	return true
}

// Open returns the blob's *os.File, so that http.ServeContent can let the
// kernel sendfile it, and its size.
func (s *Store) Open(_ context.Context, d digest.Digest) (io.ReadSeekCloser, int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, 0, err
	}
	f, err := s.fs.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("blob %s: %w", d, errdef.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob %s: %w", d, err)
	}
	return f, fi.Size(), nil
}

// Stat returns a committed blob's size.
func (s *Store) Stat(_ context.Context, d digest.Digest) (int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return 0, err
	}
	fi, err := s.fs.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", d, errdef.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// Delete removes a committed blob. The directory is not fsynced: a blob that
// reappears after a crash is unreferenced and the next garbage collection
// removes it again. Empty prefix directories are kept, so that a concurrent
// commit never renames into a directory that is being removed.
func (s *Store) Delete(_ context.Context, d digest.Digest) error {
	p, err := s.blobPath(d)
	if err != nil {
		return err
	}
	err = s.fs.Remove(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, errdef.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	return nil
}

// Abort discards an upload's bytes and sidecar. While a writer for ref is
// open it returns errdef.ErrConflict instead of pulling the file from under
// it.
func (s *Store) Abort(_ context.Context, ref string) error {
	data, state, err := s.uploadPaths(ref)
	if err != nil {
		return err
	}
	if !s.claim(ref) {
		return fmt.Errorf("upload %s: a writer is open: %w", ref, errdef.ErrConflict)
	}
	defer s.release(ref)
	if err := s.removeUpload(data, state); err != nil {
		return fmt.Errorf("upload %s: %w", ref, err)
	}
	return nil
}

// removeUpload removes the sidecar before the data, so that a crash in
// between leaves at worst a data file without a sidecar, which a resume
// simply re-hashes.
func (s *Store) removeUpload(data, state string) error {
	for _, p := range []string{state, data} {
		if err := s.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// SweepUploads removes uploads whose data file and sidecar were both last
// modified before cutoff, skipping refs with an open writer, and returns how
// many uploads it removed. Sidecars whose data file is gone are removed too
// but not counted.
func (s *Store) SweepUploads(ctx context.Context, cutoff time.Time) (int, error) {
	entries, err := s.fs.ReadDir(s.uploadsDir())
	if err != nil {
		return 0, fmt.Errorf("sweeping uploads: %w", err)
	}
	seen := map[string]bool{}
	n := 0
	for _, e := range entries {
		ref := e.Name()
		if strings.HasPrefix(ref, ".") && strings.HasSuffix(ref, stateSuffix) {
			ref = strings.TrimSuffix(ref[1:], stateSuffix)
		}
		if seen[ref] || !validRef(ref) {
			continue // already handled, or not a file this store made
		}
		seen[ref] = true
		if err := ctx.Err(); err != nil {
			return n, err
		}
		removed, err := s.sweep(ref, cutoff)
		if err != nil {
			return n, fmt.Errorf("sweeping upload %s: %w", ref, err)
		}
		if removed {
			n++
		}
	}
	return n, nil
}

// sweep removes ref's files when they are stale and reports whether a data
// file was removed. Claiming ref first keeps a Writer from opening it while
// its files are checked and removed.
func (s *Store) sweep(ref string, cutoff time.Time) (bool, error) {
	if !s.claim(ref) {
		return false, nil
	}
	defer s.release(ref)
	data, state, _ := s.uploadPaths(ref)
	hasData := false
	for _, p := range []string{data, state} {
		fi, err := s.fs.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		if !fi.ModTime().Before(cutoff) {
			return false, nil
		}
		hasData = hasData || p == data
	}
	return hasData, s.removeUpload(data, state)
}

// claim marks ref as in use and reports whether it was free.
func (s *Store) claim(ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.busy[ref]; ok {
		return false
	}
	s.busy[ref] = struct{}{}
	return true
}

func (s *Store) release(ref string) {
	s.mu.Lock()
	delete(s.busy, ref)
	s.mu.Unlock()
}

// mkdirAll creates dir and its missing parents, fsyncing each parent after
// adding an entry to it: a blob renamed into a directory whose own entry was
// never made durable would vanish in a crash even though its rename was
// synced. It runs under dirMu so that no other commit sees the directory
// before its entry is durable.
func (s *Store) mkdirAll(dir string) error {
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	return s.mkdirAllLocked(dir)
}

func (s *Store) mkdirAllLocked(dir string) error {
	_, err := s.fs.Stat(dir)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := s.mkdirAllLocked(parent); err != nil {
			return err
		}
	}
	if err := s.fs.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return s.fs.SyncDir(parent)
}
