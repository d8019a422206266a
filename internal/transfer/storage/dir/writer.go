package dir

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"os"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

const partialSuffix = ".partial"

// Create implements storage.Container. The writer fills a hidden temp file
// in the directory itself, so that Commit is a rename on one file system;
// nothing appears under name before Commit.
func (c *Container) Create(_ context.Context, name string) (storage.ObjectWriter, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	tmp := c.path(".." + randomHex(8) + partialSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, full(fmt.Errorf("object %s: creating a temp file in %s: %w", name, c.root, err))
	}
	return &writer{c: c, name: name, tmp: tmp, f: f, md5: md5.New()}, nil
}

// writer streams one object into its temp file. It is not safe for
// concurrent use.
type writer struct {
	c      *Container
	name   string
	tmp    string // the temp data file; its sidecar is beside it
	f      *os.File
	md5    hash.Hash
	size   int64
	err    error // the first write error; the object can no longer commit
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("object %s: writer is closed: %w", w.name, errdef.ErrFailedPrecondition)
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.md5.Write(p[:n])
	w.size += int64(n)
	if err != nil {
		w.err = full(fmt.Errorf("object %s: %w", w.name, err))
		return n, w.err
	}
	return n, nil
}

// Commit implements storage.ObjectWriter. It always closes the writer; on
// error the temp files are gone and the name holds what it held before.
func (w *writer) Commit(ctx context.Context, metadata map[string]string) (storage.Info, error) {
	if w.closed {
		return storage.Info{}, fmt.Errorf("object %s: writer is closed: %w", w.name, errdef.ErrFailedPrecondition)
	}
	w.closed = true
	info, err := w.commit(ctx, metadata)
	if err != nil {
		w.f.Close()
		os.Remove(w.tmp)
		os.Remove(w.sidecarTmp())
		return storage.Info{}, err
	}
	return info, nil
}

func (w *writer) sidecarTmp() string {
	return strings.TrimSuffix(w.tmp, partialSuffix) + ".meta" + partialSuffix
}

func (w *writer) commit(ctx context.Context, metadata map[string]string) (storage.Info, error) {
	if w.err != nil {
		return storage.Info{}, w.err
	}
	if err := storage.CheckMetadata(metadata); err != nil {
		return storage.Info{}, fmt.Errorf("object %s: %w", w.name, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	fail := func(err error) (storage.Info, error) {
		return storage.Info{}, full(fmt.Errorf("object %s: commit: %w", w.name, err))
	}
	if err := w.f.Sync(); err != nil {
		return fail(err)
	}
	fi, err := w.f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := w.f.Close(); err != nil {
		return fail(err)
	}
	sc := sidecar{ETag: newETag(), Size: w.size, MD5: w.md5.Sum(nil)}
	if len(metadata) > 0 {
		sc.Metadata = maps.Clone(metadata)
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return fail(err)
	}
	if err := writeSynced(w.sidecarTmp(), b); err != nil {
		return fail(err)
	}
	// Sidecar first: see the package comment for why this order.
	if err := os.Rename(w.sidecarTmp(), w.c.path(sidecarName(w.name))); err != nil {
		return fail(err)
	}
	if err := os.Rename(w.tmp, w.c.path(w.name)); err != nil {
		return fail(err)
	}
	if err := syncDir(w.c.root); err != nil {
		return fail(err)
	}
	return storage.Info{
		Name:         w.name,
		Size:         w.size,
		LastModified: fi.ModTime().UTC(),
		ETag:         sc.ETag,
		ContentMD5:   sc.MD5,
		Metadata:     sc.Metadata,
	}, nil
}

// Abort implements storage.ObjectWriter. After Commit it does nothing, so
// that a deferred Abort is safe.
func (w *writer) Abort(context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.f.Close()
	if rerr := os.Remove(w.tmp); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("object %s: abort: %w", w.name, err)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
