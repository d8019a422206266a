// Package dir is a storage.Container in a local directory: the Bulkhead
// extension (file:///abs/path) for handing archives over on removable
// media.
//
// Layout: each object is a plain file under its own name, so the archives
// on a medium can be seen and copied with ordinary tools. Everything else
// is hidden (its name starts with a dot) and never listed: the temp file a
// writer fills (`..<random>.partial`) and the metadata sidecar
// (`.<name>.meta.json`) that keeps what a file system cannot: the commit
// metadata, the MD5 and the ETag. The sidecar is JSON and holds no
// platform-specific fields, since FAT and exFAT media have neither xattrs
// nor stable inode numbers, and keep local-time mtimes.
//
// Commit writes and syncs the data, writes and syncs the sidecar, renames
// the sidecar into place, then renames the data into place and syncs the
// directory. A sidecar whose recorded size differs from its file's is
// stale and ignored. A crash, or a reader, between the two renames of a
// replacement sees the old bytes under the new sidecar; when the sizes
// happen to match, the new ETag and MD5 describe old bytes, so a reader
// that checks ContentMD5 (as an import run does) fails instead of
// importing them, and the next look after the rename is right.
package dir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

// MaxName is the longest object name in bytes: the longest file name most
// file systems take.
const MaxName = 255

// Container keeps objects as files in one directory. Its methods are safe
// for concurrent use; two writers of one name race, and the last commit
// wins.
type Container struct {
	root string
}

var _ storage.Container = (*Container)(nil)

// New opens the directory root, which must be an absolute path to an
// existing directory. It is never created: a medium that is not mounted
// must fail the run (errdef.ErrNotFound), not fill the disk beneath the
// mount point.
func New(root string) (*Container, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("storage directory %q: want an absolute path: %w", root, errdef.ErrInvalidArgument)
	}
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("storage directory %s does not exist (is the medium mounted?): %w", root, errdef.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage directory %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("storage directory %s is not a directory: %w", root, errdef.ErrInvalidArgument)
	}
	c := &Container{root: root}
	c.sweepPartials(time.Now().Add(-abandonedAfter))
	return c, nil
}

// abandonedAfter is how long a partial file may go unwritten before it is
// taken for a writer that died (kill -9, a crash, a medium pulled out): a
// live writer touches its file with every block.
const abandonedAfter = time.Hour

// sweepPartials removes the partial files (and partial sidecars) that no
// writer has touched since cutoff. It is best effort: a read-only medium
// or a file removed meanwhile is no error.
func (c *Container) sweepPartials(cutoff time.Time) {
	entries, err := os.ReadDir(c.root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") || !strings.HasSuffix(e.Name(), partialSuffix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(c.root, e.Name()))
		}
	}
}

// Root is the directory the container keeps its objects in.
func (c *Container) Root() string { return c.root }

// CheckName refuses what is not a plain file name: empty, longer than
// MaxName bytes, not UTF-8, a control character, a path separator (`/`,
// `\`), or a leading dot (hidden files are the container's own, and `.`
// and `..` are not files). The error wraps errdef.ErrInvalidArgument.
func CheckName(name string) error {
	why := ""
	switch {
	case name == "":
		why = "empty"
	case len(name) > MaxName:
		why = fmt.Sprintf("longer than %d bytes", MaxName)
	case name[0] == '.':
		why = "starts with a dot"
	case !utf8.ValidString(name):
		why = "not UTF-8"
	default:
		for _, r := range name {
			if r == '/' || r == '\\' {
				why = "has a path separator"
				break
			}
			if r < 0x20 || r == 0x7f {
				why = "has a control character"
				break
			}
		}
	}
	if why != "" {
		return fmt.Errorf("object name %q: %s, want a plain file name: %w", name, why, errdef.ErrInvalidArgument)
	}
	return nil
}

// sidecar is the JSON kept beside an object in .<name>.meta.json.
type sidecar struct {
	// ETag is random per commit, so that it changes with every
	// replacement even when size and mtime do not.
	ETag     string            `json:"etag"`
	Size     int64             `json:"size"`
	MD5      []byte            `json:"md5"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// sidecarName is the hidden name of name's sidecar. A name too long to
// take the decoration gets a hashed one; it starts with two dots, which
// no plain sidecar name can (names never start with a dot).
func sidecarName(name string) string {
	const suffix = ".meta.json"
	if len(name)+1+len(suffix) <= MaxName {
		return "." + name + suffix
	}
	return ".." + hashName(name) + suffix
}

func (c *Container) path(name string) string { return filepath.Join(c.root, name) }

// Open implements storage.Container. The object reads the file as it was
// when opened: a replacement renames a new file over the name and leaves
// the open one intact.
func (c *Container) Open(_ context.Context, name string) (storage.Object, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(c.path(name), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, c.fileErr(name, err)
	}
	info, err := c.info(name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &object{File: f, info: info}, nil
}

// Stat implements storage.Container.
func (c *Container) Stat(_ context.Context, name string) (storage.Info, error) {
	if err := CheckName(name); err != nil {
		return storage.Info{}, err
	}
	f, err := os.OpenFile(c.path(name), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return storage.Info{}, c.fileErr(name, err)
	}
	defer f.Close()
	return c.info(name, f)
}

// List implements storage.Container. It skips hidden files and anything
// that is not a regular file with a valid object name, so that every name
// it returns can be opened.
func (c *Container) List(ctx context.Context) ([]storage.Info, error) {
	entries, err := os.ReadDir(c.root)
	if err != nil {
		return nil, fmt.Errorf("storage directory %s: %w", c.root, err)
	}
	var infos []storage.Info
	for _, e := range entries { // ReadDir sorts by name
		if !e.Type().IsRegular() || CheckName(e.Name()) != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, err := c.Stat(ctx, e.Name())
		if errors.Is(err, errdef.ErrNotFound) {
			continue // deleted or replaced by a non-file since ReadDir
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// Delete implements storage.Container. The object goes first, so that it
// vanishes at once; a sidecar left by a crash after that is stale and
// replaced by the next commit of the name.
func (c *Container) Delete(_ context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	fi, err := os.Lstat(c.path(name))
	if err != nil {
		return c.fileErr(name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("object %s: not a regular file: %w", name, errdef.ErrNotFound)
	}
	if err := os.Remove(c.path(name)); err != nil {
		return c.fileErr(name, err)
	}
	if err := os.Remove(c.path(sidecarName(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("object %s: removing its metadata: %w", name, err)
	}
	return syncDir(c.root)
}

// info describes the open file f of object name, with its sidecar when
// the sidecar matches the file.
func (c *Container) info(name string, f *os.File) (storage.Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return storage.Info{}, fmt.Errorf("object %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.Info{}, fmt.Errorf("object %s: not a regular file: %w", name, errdef.ErrNotFound)
	}
	info := storage.Info{Name: name, Size: fi.Size(), LastModified: fi.ModTime().UTC()}
	sc, err := c.readSidecar(name)
	if err == nil && sc.Size == fi.Size() {
		info.ETag, info.ContentMD5, info.Metadata = sc.ETag, sc.MD5, sc.Metadata
		return info, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return storage.Info{}, fmt.Errorf("object %s: reading its metadata: %w", name, err)
	}
	// A file put there by hand, or a stale sidecar: no metadata, and an
	// ETag from what the file system has, which a replacement changes.
	info.ETag = fallbackETag(fi)
	return info, nil
}

func (c *Container) readSidecar(name string) (sidecar, error) {
	var sc sidecar
	b, err := os.ReadFile(c.path(sidecarName(name)))
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		// A damaged sidecar is as good as none: the object stays readable.
		return sidecar{Size: -1}, nil
	}
	return sc, nil
}

// fallbackETag derives an ETag from size, mtime and inode.
func fallbackETag(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf(`"%x-%x-%x"`, fi.Size(), fi.ModTime().UnixNano(), ino)
}

// fileErr classifies an error of opening or removing object name.
func (c *Container) fileErr(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("object %s in %s: %w", name, c.root, errdef.ErrNotFound)
	case errors.Is(err, syscall.ELOOP):
		// O_NOFOLLOW met a symlink: a symlink is never an object, so that
		// a medium cannot point a pipeline at a file elsewhere.
		return fmt.Errorf("object %s in %s is a symbolic link: %w", name, c.root, errdef.ErrNotFound)
	}
	return full(fmt.Errorf("object %s in %s: %w", name, c.root, err))
}

// object is an open committed file.
type object struct {
	*os.File
	info storage.Info
}

func (o *object) Info() storage.Info { return o.info }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func hashName(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func newETag() string { return `"` + randomHex(16) + `"` }

// full classifies err: a full file system (ENOSPC) or quota (EDQUOT) is
// errdef.ErrInsufficientStorage; the errno stays in the chain.
func full(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", errdef.ErrInsufficientStorage, err)
	}
	return err
}

// syncDir makes renames and removals in dir durable. File systems that
// cannot sync a directory (EINVAL, as some FUSE and FAT drivers answer)
// order their metadata writes themselves; that is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return full(err)
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	return full(errors.Join(err, d.Close()))
}
