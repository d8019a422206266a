package contenttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// Cases for Ingester and Writer.

func testResume(t *testing.T, s content.Store) {
	b := randomBytes(2<<20 + 3)
	cuts := []int{0, 1 << 20, 1 << 20, 1<<20 + 1, len(b)} // includes an empty chunk
	for i := 1; i < len(cuts); i++ {
		w := writer(t, s, "r")
		if w.Size() != int64(cuts[i-1]) {
			t.Fatalf("writer %d resumed at %d, want %d", i, w.Size(), cuts[i-1])
		}
		write(t, w, b[cuts[i-1]:cuts[i]])
		if i < len(cuts)-1 {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := w.Commit(t.Context(), int64(len(b)), digest.FromBytes(b)); err != nil {
			t.Fatal(err)
		}
	}
	mustRead(t, s, digest.FromBytes(b), b)
	if w := writer(t, s, "r"); w.Size() != 0 {
		t.Fatalf("committed upload still has %d bytes", w.Size())
	} else {
		w.Close()
	}
}

func testInterleaved(t *testing.T, s content.Store) {
	a, b := randomBytes(300<<10), randomBytes(200<<10)
	wa, wb := writer(t, s, "a"), writer(t, s, "b")
	for off := 0; off < len(a); off += 64 << 10 {
		write(t, wa, a[off:min(off+64<<10, len(a))])
		if off < len(b) {
			write(t, wb, b[off:min(off+64<<10, len(b))])
		}
	}
	for _, c := range []struct {
		w content.Writer
		b []byte
	}{{wa, a}, {wb, b}} {
		if err := c.w.Commit(t.Context(), int64(len(c.b)), digest.FromBytes(c.b)); err != nil {
			t.Fatal(err)
		}
		mustRead(t, s, digest.FromBytes(c.b), c.b)
	}
}

func testWrongDigest(t *testing.T, s content.Store) {
	b := randomBytes(1000)
	w := writer(t, s, "r")
	write(t, w, b)
	other := digest.FromString("other")
	if err := w.Commit(t.Context(), -1, other); !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("commit with the wrong digest: %v, want ErrInvalidArgument", err)
	}
	for _, d := range []digest.Digest{other, digest.FromBytes(b)} {
		if _, err := s.Stat(t.Context(), d); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("blob %s visible after a refused commit: %v", d, err)
		}
	}
	w = writer(t, s, "r")
	if w.Size() != int64(len(b)) {
		t.Fatalf("upload resumed at %d after a refused commit, want %d", w.Size(), len(b))
	}
	if err := w.Commit(t.Context(), int64(len(b)), digest.FromBytes(b)); err != nil {
		t.Fatal(err)
	}
	mustRead(t, s, digest.FromBytes(b), b)
}

func testWrongSize(t *testing.T, s content.Store) {
	b := []byte("abc")
	w := writer(t, s, "r")
	write(t, w, b)
	for _, size := range []int64{4, 2, 0} {
		if err := w.Commit(t.Context(), size, digest.FromBytes(b)); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Fatalf("commit with size %d: %v, want ErrInvalidArgument", size, err)
		}
		if _, err := s.Stat(t.Context(), digest.FromBytes(b)); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("blob visible after a refused commit: %v", err)
		}
		w = writer(t, s, "r")
		if w.Size() != 3 {
			t.Fatalf("upload resumed at %d, want 3", w.Size())
		}
	}
	if err := w.Commit(t.Context(), -1, digest.FromBytes(b)); err != nil {
		t.Fatalf("commit skipping the size check: %v", err)
	}
	mustRead(t, s, digest.FromBytes(b), b)
}

func testOtherAlgorithms(t *testing.T, s content.Store) {
	b := randomBytes(70<<10 + 5)
	for _, d := range []digest.Digest{sha512Digest(b), sha384Digest(b)} {
		ref := "r-" + string(d.Algorithm())
		w := writer(t, s, ref)
		write(t, w, b[:1000])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		w = writer(t, s, ref)
		write(t, w, b[1000:])
		if err := w.Commit(t.Context(), int64(len(b)), d); err != nil {
			t.Fatalf("commit %s: %v", d.Algorithm(), err)
		}
		mustRead(t, s, d, b)
	}
	// The same bytes under a wrong sha512 are refused.
	w := writer(t, s, "bad")
	write(t, w, b)
	if err := w.Commit(t.Context(), -1, sha512Digest(b[1:])); !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("commit with a wrong sha512: %v, want ErrInvalidArgument", err)
	}
}

func testDuplicate(t *testing.T, s content.Store) {
	b := randomBytes(100)
	d := Put(t, s, "a", b)
	if Put(t, s, "b", b) != d {
		t.Fatal("same bytes, different digest")
	}
	mustRead(t, s, d, b)
	w := writer(t, s, "b")
	defer w.Close()
	if w.Size() != 0 {
		t.Fatalf("duplicate upload left %d bytes behind", w.Size())
	}
}

// testCommitCloses checks "Commit always closes the writer, even on error":
// the ref is free again afterwards and the old writer refuses more work.
func testCommitCloses(t *testing.T, s content.Store) {
	b := []byte("hello")
	w := writer(t, s, "r")
	write(t, w, b)
	if err := w.Commit(t.Context(), -1, digest.FromString("nope")); err == nil {
		t.Fatal("commit with the wrong digest succeeded")
	}
	w2 := writer(t, s, "r") // the ref was released by the failed Commit
	if err := w2.Commit(t.Context(), 5, digest.FromBytes(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Write([]byte("more")); err == nil {
		t.Fatal("write after commit succeeded")
	}
	if err := w2.Commit(t.Context(), 5, digest.FromBytes(b)); err == nil {
		t.Fatal("second commit of the same writer succeeded")
	}
	writer(t, s, "r").Close()
}

func testAbort(t *testing.T, s content.Store) {
	w := writer(t, s, "r")
	write(t, w, []byte("partial"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(t.Context(), "r"); err != nil {
		t.Fatal(err)
	}
	w = writer(t, s, "r")
	if w.Size() != 0 {
		t.Fatalf("aborted upload resumed with %d bytes", w.Size())
	}
	w.Close()
	if err := s.Abort(t.Context(), "never-existed"); err != nil {
		t.Fatalf("abort of an unknown ref: %v", err)
	}
	if err := s.Abort(t.Context(), "r"); err != nil {
		t.Fatalf("second abort: %v", err)
	}
}

func testWriterConflict(t *testing.T, s content.Store) {
	w := writer(t, s, "r")
	if w2, err := s.Writer(t.Context(), "r"); !errors.Is(err, errdef.ErrConflict) {
		if err == nil {
			w2.Close()
		}
		t.Fatalf("second writer: %v, want ErrConflict", err)
	}
	writer(t, s, "other").Close() // other refs are unaffected
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writer(t, s, "r").Close()
}

func testConcurrentCommit(t *testing.T, s content.Store) {
	const n = 8
	b := randomBytes(256 << 10)
	d := digest.FromBytes(b)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ref := fmt.Sprint("c", i)
			w, err := s.Writer(t.Context(), ref)
			if err != nil {
				errs[i] = err
				return
			}
			for off := 0; off < len(b); off += 32 << 10 {
				if _, err := w.Write(b[off : off+32<<10]); err != nil {
					w.Close()
					errs[i] = err
					return
				}
			}
			if err := w.Commit(t.Context(), int64(len(b)), d); err != nil {
				errs[i] = fmt.Errorf("commit %s: %w", ref, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	mustRead(t, s, d, b)
}

// testPartialInvisible checks that bytes become visible only through Commit,
// even when the upload already holds every byte of the blob.
func testPartialInvisible(t *testing.T, s content.Store) {
	b := randomBytes(4096)
	d := digest.FromBytes(b)
	invisible := func(when string) {
		t.Helper()
		if _, err := s.Stat(t.Context(), d); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("%s: Stat: %v, want ErrNotFound", when, err)
		}
		if _, _, err := s.Open(t.Context(), d); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("%s: Open: %v, want ErrNotFound", when, err)
		}
	}
	w := writer(t, s, "r")
	write(t, w, b[:100])
	invisible("writer open")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	invisible("writer closed")
	w = writer(t, s, "r")
	write(t, w, b[100:])
	invisible("all bytes written")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	invisible("all bytes written and closed")
}

func testSweeper(t *testing.T, s content.Store) {
	sw, ok := s.(content.Sweeper)
	if !ok {
		t.Skip("backend has no Sweeper")
	}
	w := writer(t, s, "stale")
	write(t, w, []byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	busy := writer(t, s, "busy")
	write(t, busy, []byte("y"))
	kept := Put(t, s, "done", []byte("committed"))

	if n, err := sw.SweepUploads(t.Context(), time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep with an old cutoff removed %d (%v), want 0", n, err)
	}
	if n, err := sw.SweepUploads(t.Context(), time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want 1", n, err)
	}
	w = writer(t, s, "stale")
	if w.Size() != 0 {
		t.Fatal("stale upload survived the sweep")
	}
	w.Close()
	if busy.Size() != 1 {
		t.Fatal("busy upload touched")
	}
	write(t, busy, []byte("z"))
	if err := busy.Commit(t.Context(), 2, digest.FromString("yz")); err != nil {
		t.Fatalf("commit of the upload that was open during the sweep: %v", err)
	}
	mustRead(t, s, kept, []byte("committed"))
}
