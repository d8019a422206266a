package dir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/storagetest"
)

func newContainer(t *testing.T) storage.Container {
	c, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSuite(t *testing.T) {
	storagetest.Run(t, newContainer)
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	for _, tc := range []struct {
		root string
		want error
	}{
		{"relative/path", errdef.ErrInvalidArgument},
		{filepath.Join(dir, "missing"), errdef.ErrNotFound},
		{file, errdef.ErrInvalidArgument},
	} {
		if _, err := New(tc.root); !errors.Is(err, tc.want) {
			t.Errorf("New(%q) = %v, want %v", tc.root, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Error("New created a missing directory")
	}
}

// TestHiddenFiles checks that a pending writer, and the sidecars of
// committed objects, are hidden files that List skips, and that files put
// there by other hands are listed only when they are plain objects.
func TestHiddenFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	c, _ := New(root)
	w, _ := c.Create(ctx, "pending")
	w.Write([]byte("x"))
	defer w.Abort(ctx)
	cw, _ := c.Create(ctx, "done")
	cw.Commit(ctx, map[string]string{"a": "b"})
	os.WriteFile(filepath.Join(root, "by-hand.tar"), []byte("hand"), 0o600)
	os.WriteFile(filepath.Join(root, `back\slash`), nil, 0o600)
	os.Mkdir(filepath.Join(root, "subdir"), 0o700)
	os.Symlink("/etc/passwd", filepath.Join(root, "link"))

	entries, _ := os.ReadDir(root)
	hidden := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			hidden++
		}
	}
	if hidden != 2 { // the pending temp file and done's sidecar
		t.Errorf("%d hidden files, want 2: %v", hidden, entries)
	}
	l, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range l {
		got = append(got, i.Name)
	}
	if strings.Join(got, ",") != "by-hand.tar,done" {
		t.Errorf("List = %v", got)
	}
	// A file put there by hand has an ETag and no MD5 or metadata.
	if l[0].ETag == "" || l[0].ContentMD5 != nil || l[0].Metadata != nil {
		t.Errorf("by-hand.tar: %+v", l[0])
	}
	if _, err := c.Open(ctx, "link"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Open of a symlink: %v, want not found", err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(root)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("%s left after Abort", e.Name())
		}
	}
}

// TestStaleSidecar checks that a sidecar which does not match its file
// (the file was replaced by hand, or a commit crashed between its two
// renames) is ignored rather than believed.
func TestStaleSidecar(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	c, _ := New(root)
	w, _ := c.Create(ctx, "obj")
	w.Write([]byte("committed"))
	old, err := w.Commit(ctx, map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "obj"), []byte("replaced by hand"), 0o600)
	st, err := c.Stat(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag == old.ETag || st.Metadata != nil || st.ContentMD5 != nil || st.Size != 16 {
		t.Errorf("stale sidecar believed: %+v", st)
	}
	os.WriteFile(filepath.Join(root, ".obj.meta.json"), []byte("{not json"), 0o600)
	if _, err := c.Stat(ctx, "obj"); err != nil {
		t.Errorf("a damaged sidecar hides the object: %v", err)
	}
}

func TestLongName(t *testing.T) {
	c := newContainer(t)
	ctx := context.Background()
	name := strings.Repeat("n", MaxName)
	w, err := c.Create(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("long"))
	if _, err := w.Commit(ctx, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stat(ctx, name)
	if err != nil || st.Metadata["k"] != "v" {
		t.Fatalf("Stat: %+v %v", st, err)
	}
	if _, err := c.Create(ctx, name+"n"); !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Errorf("a name of %d bytes: %v", MaxName+1, err)
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"a", "run-1.tar.gz", "x y", "ünïcode", "a..b", "trailing."} {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", ".hidden", "a/b", `a\b`, "a\x00", "\x7f", "\xff", strings.Repeat("x", 256)} {
		if err := CheckName(n); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("CheckName(%q) = %v, want invalid", n, err)
		}
	}
}

// FuzzNameDir checks that a name CheckName accepts is one plain file
// directly inside the directory, and that every hidden name derived from
// it stays hidden and inside too.
func FuzzNameDir(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", ".x", "x\x00", strings.Repeat("é", 128)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := CheckName(name)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidArgument) {
				t.Fatalf("CheckName(%q) = %v, not an invalid argument", name, err)
			}
			return
		}
		for _, n := range []string{name, sidecarName(name)} {
			if len(n) > MaxName || filepath.Base(n) != n || n == "." || n == ".." || strings.ContainsAny(n, "/\\\x00") {
				t.Fatalf("name %q gives file name %q", name, n)
			}
			if p := filepath.Join("/root", n); filepath.Dir(p) != "/root" {
				t.Fatalf("name %q escapes: %s", name, p)
			}
		}
		if !strings.HasPrefix(sidecarName(name), ".") || strings.HasPrefix(name, ".") {
			t.Fatalf("name %q: hidden and visible names mix", name)
		}
	})
}

// TestFull checks that a full file system is errdef.ErrInsufficientStorage,
// with a real ENOSPC: the temp file is swapped for /dev/full.
func TestFull(t *testing.T) {
	devFull, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	ctx := context.Background()
	c := newContainer(t)
	ow, err := c.Create(ctx, "full")
	if err != nil {
		t.Fatal(err)
	}
	w := ow.(*writer)
	w.f.Close()
	w.f = devFull
	if _, err := w.Write([]byte("data")); !errors.Is(err, errdef.ErrInsufficientStorage) {
		t.Errorf("Write: %v, want insufficient storage", err)
	}
	if _, err := w.Commit(ctx, nil); !errors.Is(err, errdef.ErrInsufficientStorage) {
		t.Errorf("Commit: %v, want insufficient storage", err)
	}
	if l, _ := c.List(ctx); len(l) != 0 {
		t.Errorf("List after a failed commit: %v", l)
	}
	entries, _ := os.ReadDir(c.(*Container).Root())
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// Partial files that no writer touched for an hour (a writer killed
// mid-way) are removed when the directory is opened again; fresh ones and
// committed objects stay.
func TestStalePartialsSwept(t *testing.T) {
	root := t.TempDir()
	old := filepath.Join(root, "..0123456789abcdef.partial")
	fresh := filepath.Join(root, "..fedcba9876543210.partial")
	kept := filepath.Join(root, "archive.tar")
	for _, p := range []string{old, fresh, kept} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stale := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, stale, stale)
	os.Chtimes(kept, stale, stale)
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("a stale partial file survived")
	}
	for _, p := range []string{fresh, kept} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
