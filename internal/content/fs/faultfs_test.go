package fs

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// errInjected is what faultFS returns for the operation chosen to fail.
var errInjected = errors.New("injected fault")

// op is one filesystem operation that changes state or makes it durable.
// Reads are not ops: failing one leaves the disk as failing the next write
// would.
type op struct {
	kind string // openfile, write, sync, rename, remove, mkdir, syncdir
	path string
}

func (o op) String() string {
	name := filepath.Base(o.path)
	if len(name) > 12 {
		name = name[:12] // a digest: its prefix is enough to tell them apart
	}
	return o.kind + "_" + name
}

// faultFS is the real filesystem with two test powers, after pebble's
// vfs/errorfs and CrashableMem but on real files in a temp dir:
//
//   - fail picks operations that return errInjected instead of running; with
//     die set, every later operation fails too, as if the process had died;
//   - crash turns the directory into what a power loss could leave: of the
//     directory changes not followed by an fsync of their directory, a random
//     prefix survives and the rest is undone (journaling filesystems apply
//     metadata in order), and each file keeps, loses (truncates) or
//     zero-fills the bytes written after its last fsync.
//
// Removals are treated as immediately durable (the removed bytes are gone),
// and a rename over an existing file cannot bring the old file back: both are
// losses the store must tolerate anyway.
type faultFS struct {
	osFS

	mu   sync.Mutex
	fail func(n int, o op) bool // nil fails nothing; n counts ops from 0
	// failWith is what the chosen fault returns: errInjected when nil, or
	// for example ENOSPC to play a full disk.
	failWith func(o op) error
	die      bool
	dead     bool
	ops      []op

	readBytes map[string]int64 // bytes read through ReadAt, per path

	durable map[string]int64 // per file: bytes known to survive a power loss
	pending []dirOp          // directory changes not yet made durable
}

type dirOp struct {
	kind   string // create, rename, mkdir
	path   string // the created, renamed-to or made entry
	from   string // rename source
	parent string // the directory whose fsync makes the change durable
}

func newFaultFS() *faultFS {
	return &faultFS{readBytes: map[string]int64{}, durable: map[string]int64{}}
}

// check records o and decides its fate: fired means o is the chosen fault
// (as opposed to failing because the process is already dead).
func (f *faultFS) check(o op) (fired bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.ops)
	f.ops = append(f.ops, o)
	if f.dead {
		return false, errInjected
	}
	if f.fail != nil && f.fail(n, o) {
		f.dead = f.die
		if f.failWith != nil {
			return true, f.failWith(o)
		}
		return true, errInjected
	}
	return false, nil
}

func (f *faultFS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ops)
}

func (f *faultFS) arm(fail func(n int, o op) bool, die bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.die = fail, die
}

// durableSize reports how many bytes of the file at path would survive a
// power loss.
func (f *faultFS) durableSize(path string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.durable[path]
}

// entryDurable reports whether the directory entry at path would survive a
// power loss.
func (f *faultFS) entryDurable(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.pending {
		if d.path == path || d.kind == "mkdir" && strings.HasPrefix(path, d.path+string(filepath.Separator)) {
			return false
		}
	}
	return true
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	if _, err := f.check(op{"openfile", name}); err != nil {
		return nil, err
	}
	_, statErr := os.Lstat(name)
	existed := statErr == nil
	osf, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case !existed:
		f.pending = append(f.pending, dirOp{kind: "create", path: name, parent: filepath.Dir(name)})
		f.durable[name] = 0
	case flag&os.O_TRUNC != 0:
		f.durable[name] = 0 // the truncation may reach the disk before new data
	default:
		if _, ok := f.durable[name]; !ok {
			fi, err := osf.Stat()
			if err != nil {
				osf.Close()
				return nil, err
			}
			f.durable[name] = fi.Size() // predates this FS: assume durable
		}
	}
	return &faultFile{fs: f, f: osf, path: name}, nil
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if _, err := f.check(op{"rename", newpath}); err != nil {
		return err
	}
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, dirOp{kind: "rename", path: newpath, from: oldpath, parent: filepath.Dir(newpath)})
	f.durable[newpath] = f.durable[oldpath]
	delete(f.durable, oldpath)
	return nil
}

func (f *faultFS) Remove(name string) error {
	if _, err := f.check(op{"remove", name}); err != nil {
		return err
	}
	if err := os.Remove(name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.durable, name)
	return nil
}

func (f *faultFS) Mkdir(name string, perm os.FileMode) error {
	if _, err := f.check(op{"mkdir", name}); err != nil {
		return err
	}
	if err := os.Mkdir(name, perm); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, dirOp{kind: "mkdir", path: name, parent: filepath.Dir(name)})
	return nil
}

func (f *faultFS) SyncDir(name string) error {
	if _, err := f.check(op{"syncdir", name}); err != nil {
		return err
	}
	if err := f.osFS.SyncDir(name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = slices.DeleteFunc(f.pending, func(d dirOp) bool { return d.parent == name })
	return nil
}

// crash kills the process that used f and, with powerLoss, rolls the disk
// back to something a power loss could leave. rng draws what survives.
func (f *faultFS) crash(powerLoss bool, rng *rand.Rand) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead = true
	if !powerLoss {
		return nil // the kernel keeps everything a killed process wrote
	}
	kept := rng.IntN(len(f.pending) + 1)
	for i := len(f.pending) - 1; i >= kept; i-- {
		if err := f.undo(f.pending[i]); err != nil {
			return err
		}
	}
	f.pending = nil
	paths := make([]string, 0, len(f.durable))
	for p := range f.durable {
		paths = append(paths, p)
	}
	slices.Sort(paths) // deterministic use of rng
	for _, p := range paths {
		keep := f.durable[p]
		fi, err := os.Stat(p)
		if err != nil || fi.Size() <= keep {
			continue
		}
		switch rng.IntN(3) {
		case 0: // the unsynced bytes happened to reach the disk
		case 1:
			if err := os.Truncate(p, keep); err != nil {
				return err
			}
		case 2: // the size reached the disk but the data did not
			if err := zeroFill(p, keep, fi.Size()); err != nil {
				return err
			}
		}
	}
	return nil
}

// undo reverts one directory change that did not survive the power loss.
func (f *faultFS) undo(d dirOp) error {
	switch d.kind {
	case "create":
		os.Remove(d.path)
		delete(f.durable, d.path)
	case "rename":
		if _, err := os.Lstat(d.path); err != nil {
			return nil // removed since
		}
		if err := os.Rename(d.path, d.from); err != nil {
			return err
		}
		f.durable[d.from] = f.durable[d.path]
		delete(f.durable, d.path)
	case "mkdir":
		if err := os.RemoveAll(d.path); err != nil {
			return err
		}
		for p := range f.durable {
			if strings.HasPrefix(p, d.path+string(filepath.Separator)) {
				delete(f.durable, p)
			}
		}
	}
	return nil
}

func zeroFill(p string, from, to int64) error {
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fh.WriteAt(make([]byte, to-from), from)
	return errors.Join(err, fh.Close())
}

// faultFile is a file opened through faultFS.
type faultFile struct {
	fs   *faultFS
	f    *os.File
	path string
}

// Write fails as chosen; the chosen failure is a torn write that stores half
// of p first, as a crash in the middle of a write could.
func (ff *faultFile) Write(p []byte) (int, error) {
	fired, err := ff.fs.check(op{"write", ff.path})
	if fired {
		n, _ := ff.f.Write(p[:len(p)/2])
		return n, err
	}
	if err != nil {
		return 0, err
	}
	return ff.f.Write(p)
}

func (ff *faultFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := ff.f.ReadAt(p, off)
	ff.fs.mu.Lock()
	ff.fs.readBytes[ff.path] += int64(n)
	ff.fs.mu.Unlock()
	return n, err
}

func (ff *faultFile) Sync() error {
	if _, err := ff.fs.check(op{"sync", ff.path}); err != nil {
		return err
	}
	if err := ff.f.Sync(); err != nil {
		return err
	}
	fi, err := ff.f.Stat()
	if err != nil {
		return err
	}
	ff.fs.mu.Lock()
	ff.fs.durable[ff.path] = fi.Size()
	ff.fs.mu.Unlock()
	return nil
}

// Close always releases the descriptor; closing changes nothing on disk.
func (ff *faultFile) Close() error               { return ff.f.Close() }
func (ff *faultFile) Stat() (os.FileInfo, error) { return ff.f.Stat() }
