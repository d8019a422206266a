package fs

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// hashBufSize is the buffer for re-reading an upload; the blob is streamed,
// never loaded whole.
const hashBufSize = 256 << 10

// newHash returns a hash for the algorithms this store verifies. Naming them
// here (rather than asking go-digest) also links crypto/sha512, which
// registers sha384 and sha512 so that digest.Validate accepts them.
func newHash(a digest.Algorithm) (hash.Hash, bool) {
	switch a {
	case digest.SHA256:
		return sha256.New(), true
	case digest.SHA384:
		return sha512.New384(), true
	case digest.SHA512:
		return sha512.New(), true
	}
	return nil, false
}

// Writer opens the upload ref, or resumes it when its data file exists. Resuming
// reads the sha256 state from the sidecar when the sidecar covers exactly the
// bytes on disk, and re-hashes the data file otherwise.
func (s *Store) Writer(_ context.Context, ref string) (content.Writer, error) {
	data, state, err := s.uploadPaths(ref)
	if err != nil {
		return nil, err
	}
	if !s.claim(ref) {
		return nil, fmt.Errorf("upload %s: another writer is open: %w", ref, errdef.ErrConflict)
	}
	w, err := s.openUpload(ref, data, state)
	if err != nil {
		s.release(ref)
		return nil, full(fmt.Errorf("upload %s: %w", ref, err))
	}
	return w, nil
}

func (s *Store) openUpload(ref, data, state string) (*writer, error) {
	f, err := s.fs.OpenFile(data, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	w := &writer{s: s, ref: ref, data: data, state: state, f: f, h: sha256.New()}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	w.size = fi.Size()
	loaded := w.loadState()
	if !loaded && w.size > 0 {
		w.h.Reset() // a rejected sidecar may have been half applied
		if _, err := io.CopyBuffer(w.h, io.NewSectionReader(f, 0, w.size), make([]byte, hashBufSize)); err != nil {
			f.Close()
			return nil, err
		}
	}
	// A valid sidecar is written only after its data file's directory entry
	// was synced, so it proves the entry durable. Without one (a new upload,
	// or one left by a crash) the first Close syncs the directory and saves
	// the state, whether or not anything is written.
	w.entryUnsynced = !loaded
	w.dirty = !loaded
	return w, nil
}

// writer appends to one upload. It is not safe for concurrent use; the store
// guarantees it is the only writer of its ref.
type writer struct {
	s             *Store
	ref           string
	data, state   string
	f             file
	h             hash.Hash // sha256 of the bytes [0, size)
	size          int64
	dirty         bool // bytes or hash state not yet persisted by Close
	entryUnsynced bool // the data file's directory entry may not be durable
	closed        bool // Close or Commit ran; the ref is released
	fileClosed    bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("upload %s: writer is closed: %w", w.ref, errdef.ErrFailedPrecondition)
	}
	n, err := w.f.Write(p)
	// Hash exactly what reached the file, so the state matches its size.
	w.h.Write(p[:n])
	w.size += int64(n)
	w.dirty = w.dirty || n > 0
	if err != nil {
		return n, full(fmt.Errorf("upload %s: %w", w.ref, err))
	}
	return n, nil
}

func (w *writer) Size() int64 { return w.size }

// Close makes the bytes written so far durable, records the hash state that
// covers them, and releases the ref.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.s.release(w.ref)
	err := w.persist()
	if cerr := w.closeFile(); err == nil {
		err = cerr
	}
	if err != nil {
		return full(fmt.Errorf("upload %s: %w", w.ref, err))
	}
	return nil
}

// persist fsyncs the data before writing the sidecar. The order matters: a
// sidecar that described bytes a crash could still take away would let a
// resumed upload pass verification against bytes that are no longer on disk.
// The sidecar itself is not fsynced; it carries a checksum, and a lost or torn
// one only costs a re-hash.
func (w *writer) persist() error {
	if !w.dirty {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if w.entryUnsynced {
		if err := w.s.fs.SyncDir(filepath.Dir(w.data)); err != nil {
			return err
		}
		w.entryUnsynced = false
	}
	if err := w.saveState(); err != nil {
		return err
	}
	w.dirty = false
	return nil
}

func (w *writer) closeFile() error {
	if w.fileClosed {
		return nil
	}
	w.fileClosed = true
	return w.f.Close()
}

// Commit verifies, then publishes: fsync, rename into place, fsync the
// directory. A size or digest mismatch closes the writer but keeps the upload
// and its progress, so the client can fix and retry.
func (w *writer) Commit(_ context.Context, size int64, expected digest.Digest) error {
	if w.closed {
		return fmt.Errorf("upload %s: writer is closed: %w", w.ref, errdef.ErrFailedPrecondition)
	}
	if err := w.verify(size, expected); err != nil {
		return errors.Join(err, w.Close())
	}
	w.closed = true
	defer w.s.release(w.ref)
	err := w.publish(expected)
	if cerr := w.closeFile(); err == nil {
		err = cerr
	}
	if err != nil {
		return full(fmt.Errorf("upload %s: commit %s: %w", w.ref, expected, err))
	}
	return nil
}

// verify checks the size and digest of the bytes in the upload. sha256 uses
// the streamed state; other algorithms re-read the file, which holds exactly
// the bytes that were hashed.
func (w *writer) verify(size int64, expected digest.Digest) error {
	if size >= 0 && size != w.size {
		return fmt.Errorf("upload %s has %d bytes, expected %d: %w", w.ref, w.size, size, errdef.ErrInvalidArgument)
	}
	if err := expected.Validate(); err != nil {
		return fmt.Errorf("digest %q: %v: %w", expected, err, errdef.ErrInvalidArgument)
	}
	alg := expected.Algorithm()
	h := w.h
	if alg != digest.SHA256 {
		var ok bool
		if h, ok = newHash(alg); !ok {
			return fmt.Errorf("digest algorithm %s is not supported: %w", alg, errdef.ErrInvalidArgument)
		}
		if _, err := io.CopyBuffer(h, io.NewSectionReader(w.f, 0, w.size), make([]byte, hashBufSize)); err != nil {
			return fmt.Errorf("upload %s: %w", w.ref, err)
		}
	}
	if got := digest.NewDigestFromBytes(alg, h.Sum(nil)); got != expected {
		return fmt.Errorf("upload %s has digest %s, expected %s: %w", w.ref, got, expected, errdef.ErrInvalidArgument)
	}
	return nil
}

// publish moves a verified upload into place and marks the blob as
// committed now, under the digest's commit lock, so that garbage collection
// cannot delete a blob this commit vouches for (content.Collector). Cleanup
// failures after the blob is durable are ignored: the blob is stored, and
// SweepUploads removes what is left.
func (w *writer) publish(d digest.Digest) error {
	target, err := w.s.blobPath(d)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	if existed, err := w.s.touchIfStored(d, target); err != nil {
		return err
	} else if existed {
		// Already stored, perhaps by a concurrent commit that renamed it
		// but has not yet synced the directory: sync before reporting
		// success, or a crash could lose a blob this commit vouched for.
		if err := w.s.fs.SyncDir(dir); err != nil {
			return err
		}
		w.closeFile()
		w.s.removeUpload(w.data, w.state)
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.closeFile(); err != nil {
		return err
	}
	if err := w.s.mkdirAll(dir); err != nil {
		return err
	}
	// Concurrent commits of the same digest rename identical, verified
	// bytes over each other, which is atomic and harmless.
	if err := w.s.renameCommitted(d, w.data, target); err != nil {
		return err
	}
	if err := w.s.fs.SyncDir(dir); err != nil {
		return err
	}
	w.s.fs.Remove(w.state)
	return nil
}

// The sidecar is magic | offset (8 bytes, big endian) | marshaled sha256
// state | CRC-32 of everything before it.
const stateMagic = "bhs1"

func (w *writer) saveState() error {
	m, ok := w.h.(encoding.BinaryMarshaler)
	if !ok {
		return nil // cannot happen for crypto/sha256; resume would re-hash
	}
	st, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	b := make([]byte, 0, len(stateMagic)+8+len(st)+4)
	b = append(b, stateMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(w.size))
	b = append(b, st...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	f, err := w.s.fs.OpenFile(w.state, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

// loadState restores the hash state when the sidecar is intact and covers
// exactly the bytes in the data file, and reports whether it did.
func (w *writer) loadState() bool {
	f, err := w.s.fs.Open(w.state)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return false
	}
	n := len(stateMagic)
	if len(b) < n+8+4 || string(b[:n]) != stateMagic {
		return false
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum || int64(binary.BigEndian.Uint64(body[n:])) != w.size {
		return false
	}
	u, ok := w.h.(encoding.BinaryUnmarshaler)
	return ok && u.UnmarshalBinary(body[n+8:]) == nil
}
