// Package storage is where transfer pipelines put their archives and find
// them: an Azure Blob Storage container (azblob, authenticated by a SAS
// token from Key Vault) or, as a Bulkhead extension for hand-over on
// removable media, a local directory (file:///…).
//
// A Container is object-shaped: whole archives named by the pipeline run,
// written once. Nothing is visible under a name until its writer commits,
// so a run that dies half-way never leaves an archive that looks complete.
//
// The backends are the sub-packages dir and azblob; endpoint.Open picks
// one by the pipeline's storage URI. storagetest is the suite both pass.
package storage

import (
	"context"
	"io"
	"time"
)

// Container holds the archives of one pipeline endpoint.
type Container interface {
	// Create starts a new object. Nothing is visible under name until the
	// writer commits; a committed object of the same name stays as it is
	// until then, and is replaced by the commit.
	Create(ctx context.Context, name string) (ObjectWriter, error)
	// Open reads a committed object. The reader seeks (ranged reads on
	// Azure), so an archive reader can skip what it does not need.
	// errdef.ErrNotFound when there is no such object.
	Open(ctx context.Context, name string) (Object, error)
	// List lists committed objects in name order, for import triggers.
	List(ctx context.Context) ([]Info, error)
	// Stat describes one committed object; errdef.ErrNotFound when absent.
	Stat(ctx context.Context, name string) (Info, error)
	// Delete removes a committed object; errdef.ErrNotFound when absent.
	Delete(ctx context.Context, name string) error
}

// Info describes a committed object.
type Info struct {
	Name         string
	Size         int64
	LastModified time.Time
	// ETag changes whenever the object is replaced; with Name it
	// identifies one version of an object, so a trigger imports it once.
	ETag string
	// ContentMD5 is the MD5 of the whole object when the store has it.
	ContentMD5 []byte
	// Metadata are the name/value pairs given at commit (Azure blob
	// metadata); keys are lower-case.
	Metadata map[string]string
}

// Object is an open committed object.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// ObjectWriter streams a new object. It never holds the object whole in
// memory or stages it whole on local disk beyond the store itself.
type ObjectWriter interface {
	io.Writer
	// Commit makes the object visible under its name, with metadata,
	// atomically (Azure: the block list is committed only here; a
	// directory: rename). It closes the writer.
	Commit(ctx context.Context, metadata map[string]string) (Info, error)
	// Abort discards what was written and closes the writer.
	Abort(ctx context.Context) error
}
