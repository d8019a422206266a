package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/archive"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
)

// blobWriterSlots is how many blobs an import stores at once: while one
// blob's commit waits for its fsync, the archive goes on streaming into
// the next, so the source (a network stream) never idles on the disk.
const blobWriterSlots = 4

// blobWriters stores an archive's blobs beside the reader: each blob's
// bytes flow from the archive through a pipe into a writer goroutine, which
// verifies and commits it while the reader moves on to the next entry. It
// holds no blob in memory (a pipe has no buffer) and at most
// blobWriterSlots commits in flight.
type blobWriters struct {
	ctx    context.Context
	cancel context.CancelFunc
	store  meta.Store
	blobs  BlobStore
	key    string
	slots  chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex // guards err and the done callbacks' state
	err    error
}

func newBlobWriters(ctx context.Context, store meta.Store, blobs BlobStore, registryKey string) *blobWriters {
	ctx, cancel := context.WithCancel(ctx)
	return &blobWriters{ctx: ctx, cancel: cancel, store: store, blobs: blobs, key: registryKey, slots: make(chan struct{}, blobWriterSlots)}
}

// write streams the entry e from r to a writer goroutine and returns when
// r is drained; done runs (under the writers' lock) once the blob is
// committed. A writer's failure shows here, at the next write, or at wait.
func (b *blobWriters) write(e archive.Entry, r io.Reader, done func()) error {
	select {
	case b.slots <- struct{}{}:
	case <-b.ctx.Done():
		return b.failure(b.ctx.Err())
	}
	pr, pw := io.Pipe()
	b.wg.Go(func() {
		defer func() { <-b.slots }()
		err := WriteBlob(b.ctx, b.store, b.blobs, b.key, e.Digest, e.Size, pr)
		if errors.Is(err, errdef.ErrInvalidArgument) {
			err = fmt.Errorf("the archive's blob %s does not match its digest: %w", e.Digest, errdef.ErrInvalidArgument)
		}
		pr.CloseWithError(err) // a writer that stops early unblocks the reader
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			if b.err == nil {
				b.err = err
				b.cancel()
			}
			return
		}
		done()
	})
	_, err := io.Copy(pw, r)
	pw.CloseWithError(err)
	if err != nil {
		return b.failure(err)
	}
	return nil
}

// failure prefers the writers' own error to the one that it caused.
func (b *blobWriters) failure(err error) error {
	if werr := b.failed(); werr != nil {
		return werr
	}
	return err
}

// failed returns the first writer error, if any.
func (b *blobWriters) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// wait waits for every writer and returns the first error.
func (b *blobWriters) wait() error {
	b.wg.Wait()
	return b.failed()
}

// WriteBlob streams the blob d of size bytes from r into the content store
// and verifies it, for a copy into the registry with registryKey. The
// write is an upload with a row of its own while it lasts, so the upload
// sweeper removes what a crash leaves half-written. A copy error is
// returned as the reader or the store gave it; bytes that do not match d
// or size wrap errdef.ErrInvalidArgument.
func WriteBlob(ctx context.Context, store meta.Store, blobs content.Ingester, registryKey string, d digest.Digest, size int64, r io.Reader) error {
	ref := "transfer-" + uuid.NewString()
	now := time.Now().UTC()
	if err := store.Update(ctx, func(tx meta.Tx) error {
		return tx.PutUpload(meta.Upload{ID: ref, RegistryKey: registryKey, StartedAt: now, UpdatedAt: now})
	}); err != nil {
		return err
	}
	defer func() {
		cleanup := context.WithoutCancel(ctx)
		blobs.Abort(cleanup, ref) // a no-op after a commit
		store.Update(cleanup, func(tx meta.Tx) error { return tx.DeleteUpload(ref) })
	}()
	w, err := blobs.Writer(ctx, ref)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, io.LimitReader(r, size+1)); err != nil {
		w.Close()
		return err
	}
	return w.Commit(ctx, size, d)
}
