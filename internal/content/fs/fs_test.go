package fs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/content/contenttest"
	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

func TestConformance(t *testing.T) {
	contenttest.Run(t, func(t *testing.T) content.Store {
		s, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

var ctx = context.Background()

func blob(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Open hands out the *os.File itself, so http.ServeContent can sendfile.
func TestOpenReturnsFile(t *testing.T) {
	s, _ := fs.New(t.TempDir())
	d := contenttest.Put(t, s, "r", []byte("x"))
	r, _, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*os.File); !ok {
		t.Fatalf("Open returned %T, want *os.File", r)
	}
}

// A failure at any durability step leaves the blob invisible, also to a
// store reopened on the same root (as after a crash), and the upload can be
// committed again.
func TestFaultDuringCommit(t *testing.T) {
	for _, op := range []string{"sync", "rename"} {
		t.Run(op, func(t *testing.T) {
			root := t.TempDir()
			s, _ := fs.New(root)
			injected := errors.New("injected " + op)
			s.SetFault(func(o string) error {
				if o == op {
					return injected
				}
				return nil
			})
			b := blob(300 << 10)
			d := digest.FromBytes(b)
			w, _ := s.Writer(ctx, "up")
			w.Write(b)
			if err := w.Commit(ctx, int64(len(b)), d); !errors.Is(err, injected) {
				t.Fatalf("commit: %v", err)
			}
			reopened, _ := fs.New(root)
			for _, st := range []*fs.Store{s, reopened} {
				if _, _, err := st.Open(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
					t.Fatalf("blob visible after failed %s: %v", op, err)
				}
			}
			w, err := reopened.Writer(ctx, "up")
			if err != nil {
				t.Fatal(err)
			}
			if w.Size() != int64(len(b)) {
				t.Fatalf("upload after failed %s has %d bytes", op, w.Size())
			}
			if err := w.Commit(ctx, int64(len(b)), d); err != nil {
				t.Fatal(err)
			}
			r, _, err := reopened.Open(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(got, b) {
				t.Fatal("content differs")
			}
		})
	}
}

// A process that dies mid-upload (no Close, so no hash state saved, or a
// stale one) resumes on restart by re-hashing what is on disk.
func TestCrashMidUpload(t *testing.T) {
	for _, name := range []string{"no state", "stale state"} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			s, _ := fs.New(root)
			b := blob(1<<20 + 99)
			w, _ := s.Writer(ctx, "up")
			w.Write(b[:500<<10])
			if name == "stale state" {
				w.Close() // state for 500 KiB
				w, _ = s.Writer(ctx, "up")
				w.Write(b[500<<10 : 700<<10]) // then a crash: state not updated
			}
			// "Crash": abandon w; a new process opens the same root.
			restarted, _ := fs.New(root)
			w2, err := restarted.Writer(ctx, "up")
			if err != nil {
				t.Fatal(err)
			}
			w2.Write(b[w2.Size():])
			if err := w2.Commit(ctx, int64(len(b)), digest.FromBytes(b)); err != nil {
				t.Fatalf("commit after restart: %v", err)
			}
			if _, err := os.Stat(filepath.Join(root, "uploads", "up")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("upload file left behind: %v", err)
			}
		})
	}
}
