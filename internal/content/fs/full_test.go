package fs

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// TestFullDisk fails each step of an upload's life in turn (create, write,
// sync, sidecar, mkdir, rename, directory sync) with ENOSPC and with
// EDQUOT, as a full filesystem or an exhausted quota would, and checks
// that the error the store returns is errdef.ErrInsufficientStorage, the
// class the planes answer as a retryable 503, and keeps its errno.
func TestFullDisk(t *testing.T) {
	b := fixedBytes(7, 300<<10)
	d := digest.FromBytes(b)
	// upload writes half, closes, resumes, writes the rest and commits,
	// returning the first error.
	upload := func(s *Store) error {
		ctx := t.Context()
		w, err := s.Writer(ctx, "up")
		if err != nil {
			return err
		}
		if _, err := w.Write(b[:len(b)/2]); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if w, err = s.Writer(ctx, "up"); err != nil {
			return err
		}
		if _, err := w.Write(b[w.Size():]); err != nil {
			w.Close()
			return err
		}
		return w.Commit(ctx, int64(len(b)), d)
	}
	// Count the steps of a clean run.
	fsys := newFaultFS()
	s, err := newStore(t.TempDir(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	start := fsys.count()
	if err := upload(s); err != nil {
		t.Fatal(err)
	}
	var steps []op
	fsys.mu.Lock()
	for _, o := range fsys.ops[start:] {
		if o.kind != "remove" { // removing never needs space
			steps = append(steps, o)
		}
	}
	fsys.mu.Unlock()
	if len(steps) < 8 {
		t.Fatalf("only %d steps: %v", len(steps), steps)
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		for i, step := range steps {
			t.Run(errno.Error()+"/"+step.String(), func(t *testing.T) {
				fsys := newFaultFS()
				s, err := newStore(t.TempDir(), fsys)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				fsys.arm(func(_ int, o op) bool {
					if o.kind == "remove" {
						return false
					}
					n++
					return n == i+1
				}, false)
				fsys.failWith = func(o op) error { return &os.PathError{Op: o.kind, Path: o.path, Err: errno} }
				err = upload(s)
				if n <= i {
					t.Skipf("the run took another path and never reached %s", step)
				}
				if !errors.Is(err, errdef.ErrInsufficientStorage) || !errors.Is(err, errno) {
					t.Fatalf("%s failing with %v: got %v, want errdef.ErrInsufficientStorage wrapping it", step, errno, err)
				}
			})
		}
	}
}
