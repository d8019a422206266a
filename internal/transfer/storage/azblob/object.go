package azblob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

// skipInStream is the longest forward Seek that reads on in the current
// download rather than starting a new one: a new request costs a round
// trip, which at common bandwidths is worth about this many bytes.
const skipInStream = 256 << 10

// Open implements storage.Container. It asks for the blob's properties
// (one request); the download starts at the first Read, at the offset the
// Seeks before it chose. Reads run under ctx (the object keeps it) and
// only match the version Open saw: if the blob is replaced meanwhile, a
// Read fails with errdef.ErrConflict rather than mix two versions.
func (c *Container) Open(ctx context.Context, name string) (storage.Object, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	b := c.client.NewBlobClient(name)
	p, err := b.GetProperties(ctx, nil)
	if err != nil {
		return nil, c.wrap("open", name, err)
	}
	return &object{c: c, ctx: ctx, blob: b, info: propertiesInfo(name, p), etag: p.ETag}, nil
}

// object reads one blob version. It is not safe for concurrent use.
type object struct {
	c       *Container
	ctx     context.Context
	blob    *blob.Client
	info    storage.Info
	etag    *azcore.ETag
	pos     int64         // where the next Read reads
	body    io.ReadCloser // the current download, or nil
	bodyPos int64         // the offset of body's next byte
	closed  bool
}

func (o *object) Info() storage.Info { return o.info }

func (o *object) Read(p []byte) (int, error) {
	if o.closed {
		return 0, fmt.Errorf("blob %q: read after close: %w", o.info.Name, errdef.ErrFailedPrecondition)
	}
	if o.pos >= o.info.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body != nil && o.bodyPos != o.pos {
		o.skip()
	}
	if o.body == nil {
		if err := o.download(); err != nil {
			return 0, err
		}
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos += int64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		o.dropBody()
		if o.pos < o.info.Size {
			return n, fmt.Errorf("blob %q: download ended at %d of %d bytes: %w", o.info.Name, o.pos, o.info.Size, io.ErrUnexpectedEOF)
		}
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	o.dropBody()
	return n, o.c.wrap("read", o.info.Name, err)
}

// skip brings the current download to o.pos: a short step forward is read
// and discarded, anything else ends the download, for a ranged one.
func (o *object) skip() {
	if d := o.pos - o.bodyPos; d > 0 && d <= skipInStream {
		if n, err := io.CopyN(io.Discard, o.body, d); err == nil {
			o.bodyPos += n
			return
		}
	}
	o.dropBody()
}

// download starts a ranged download at o.pos, of the version Open saw.
func (o *object) download() error {
	r, err := o.blob.DownloadStream(o.ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: o.pos},
		AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: o.etag},
		},
	})
	if err != nil {
		return o.c.wrap("read", o.info.Name, err)
	}
	o.body = r.NewRetryReader(o.ctx, &blob.RetryReaderOptions{MaxRetries: 3})
	o.bodyPos = o.pos
	return nil
}

func (o *object) dropBody() {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
}

// Seek only moves the offset; the next Read downloads from there.
func (o *object) Seek(offset int64, whence int) (int64, error) {
	if o.closed {
		return 0, fmt.Errorf("blob %q: seek after close: %w", o.info.Name, errdef.ErrFailedPrecondition)
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.info.Size + offset
	default:
		return 0, fmt.Errorf("blob %q: seek whence %d: %w", o.info.Name, whence, errdef.ErrInvalidArgument)
	}
	if abs < 0 {
		return 0, fmt.Errorf("blob %q: seek to %d, before the start: %w", o.info.Name, abs, errdef.ErrInvalidArgument)
	}
	o.pos = abs
	return abs, nil
}

func (o *object) Close() error {
	o.closed = true
	o.dropBody()
	return nil
}
