// Package fs is the default content store: committed blobs are files named
// by digest under <root>/blobs, uploads in progress are files under
// <root>/uploads. A blob becomes visible only by an atomic rename after its
// bytes are verified and fsynced, so a crash never leaves a partial blob
// under a digest name.
package fs

import (
	"context"
	"crypto/sha256"
	_ "crypto/sha512" // registers sha384/sha512 for go-digest
	"encoding"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// Store is a filesystem content store.
type Store struct {
	root string
	mu   sync.Mutex
	open map[string]bool // refs with an open writer
	// fault, when set (tests only), is consulted before each durability
	// step ("sync", "rename") and fails it by returning an error.
	fault func(op string) error
}

var (
	_ content.Store   = (*Store)(nil)
	_ content.Sweeper = (*Store)(nil)
)

// New opens (creating when needed) a store rooted at root.
func New(root string) (*Store, error) {
	for _, d := range []string{"blobs", "uploads"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("content store %s: %w", root, err)
		}
	}
	return &Store{root: root, open: map[string]bool{}}, nil
}

// Close releases nothing; the store holds no open files between calls.
func (s *Store) Close() error { return nil }

func (s *Store) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: %w", d, errdef.ErrInvalidArgument)
	}
	h := d.Encoded()
	return filepath.Join(s.root, "blobs", string(d.Algorithm()), h[:2], h), nil
}

func (s *Store) uploadPath(ref string) (string, error) {
	if ref == "" || strings.ContainsAny(ref, `/\`) || strings.Contains(ref, "..") || strings.HasPrefix(ref, ".") {
		return "", fmt.Errorf("upload ref %q: %w", ref, errdef.ErrInvalidArgument)
	}
	return filepath.Join(s.root, "uploads", ref), nil
}

// Open returns the blob's *os.File, so http.ServeContent can sendfile it.
func (s *Store) Open(_ context.Context, d digest.Digest) (io.ReadSeekCloser, int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("blob %s: %w", d, errdef.ErrNotFound)
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Stat returns a committed blob's size.
func (s *Store) Stat(_ context.Context, d digest.Digest) (int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", d, errdef.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Delete removes a committed blob.
func (s *Store) Delete(_ context.Context, d digest.Digest) error {
	p, err := s.blobPath(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, errdef.ErrNotFound)
	} else if err != nil {
		return err
	}
	return nil
}

// Abort discards an upload's partial data.
func (s *Store) Abort(_ context.Context, ref string) error {
	p, err := s.uploadPath(ref)
	if err != nil {
		return err
	}
	for _, f := range []string{p, p + stateSuffix} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// SweepUploads removes upload files untouched since cutoff, skipping those
// with an open writer.
func (s *Store) SweepUploads(_ context.Context, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "uploads"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		ref := strings.TrimSuffix(name, stateSuffix)
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		s.mu.Lock()
		busy := s.open[ref]
		s.mu.Unlock()
		if busy {
			continue
		}
		if os.Remove(filepath.Join(s.root, "uploads", name)) == nil && name == ref {
			n++
		}
	}
	return n, nil
}

// stateSuffix names the sidecar holding the marshaled sha256 state and the
// offset it covers, so that resuming an upload does not re-read it.
const stateSuffix = ".state"

// Writer opens or resumes the upload ref.
func (s *Store) Writer(_ context.Context, ref string) (content.Writer, error) {
	p, err := s.uploadPath(ref)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.open[ref] {
		s.mu.Unlock()
		return nil, fmt.Errorf("upload %s is being written: %w", ref, errdef.ErrConflict)
	}
	s.open[ref] = true
	s.mu.Unlock()
	w, err := s.resume(ref, p)
	if err != nil {
		s.release(ref)
		return nil, err
	}
	return w, nil
}

func (s *Store) release(ref string) {
	s.mu.Lock()
	delete(s.open, ref)
	s.mu.Unlock()
}

func (s *Store) resume(ref, p string) (*writer, error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &writer{s: s, ref: ref, path: p, f: f, h: sha256.New(), size: fi.Size()}
	if w.size > 0 && !w.loadState() {
		// No usable hash state (a crash between write and state save):
		// re-hash what is on disk.
		if _, err := io.Copy(w.h, io.NewSectionReader(f, 0, w.size)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(w.size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

type writer struct {
	s    *Store
	ref  string
	path string
	f    *os.File
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
	size   int64
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	return n, err
}

func (w *writer) Size() int64 { return w.size }

// loadState restores the hash state when the sidecar covers exactly the
// bytes in the upload file.
func (w *writer) loadState() bool {
	b, err := os.ReadFile(w.path + stateSuffix)
	if err != nil || len(b) < 8 {
		return false
	}
	var off int64
	for i := 0; i < 8; i++ {
		off = off<<8 | int64(b[i])
	}
	if off != w.size {
		return false
	}
	u, ok := w.h.(encoding.BinaryUnmarshaler)
	return ok && u.UnmarshalBinary(b[8:]) == nil
}

func (w *writer) saveState() error {
	m, ok := w.h.(encoding.BinaryMarshaler)
	if !ok {
		return nil
	}
	st, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	b := make([]byte, 8, 8+len(st))
	for i := 0; i < 8; i++ {
		b[i] = byte(w.size >> (56 - 8*i))
	}
	return os.WriteFile(w.path+stateSuffix, append(b, st...), 0o600)
}

// Close persists the hash state for a later resume and releases the ref.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.s.release(w.ref)
	err := w.f.Close()
	if err == nil {
		err = w.saveState()
	}
	return err
}

// Commit verifies size and digest, then fsyncs and renames the upload into
// place. On a mismatch the upload stays, resumable.
func (w *writer) Commit(_ context.Context, size int64, expected digest.Digest) error {
	if w.closed {
		return fmt.Errorf("upload %s: writer closed: %w", w.ref, errdef.ErrFailedPrecondition)
	}
	if size >= 0 && size != w.size {
		w.Close()
		return fmt.Errorf("upload has %d bytes, expected %d: %w", w.size, size, errdef.ErrInvalidArgument)
	}
	target, err := w.s.blobPath(expected)
	if err != nil {
		w.Close()
		return err
	}
	var got digest.Digest
	if expected.Algorithm() == digest.SHA256 {
		got = digest.NewDigestFromBytes(digest.SHA256, w.h.Sum(nil))
	} else {
		if !expected.Algorithm().Available() {
			w.Close()
			return fmt.Errorf("digest algorithm %s: %w", expected.Algorithm(), errdef.ErrInvalidArgument)
		}
		if got, err = expected.Algorithm().FromReader(io.NewSectionReader(w.f, 0, w.size)); err != nil {
			w.Close()
			return err
		}
	}
	if got != expected {
		w.Close()
		return fmt.Errorf("content digest %s does not match %s: %w", got, expected, errdef.ErrInvalidArgument)
	}
	w.closed = true
	defer w.s.release(w.ref)
	if err := w.s.inject("sync"); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	os.Remove(w.path + stateSuffix)
	if _, err := os.Stat(target); err == nil {
		return os.Remove(w.path) // already stored: dedup
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := w.s.inject("rename"); err != nil {
		return err
	}
	if err := os.Rename(w.path, target); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *Store) inject(op string) error {
	if s.fault == nil {
		return nil
	}
	return s.fault(op)
}
