package azblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

// firstBuffer is the capacity a writer starts with, so that a small object
// does not cost a whole block of memory.
const firstBuffer = 64 << 10

// Create implements storage.Container. Blocks are staged while the caller
// writes, under ctx (a writer outlives this call, so it keeps ctx:
// cancelling it fails the writer); nothing is visible until Commit
// commits the block list. An object that fits in one block is sent by
// Commit in one request instead.
func (c *Container) Create(ctx context.Context, name string) (storage.ObjectWriter, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &writer{
		c:      c,
		name:   name,
		blob:   c.client.NewBlockBlobClient(name),
		ctx:    wctx,
		cancel: cancel,
		md5:    md5.New(),
		free:   make(chan []byte, c.concurrency+1),
	}
	// Block ids are fixed-length (Azure requires one length per blob) and
	// start with a random prefix, so two writers of one name never mix
	// their blocks.
	_, _ = rand.Read(w.prefix[:])
	return w, nil
}

// writer streams one block blob. It is not safe for concurrent use; its
// uploads run in their own goroutines.
type writer struct {
	c      *Container
	name   string
	blob   *blockblob.Client
	ctx    context.Context // Create's, cancelled by Abort, Commit and the first failed stage
	cancel context.CancelFunc
	prefix [8]byte
	md5    hash.Hash
	size   int64
	buf    []byte      // the block being filled
	ids    []string    // staged or in flight, in order
	bufs   int         // buffers made; at most concurrency+1
	free   chan []byte // buffers whose stage is done
	wg     sync.WaitGroup
	closed bool

	mu  sync.Mutex
	err error // the first failure of a stage
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cancel()
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("blob %q: writer is closed: %w", w.name, errdef.ErrFailedPrecondition)
	}
	n := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n, err
		}
		// A full block is sent only when more bytes come, so that an
		// object of exactly one block still goes in one request.
		if len(w.buf) == w.c.blockSize {
			if err := w.stage(true); err != nil {
				return n, err
			}
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, min(firstBuffer, w.c.blockSize))
			w.bufs++
		}
		k := min(w.c.blockSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		w.md5.Write(p[:k])
		w.size += int64(k)
		n += k
		p = p[k:]
	}
	return n, nil
}

// stage sends the filled buffer as the next block. With next, it takes a
// buffer to fill next: a new one while fewer than concurrency+1 exist, else
// the first one whose stage ends.
func (w *writer) stage(next bool) error {
	if len(w.ids) == MaxBlocks {
		return fmt.Errorf("blob %q: more than %d blocks of %d bytes: %w", w.name, MaxBlocks, w.c.blockSize, errdef.ErrTooLarge)
	}
	var raw [16]byte
	copy(raw[:8], w.prefix[:])
	binary.BigEndian.PutUint64(raw[8:], uint64(len(w.ids)))
	id := base64.StdEncoding.EncodeToString(raw[:])
	w.ids = append(w.ids, id)
	block := w.buf
	w.buf = nil
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		_, err := w.blob.StageBlock(w.ctx, id, streaming.NopCloser(bytes.NewReader(block)), nil)
		if err != nil {
			w.fail(w.c.wrap("stage a block of", w.name, err))
		}
		w.free <- block[:0]
	}()
	if !next {
		return nil
	}
	if w.bufs < w.c.concurrency+1 {
		w.buf = make([]byte, 0, w.c.blockSize)
		w.bufs++
		return nil
	}
	select {
	case w.buf = <-w.free:
		return nil
	case <-w.ctx.Done():
		if err := w.failed(); err != nil {
			return err
		}
		return w.c.wrap("write", w.name, w.ctx.Err())
	}
}

// Commit implements storage.ObjectWriter. It always closes the writer; on
// error nothing was committed and the name holds what it held before.
func (w *writer) Commit(ctx context.Context, md map[string]string) (storage.Info, error) {
	if w.closed {
		return storage.Info{}, fmt.Errorf("blob %q: writer is closed: %w", w.name, errdef.ErrFailedPrecondition)
	}
	w.closed = true
	defer w.release()
	if err := storage.CheckMetadata(md); err != nil {
		return storage.Info{}, fmt.Errorf("blob %q: %w", w.name, err)
	}
	sum := w.md5.Sum(nil)
	headers := &blob.HTTPHeaders{BlobContentMD5: sum}
	info := storage.Info{Name: w.name, Size: w.size, ContentMD5: sum}
	if len(md) > 0 {
		info.Metadata = md
	}
	if len(w.ids) == 0 {
		// One request; the service checks the MD5 of what it received.
		r, err := w.blob.Upload(ctx, streaming.NopCloser(bytes.NewReader(w.buf)), &blockblob.UploadOptions{
			HTTPHeaders:             headers,
			Metadata:                toSDKMetadata(md),
			TransactionalValidation: blob.TransferValidationTypeMD5(sum),
		})
		if err != nil {
			return storage.Info{}, w.c.wrap("upload", w.name, err)
		}
		info.ETag, info.LastModified = string(deref(r.ETag)), deref(r.LastModified).UTC()
		return info, nil
	}
	if len(w.buf) > 0 {
		if err := w.stage(false); err != nil {
			return storage.Info{}, err
		}
	}
	stop := context.AfterFunc(ctx, w.cancel) // a cancelled Commit stops the stages
	w.wg.Wait()
	stop()
	if err := w.failed(); err != nil {
		return storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, w.c.wrap("commit", w.name, err)
	}
	r, err := w.blob.CommitBlockList(ctx, w.ids, &blockblob.CommitBlockListOptions{
		HTTPHeaders: headers,
		Metadata:    toSDKMetadata(md),
	})
	if err != nil {
		return storage.Info{}, w.c.wrap("commit", w.name, err)
	}
	info.ETag, info.LastModified = string(deref(r.ETag)), deref(r.LastModified).UTC()
	return info, nil
}

// Abort implements storage.ObjectWriter. Nothing was committed, so there
// is nothing to undo: it stops the stages in flight, and Azure collects
// the uncommitted blocks (after a week, or at the next commit of the name).
// After Commit it does nothing, so that a deferred Abort is safe.
func (w *writer) Abort(context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.release()
	return nil
}

// release stops and waits for the stages, and drops the buffers.
func (w *writer) release() {
	w.cancel()
	w.wg.Wait()
	w.buf = nil
	for len(w.free) > 0 {
		<-w.free
	}
}
