package fs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/content/contenttest"
	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

func TestConformance(t *testing.T) {
	contenttest.Run(t, func(t *testing.T) content.Store { return newStore(t, t.TempDir()) })
}

func newStore(t testing.TB, root string) *fs.Store {
	t.Helper()
	s, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Open hands out the *os.File itself, so http.ServeContent can sendfile.
func TestOpenReturnsFile(t *testing.T) {
	s := newStore(t, t.TempDir())
	d := contenttest.Put(t, s, "r", []byte("x"))
	r, _, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*os.File); !ok {
		t.Fatalf("Open returned %T, want *os.File", r)
	}
}

// The on-disk layout is documented in the package comment; operators and
// backup scripts rely on it.
func TestLayout(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	d := contenttest.Put(t, s, "r", []byte("layout"))
	want := filepath.Join(root, "blobs", "sha256", d.Encoded()[:2], d.Encoded())
	if b, err := os.ReadFile(want); err != nil || string(b) != "layout" {
		t.Fatalf("blob not at %s: %v", want, err)
	}
	left, err := os.ReadDir(filepath.Join(root, "uploads"))
	if err != nil || len(left) != 0 {
		t.Fatalf("uploads left after commit: %v %v", left, err)
	}
}

func TestRefNames(t *testing.T) {
	s := newStore(t, t.TempDir())
	bad := []string{".hidden", ".x.state", `a\b`, "a b", "é", "a%2Fb", "a:b", strings.Repeat("a", 201)}
	for _, ref := range bad {
		if _, err := s.Writer(t.Context(), ref); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("writer %q: %v, want ErrInvalidArgument", ref, err)
		}
	}
	for _, ref := range []string{"4f1c2a8e-9a7b-4c1e-8f00-1234567890ab", "a.b", "x~y_z-1", "a.state", strings.Repeat("a", 200)} {
		w, err := s.Writer(t.Context(), ref)
		if err != nil {
			t.Errorf("writer %q: %v", ref, err)
			continue
		}
		w.Close()
	}
}

// Abort must not pull an upload from under an open writer.
func TestAbortWhileWriting(t *testing.T) {
	s := newStore(t, t.TempDir())
	w, err := s.Writer(t.Context(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(t.Context(), "r"); !errors.Is(err, errdef.ErrConflict) {
		t.Fatalf("abort with an open writer: %v, want ErrConflict", err)
	}
	w.Close()
	if err := s.Abort(t.Context(), "r"); err != nil {
		t.Fatal(err)
	}
}

// A process killed mid-upload (no Close, so no hash state saved, or a stale
// one) resumes on restart from what is on disk.
func TestKilledMidUpload(t *testing.T) {
	b := make([]byte, 1<<20+99)
	for i := range b {
		b[i] = byte(i * 7)
	}
	for _, name := range []string{"no state", "stale state"} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			s := newStore(t, root)
			w, err := s.Writer(t.Context(), "up")
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b[:500<<10])
			if name == "stale state" {
				w.Close() // state for 500 KiB
				w, _ = s.Writer(t.Context(), "up")
				w.Write(b[500<<10 : 700<<10]) // then killed: state not updated
			}
			restarted := newStore(t, root)
			w2, err := restarted.Writer(t.Context(), "up")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w2.Write(b[w2.Size():]); err != nil {
				t.Fatal(err)
			}
			if err := w2.Commit(t.Context(), int64(len(b)), digest.FromBytes(b)); err != nil {
				t.Fatalf("commit after restart: %v", err)
			}
			left, _ := os.ReadDir(filepath.Join(root, "uploads"))
			if len(left) != 0 {
				t.Fatalf("upload files left behind: %v", left)
			}
		})
	}
}

// Sidecars whose data file is gone (a crash during Abort, say) are swept but
// not counted; files the store did not make are left alone.
func TestSweepOrphans(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	uploads := filepath.Join(root, "uploads")
	old := time.Now().Add(-48 * time.Hour)
	for _, name := range []string{".ghost.state", ".not-ours", "lost+found!"} {
		p := filepath.Join(uploads, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.SweepUploads(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("sweep: %d, %v; want 0 uploads", n, err)
	}
	if _, err := os.Stat(filepath.Join(uploads, ".ghost.state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan sidecar kept: %v", err)
	}
	for _, name := range []string{".not-ours", "lost+found!"} {
		if _, err := os.Stat(filepath.Join(uploads, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
