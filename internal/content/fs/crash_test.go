package fs

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// crashBlobs are the blobs the crash scenario stores, each under its own
// upload ref.
type crashBlobs struct {
	pre, resumed, sha512 []byte
}

func (c crashBlobs) uploads() []upload {
	return []upload{
		{"up", c.resumed, digest.FromBytes(c.resumed)},
		{"dup", c.pre, digest.FromBytes(c.pre)},
		{"c512", c.sha512, digest.SHA512.FromBytes(c.sha512)},
	}
}

type upload struct {
	ref  string
	data []byte
	d    digest.Digest
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	crand.Read(b)
	return b
}

// fixedBytes is reproducible content, so that subtest names (which include
// digest-derived directory names) are stable across runs.
func fixedBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

// setupCrash returns a store on root over a fresh faultFS, with blobs.pre
// already committed before any fault is armed.
func setupCrash(t *testing.T, root string, blobs crashBlobs) (*Store, *faultFS) {
	t.Helper()
	fsys := newFaultFS()
	s, err := newStore(root, fsys)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Writer(t.Context(), "pre")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(blobs.pre); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), int64(len(blobs.pre)), digest.FromBytes(blobs.pre)); err != nil {
		t.Fatal(err)
	}
	return s, fsys
}

// crashScenario drives the upload and commit paths: a chunked upload resumed
// by a second writer, a duplicate commit, and a sha512 commit into new
// directories. Like a well-behaved caller it closes writers after errors, and
// it stops at the first error, as a process that died there would. It
// returns the digests whose Commit succeeded and the upload sizes a
// successful Close promised to keep.
func crashScenario(ctx context.Context, s *Store, blobs crashBlobs) (committed map[digest.Digest]bool, saved map[string]int) {
	committed, saved = map[digest.Digest]bool{}, map[string]int{}
	b := blobs.resumed
	half := len(b) / 2
	w, err := s.Writer(ctx, "up")
	if err != nil {
		return
	}
	for _, c := range [][]byte{b[:half/2], b[half/2 : half]} {
		if _, err := w.Write(c); err != nil {
			w.Close()
			return
		}
	}
	if w.Close() != nil {
		return
	}
	saved["up"] = half
	uploads := blobs.uploads()
	uploads[0].data = b[half:] // the rest, by a second writer
	for _, u := range uploads {
		w, err := s.Writer(ctx, u.ref)
		if err != nil {
			return
		}
		if _, err := w.Write(u.data); err != nil {
			w.Close()
			return
		}
		if w.Commit(ctx, -1, u.d) != nil {
			return
		}
		committed[u.d] = true
	}
	return
}

func powerSeeds(short bool) int {
	if short {
		return 2
	}
	return 8
}

// TestCrashAtEveryStep fails each filesystem operation of the scenario in
// turn and checks the invariants:
//   - after an I/O error the process survives ("eio"), after a kill, and
//     after a power loss (random fates for what was not synced), every blob
//     is either absent or complete and correct: never partial;
//   - every blob whose Commit succeeded, and the one committed before the
//     fault, is served by a fresh Store on the same root;
//   - the bytes of an upload that a successful Close persisted survive;
//   - every upload can be resumed and committed; when its bytes on disk are
//     a correct prefix the resumed commit must succeed, which proves the
//     sidecar never claims bytes that were lost.
func TestCrashAtEveryStep(t *testing.T) {
	blobs := crashBlobs{pre: fixedBytes(1, 64<<10), resumed: fixedBytes(2, 200<<10+7), sha512: fixedBytes(3, 10<<10)}
	// A dry run lists the operations to fail.
	s, fsys := setupCrash(t, t.TempDir(), blobs)
	base := fsys.count()
	if got, _ := crashScenario(t.Context(), s, blobs); len(got) != 3 {
		t.Fatalf("scenario without faults committed %d blobs", len(got))
	}
	ops := fsys.ops[base:]
	// Each power loss draws which directory changes and unsynced bytes
	// survive; several fixed seeds per step keep failures reproducible
	// while covering the combinations that matter (say, a sidecar that
	// survives while the data it describes does not).
	modes := []string{"eio", "kill"}
	for seed := range powerSeeds(testing.Short()) {
		modes = append(modes, fmt.Sprint("power", seed))
	}
	for i, o := range ops {
		for seed, mode := range modes {
			t.Run(fmt.Sprintf("%02d_%s/%s", i, o, mode), func(t *testing.T) {
				t.Parallel() // each case has its own root and faultFS
				root := t.TempDir()
				s, fsys := setupCrash(t, root, blobs)
				at := fsys.count() + i
				fsys.arm(func(n int, _ op) bool { return n == at }, mode != "eio")
				committed, saved := crashScenario(t.Context(), s, blobs)
				if len(committed) == 3 && o.kind != "remove" {
					t.Fatalf("fault at %s went unnoticed", o)
				}
				after := s
				if mode == "eio" {
					fsys.arm(nil, false)
				} else {
					if err := fsys.crash(mode != "kill", rand.New(rand.NewPCG(uint64(seed), uint64(i)))); err != nil {
						t.Fatal(err)
					}
					var err error
					if after, err = New(root); err != nil {
						t.Fatal(err)
					}
				}
				committed[digest.FromBytes(blobs.pre)] = true
				for _, u := range blobs.uploads() {
					if !checkBlob(t, after, u, committed[u.d]) {
						checkProgress(t, root, u, saved[u.ref])
					}
				}
				for _, u := range blobs.uploads() {
					finishUpload(t, after, root, u)
				}
			})
		}
	}
}

// checkBlob asserts that u's blob is complete and correct, or absent and not
// required, and reports whether it is present.
func checkBlob(t *testing.T, s *Store, u upload, required bool) bool {
	t.Helper()
	r, size, err := s.Open(t.Context(), u.d)
	if errors.Is(err, errdef.ErrNotFound) {
		if required {
			t.Errorf("blob %s lost although its commit succeeded", u.ref)
		}
		if _, err := s.Stat(t.Context(), u.d); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("Stat %s disagrees with Open: %v", u.ref, err)
		}
		return false
	}
	if err != nil {
		t.Fatalf("open %s: %v", u.ref, err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || size != int64(len(u.data)) || !bytes.Equal(got, u.data) {
		t.Errorf("blob %s visible with %d of %d bytes (size %d, %v): partial or wrong", u.ref, len(got), len(u.data), size, err)
	}
	return true
}

// checkProgress asserts that the first n bytes of an uncommitted upload,
// persisted by a successful Close, are still on disk.
func checkProgress(t *testing.T, root string, u upload, n int) {
	t.Helper()
	onDisk, err := os.ReadFile(filepath.Join(root, "uploads", u.ref))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(onDisk) < n || !bytes.Equal(onDisk[:n], u.data[:n]) {
		t.Errorf("upload %s: Close persisted %d bytes, %d on disk or they differ", u.ref, n, len(onDisk))
	}
}

// finishUpload resumes u as a client would and commits it.
func finishUpload(t *testing.T, s *Store, root string, u upload) {
	t.Helper()
	ctx := t.Context()
	onDisk, err := os.ReadFile(filepath.Join(root, "uploads", u.ref))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	prefixOK := len(onDisk) <= len(u.data) && bytes.Equal(onDisk, u.data[:len(onDisk)])
	w, err := s.Writer(ctx, u.ref)
	if err != nil {
		t.Fatalf("resume %s: %v", u.ref, err)
	}
	if w.Size() != int64(len(onDisk)) {
		t.Errorf("resume %s: size %d, %d bytes on disk", u.ref, w.Size(), len(onDisk))
	}
	if _, err := w.Write(u.data[min(w.Size(), int64(len(u.data))):]); err != nil {
		t.Fatal(err)
	}
	err = w.Commit(ctx, int64(len(u.data)), u.d)
	switch {
	case err == nil:
	case prefixOK:
		t.Fatalf("resumed commit of %s (correct prefix on disk) failed: %v", u.ref, err)
	case !errors.Is(err, errdef.ErrInvalidArgument):
		t.Fatalf("resumed commit of %s over corrupted bytes: %v, want ErrInvalidArgument", u.ref, err)
	default:
		// A power loss zeroed part of the upload: the digest check caught
		// it, and the client starts over.
		if err := s.Abort(ctx, u.ref); err != nil {
			t.Fatal(err)
		}
		w, err := s.Writer(ctx, u.ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(u.data); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, int64(len(u.data)), u.d); err != nil {
			t.Fatalf("restarted upload %s: %v", u.ref, err)
		}
	}
	checkBlob(t, s, u, true)
}
