package transfer

import (
	"context"
	"io"
	"sync"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/archive"
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
		err := writeBlob(b.ctx, b.store, b.blobs, b.key, e, pr)
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
