package fs

import (
	"errors"
	"io"
	"os"
	"time"
)

// fileSystem is every filesystem operation the store performs. It exists so
// that tests can fail any single step and simulate a power loss on real files
// (STYLE rule 14); production always uses osFS. Each durability step
// (create, write, sync, rename, mkdir, directory sync) is its own method so
// that it is separately observable.
type fileSystem interface {
	// Open opens a committed blob or a sidecar read-only. It returns
	// *os.File, not file, so that Store.Open can hand the kernel a
	// descriptor to sendfile.
	Open(name string) (*os.File, error)
	// OpenFile opens an upload or sidecar for writing.
	OpenFile(name string, flag int, perm os.FileMode) (file, error)
	Stat(name string) (os.FileInfo, error)
	ReadDir(name string) ([]os.DirEntry, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	Mkdir(name string, perm os.FileMode) error
	// Chtimes sets a committed blob's times: its modification time records
	// the last commit, which garbage collection reads.
	Chtimes(name string, atime, mtime time.Time) error
	// SyncDir makes the entries of directory name (creations, renames into
	// it) durable.
	SyncDir(name string) error
}

// file is an open upload or sidecar.
type file interface {
	io.Writer
	io.ReaderAt
	io.Closer
	Sync() error
	Stat() (os.FileInfo, error)
}

// osFS is the real filesystem.
type osFS struct{}

func (osFS) Open(name string) (*os.File, error) { return os.Open(name) }

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		// Return a nil interface, not a typed nil *os.File.
		return nil, err
	}
	return f, nil
}

func (osFS) Stat(name string) (os.FileInfo, error)      { return os.Stat(name) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error) { return os.ReadDir(name) }
func (osFS) Rename(oldpath, newpath string) error       { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                   { return os.Remove(name) }
func (osFS) Mkdir(name string, perm os.FileMode) error  { return os.Mkdir(name, perm) }
func (osFS) Chtimes(name string, atime, mtime time.Time) error {
	return os.Chtimes(name, atime, mtime)
}

func (osFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
