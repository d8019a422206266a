// Package content defines Bulkhead's content-addressed blob store.
//
// The store is object-shaped and keyed by digest: it holds bytes, never
// metadata. Which repository may see a blob is decided by link rows in
// internal/meta, so one copy on disk may back many registries without any of
// them seeing another's content (DESIGN.md rule 2).
//
// Backends live in sub-packages (content/fs, later content/azblob and
// content/s3) and all pass the shared suite in content/contenttest.
package content

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

// Provider reads committed blobs.
type Provider interface {
	// Open returns a reader positioned at the start of the blob and the
	// blob's size. The fs backend returns an *os.File so that
	// http.ServeContent can use sendfile. It returns an error wrapping
	// errdef.ErrNotFound when the digest is not stored. Safe for concurrent use.
	Open(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, int64, error)
	// Stat returns the size of a committed blob, or errdef.ErrNotFound.
	Stat(ctx context.Context, d digest.Digest) (int64, error)
}

// Ingester accepts new blobs through resumable writers.
type Ingester interface {
	// Writer opens the in-progress upload named ref, creating it when it
	// does not exist, or resuming it (after a restart too) when it does.
	// ref is an opaque, URL-safe name chosen by the caller. Only one writer
	// per ref may be open at a time; a second concurrent Writer for the same
	// ref returns an error wrapping errdef.ErrConflict.
	Writer(ctx context.Context, ref string) (Writer, error)
	// Abort discards the partial data of ref. Aborting an unknown ref is not
	// an error.
	Abort(ctx context.Context, ref string) error
}

// Writer appends to an in-progress upload.
//
// When the backing storage is full (no space left, quota exhausted),
// Ingester.Writer and every Writer method that stores bytes return an error
// wrapping errdef.ErrInsufficientStorage. The upload then holds whatever
// reached the storage; callers that give up on it should Abort it, so that
// a full store frees what it can.
type Writer interface {
	io.Writer
	// Size is the number of bytes in the upload so far, including bytes
	// written by earlier writers for the same ref.
	Size() int64
	// Commit verifies that the upload has exactly size bytes (size < 0 skips
	// that check) and the expected digest, makes it durable and visible to
	// Open, and removes the upload. A mismatch returns an error wrapping
	// errdef.ErrInvalidArgument and leaves the upload in place so the client
	// may retry. Committing a digest that is already stored succeeds and
	// discards the duplicate. Commit always closes the writer, even on error.
	Commit(ctx context.Context, size int64, expected digest.Digest) error
	// Close persists progress so that a later Writer for the same ref can
	// resume, and releases the writer.
	Close() error
}

// Deleter removes committed blobs.
type Deleter interface {
	// Delete removes the blob. Deleting a missing blob returns
	// errdef.ErrNotFound. Callers (garbage collection) must make sure no link
	// references the digest any more.
	Delete(ctx context.Context, d digest.Digest) error
}

// Collector is an optional capability for online garbage collection. The
// caller decides, from metadata, that a blob is unreferenced; Collector
// makes deleting it safe against a concurrent commit of the same digest:
// every commit, new or duplicate, marks the blob as committed now, and
// DeleteIdle removes only blobs not committed since the cutoff, atomically
// with respect to commits.
type Collector interface {
	// Blobs calls fn for every committed blob with its size and the time
	// it was last committed. An error from fn stops the walk.
	Blobs(ctx context.Context, fn func(d digest.Digest, size int64, committed time.Time) error) error
	// DeleteIdle removes d when it was last committed before cutoff and
	// reports whether it did. A missing blob is not an error.
	DeleteIdle(ctx context.Context, d digest.Digest, cutoff time.Time) (bool, error)
}

// Redirecter is an optional capability: a backend that can hand clients a
// direct, time-limited URL (for example an Azure SAS URL) implements it.
// Callers find it with a type assertion.
type Redirecter interface {
	RedirectURL(ctx context.Context, d digest.Digest) (string, error)
}

// Store is the full blob store used for wiring. Helpers take the narrowest
// role they need.
type Store interface {
	Provider
	Ingester
	Deleter
	// Close releases the store's resources.
	Close() error
}

// Sweeper is an optional capability of an Ingester: it removes the partial
// data of uploads that have not been written since before cutoff, and reports
// how many it removed. Abandoned uploads are cleaned up with it even when
// their metadata row was lost.
type Sweeper interface {
	SweepUploads(ctx context.Context, cutoff time.Time) (int, error)
}
