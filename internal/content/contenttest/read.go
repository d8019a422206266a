package contenttest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// Cases for Provider and Deleter, and for argument validation.

func testRoundTrip(t *testing.T, s content.Store) {
	b := randomBytes(3<<20 + 17) // several buffers' worth, odd length
	d := Put(t, s, "r1", b)
	mustRead(t, s, d, b)
	empty := Put(t, s, "r2", nil)
	if empty != digest.FromBytes(nil) {
		t.Fatalf("empty digest %s", empty)
	}
	mustRead(t, s, empty, nil)
}

func testStat(t *testing.T, s content.Store) {
	b := randomBytes(12345)
	d := Put(t, s, "r", b)
	if n, err := s.Stat(t.Context(), d); err != nil || n != int64(len(b)) {
		t.Fatalf("stat: %d, %v; want %d", n, err, len(b))
	}
	missing := digest.FromString("never stored")
	if _, err := s.Stat(t.Context(), missing); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("stat of a missing blob: %v, want ErrNotFound", err)
	}
	if _, _, err := s.Open(t.Context(), missing); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("open of a missing blob: %v, want ErrNotFound", err)
	}
}

// testSeek exercises what http.ServeContent does for Range requests: seek to
// the end for the size, then seek and read a window.
func testSeek(t *testing.T, s content.Store) {
	b := randomBytes(1 << 20)
	d := Put(t, s, "r", b)
	r, size, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != size || size != int64(len(b)) {
		t.Fatalf("seek to end: %d, %v; size %d", end, err, size)
	}
	for _, rg := range []struct{ off, n int64 }{{0, 10}, {5000, 100}, {int64(len(b)) - 7, 7}, {700000, 65536}} {
		if _, err := r.Seek(rg.off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		part := make([]byte, rg.n)
		if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, b[rg.off:rg.off+rg.n]) {
			t.Fatalf("range %d+%d: %v", rg.off, rg.n, err)
		}
	}
	if pos, err := r.Seek(-10, io.SeekCurrent); err != nil || pos != 700000+65536-10 {
		t.Fatalf("seek relative: %d, %v", pos, err)
	}
	if _, err := r.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read at end: %d, %v; want 0, io.EOF", n, err)
	}
}

func testDelete(t *testing.T, s content.Store) {
	keep := Put(t, s, "k", []byte("keep"))
	d := Put(t, s, "r", []byte("bye"))
	if err := s.Delete(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(t.Context(), d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("open after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(t.Context(), d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("stat after delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(t.Context(), d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	mustRead(t, s, keep, []byte("keep"))
	// A deleted digest can be stored again.
	Put(t, s, "again", []byte("bye"))
	mustRead(t, s, d, []byte("bye"))
}

// testInvalid checks that malformed digests and refs are refused as
// ErrInvalidArgument (a client error), never used to build a path or key.
func testInvalid(t *testing.T, s content.Store) {
	ctx := t.Context()
	bad := []digest.Digest{
		"", "nope", "sha256:abc", "sha256:../../etc/passwd",
		"sha256:" + digest.Digest(bytes.Repeat([]byte("A"), 64)),
		"md5:d41d8cd98f00b204e9800998ecf8427e",
	}
	for _, d := range bad {
		if _, _, err := s.Open(ctx, d); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("open %q: %v, want ErrInvalidArgument", d, err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("stat %q: %v, want ErrInvalidArgument", d, err)
		}
		if err := s.Delete(ctx, d); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("delete %q: %v, want ErrInvalidArgument", d, err)
		}
	}
	// A commit to a malformed digest is refused and, like any refused
	// commit, keeps the upload.
	for _, d := range bad {
		w := writer(t, s, "r")
		write(t, w, []byte("data"))
		if err := w.Commit(ctx, -1, d); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("commit to %q: %v, want ErrInvalidArgument", d, err)
		}
	}
	if w := writer(t, s, "r"); w.Size() != int64(len("data"))*int64(len(bad)) {
		t.Errorf("upload after refused commits has %d bytes", w.Size())
	} else {
		w.Close()
	}
	for _, ref := range []string{"", "a/b", "..", "../x", "a/../b"} {
		if w, err := s.Writer(ctx, ref); !errors.Is(err, errdef.ErrInvalidArgument) {
			if err == nil {
				w.Close()
			}
			t.Errorf("writer %q: %v, want ErrInvalidArgument", ref, err)
		}
		if err := s.Abort(ctx, ref); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("abort %q: %v, want ErrInvalidArgument", ref, err)
		}
	}
}
