// Package contenttest is the conformance suite every content.Store
// backend must pass (filesystem now; Azure Blob and S3 next).
package contenttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// Run runs the suite; newStore returns a fresh, empty store for each case.
func Run(t *testing.T, newStore func(t *testing.T) content.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s content.Store)
	}{
		{"write commit open", testRoundTrip},
		{"seek and partial reads", testSeek},
		{"resume across writers", testResume},
		{"wrong digest keeps the upload", testWrongDigest},
		{"wrong size", testWrongSize},
		{"sha512", testSHA512},
		{"duplicate commit", testDuplicate},
		{"abort", testAbort},
		{"delete", testDelete},
		{"invalid digest and ref", testInvalid},
		{"one writer per ref", testWriterConflict},
		{"concurrent commits of the same content", testConcurrentCommit},
		{"partial upload never visible", testPartialInvisible},
		{"sweeper", testSweeper},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Put writes and commits b under ref.
func Put(t *testing.T, s content.Ingester, ref string, b []byte) digest.Digest {
	t.Helper()
	w, err := s.Writer(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(b)
	if err := w.Commit(ctx, int64(len(b)), d); err != nil {
		t.Fatal(err)
	}
	return d
}

func read(t *testing.T, s content.Provider, d digest.Digest) []byte {
	t.Helper()
	r, size, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || int64(len(b)) != size {
		t.Fatalf("read %d of %d: %v", len(b), size, err)
	}
	return b
}

func testRoundTrip(t *testing.T, s content.Store) {
	b := randomBytes(3<<20 + 17)
	d := Put(t, s, "r1", b)
	if !bytes.Equal(read(t, s, d), b) {
		t.Fatal("content differs")
	}
	if n, err := s.Stat(ctx, d); err != nil || n != int64(len(b)) {
		t.Fatalf("stat %d %v", n, err)
	}
	empty := Put(t, s, "r2", nil)
	if len(read(t, s, empty)) != 0 {
		t.Fatal("empty blob")
	}
}

func testSeek(t *testing.T, s content.Store) {
	b := randomBytes(1 << 20)
	d := Put(t, s, "r", b)
	r, _, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Seek(5000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 100)
	if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, b[5000:5100]) {
		t.Fatalf("range read: %v", err)
	}
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(b)) {
		t.Fatalf("seek end %d %v", end, err)
	}
}

func testResume(t *testing.T, s content.Store) {
	b := randomBytes(2<<20 + 3)
	w, err := s.Writer(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b[:1<<20])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = s.Writer(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != 1<<20 {
		t.Fatalf("resumed size %d", w.Size())
	}
	w.Write(b[1<<20:])
	if err := w.Commit(ctx, int64(len(b)), digest.FromBytes(b)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, s, digest.FromBytes(b)), b) {
		t.Fatal("resumed content differs")
	}
}

func testWrongDigest(t *testing.T, s content.Store) {
	b := randomBytes(1000)
	w, _ := s.Writer(ctx, "r")
	w.Write(b)
	err := w.Commit(ctx, -1, digest.FromString("other"))
	if !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
	if _, err := s.Stat(ctx, digest.FromString("other")); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("mismatched content visible: %v", err)
	}
	w, err = s.Writer(ctx, "r")
	if err != nil || w.Size() != 1000 {
		t.Fatalf("upload not resumable after mismatch: %v", err)
	}
	if err := w.Commit(ctx, 1000, digest.FromBytes(b)); err != nil {
		t.Fatal(err)
	}
}

func testWrongSize(t *testing.T, s content.Store) {
	w, _ := s.Writer(ctx, "r")
	w.Write([]byte("abc"))
	if err := w.Commit(ctx, 4, digest.FromString("abc")); !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
}

func testSHA512(t *testing.T, s content.Store) {
	b := randomBytes(5000)
	w, _ := s.Writer(ctx, "r")
	w.Write(b)
	d := digest.SHA512.FromBytes(b)
	if err := w.Commit(ctx, -1, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, s, d), b) {
		t.Fatal("sha512 content differs")
	}
}

func testDuplicate(t *testing.T, s content.Store) {
	b := randomBytes(100)
	d := Put(t, s, "a", b)
	if Put(t, s, "b", b) != d || !bytes.Equal(read(t, s, d), b) {
		t.Fatal("duplicate commit")
	}
}

func testAbort(t *testing.T, s content.Store) {
	w, _ := s.Writer(ctx, "r")
	w.Write([]byte("partial"))
	w.Close()
	if err := s.Abort(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	w, err := s.Writer(ctx, "r")
	if err != nil || w.Size() != 0 {
		t.Fatalf("aborted upload resumed with %d bytes (%v)", w.Size(), err)
	}
	w.Close()
	if err := s.Abort(ctx, "never-existed"); err != nil {
		t.Fatalf("abort of unknown ref: %v", err)
	}
}

func testDelete(t *testing.T, s content.Store) {
	d := Put(t, s, "r", []byte("bye"))
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
	if err := s.Delete(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testInvalid(t *testing.T, s content.Store) {
	for _, d := range []digest.Digest{"sha256:../../etc/passwd", "nope", "sha256:abc"} {
		if _, _, err := s.Open(ctx, d); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("open %q: %v", d, err)
		}
	}
	for _, ref := range []string{"", "a/b", "..", "../x"} {
		if _, err := s.Writer(ctx, ref); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("writer %q: %v", ref, err)
		}
	}
}

func testWriterConflict(t *testing.T, s content.Store) {
	w, err := s.Writer(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(ctx, "r"); !errors.Is(err, errdef.ErrConflict) {
		t.Fatalf("second writer: %v", err)
	}
	w.Close()
	w, err = s.Writer(ctx, "r")
	if err != nil {
		t.Fatalf("writer after close: %v", err)
	}
	w.Close()
}

func testConcurrentCommit(t *testing.T, s content.Store) {
	b := randomBytes(256 << 10)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.Writer(ctx, fmt.Sprint("c", i))
			if err != nil {
				errs <- err
				return
			}
			w.Write(b)
			errs <- w.Commit(ctx, int64(len(b)), digest.FromBytes(b))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(read(t, s, digest.FromBytes(b)), b) {
		t.Fatal("content differs after concurrent commits")
	}
}

func testPartialInvisible(t *testing.T, s content.Store) {
	b := randomBytes(4096)
	d := digest.FromBytes(b)
	w, _ := s.Writer(ctx, "r")
	w.Write(b[:100])
	w.Close()
	if _, err := s.Stat(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("partial upload visible to Stat: %v", err)
	}
	if _, _, err := s.Open(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("partial upload visible to Open: %v", err)
	}
}

func testSweeper(t *testing.T, s content.Store) {
	sw, ok := s.(content.Sweeper)
	if !ok {
		t.Skip("backend has no Sweeper")
	}
	w, _ := s.Writer(ctx, "stale")
	w.Write([]byte("x"))
	w.Close()
	busy, _ := s.Writer(ctx, "busy")
	busy.Write([]byte("y"))
	n, err := sw.SweepUploads(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
	w, _ = s.Writer(ctx, "stale")
	if w.Size() != 0 {
		t.Fatal("stale upload survived the sweep")
	}
	w.Close()
	if busy.Size() != 1 {
		t.Fatal("busy upload touched")
	}
	busy.Close()
}
