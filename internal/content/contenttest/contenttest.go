// Package contenttest is the conformance suite every content.Store backend
// must pass (filesystem now; Azure Blob and S3 next), so that the data plane
// can rely on the contract in package content rather than on one backend's
// behaviour.
package contenttest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"io"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/opencontainers/go-digest"
)

// Run runs the suite as subtests. newStore must return a fresh, empty store
// for each call; the suite closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) content.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s content.Store)
	}{
		{"write commit open", testRoundTrip},
		{"stat", testStat},
		{"seek and range reads", testSeek},
		{"resume across writers", testResume},
		{"interleaved uploads", testInterleaved},
		{"wrong digest keeps the upload", testWrongDigest},
		{"wrong size keeps the upload", testWrongSize},
		{"sha384 and sha512", testOtherAlgorithms},
		{"duplicate commit", testDuplicate},
		{"commit closes the writer", testCommitCloses},
		{"abort", testAbort},
		{"delete", testDelete},
		{"invalid digest and ref", testInvalid},
		{"one writer per ref", testWriterConflict},
		{"concurrent commits of the same content", testConcurrentCommit},
		{"partial upload never visible", testPartialInvisible},
		{"sweeper", testSweeper},
		{"collector lists and deletes idle blobs", testCollectorListsAndDeletes},
		{"collector keeps a blob committed again", testCollectorDuplicateRefreshes},
		{"collector racing a commit", testCollectorRace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// Put writes b to a new upload named ref and commits it, failing the test on
// any error. It returns the sha256 digest of b.
func Put(t testing.TB, s content.Ingester, ref string, b []byte) digest.Digest {
	t.Helper()
	w := writer(t, s, ref)
	write(t, w, b)
	d := digest.FromBytes(b)
	if err := w.Commit(t.Context(), int64(len(b)), d); err != nil {
		t.Fatalf("commit %s: %v", ref, err)
	}
	return d
}

func writer(t testing.TB, s content.Ingester, ref string) content.Writer {
	t.Helper()
	w, err := s.Writer(t.Context(), ref)
	if err != nil {
		t.Fatalf("writer %s: %v", ref, err)
	}
	return w
}

func write(t testing.TB, w io.Writer, b []byte) {
	t.Helper()
	if n, err := w.Write(b); err != nil || n != len(b) {
		t.Fatalf("write: %d of %d bytes: %v", n, len(b), err)
	}
}

// read returns a committed blob, checking that Open's size matches.
func read(t testing.TB, s content.Provider, d digest.Digest) []byte {
	t.Helper()
	r, size, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || int64(len(b)) != size {
		t.Fatalf("read %d bytes, Open said %d: %v", len(b), size, err)
	}
	return b
}

func mustRead(t testing.TB, s content.Provider, d digest.Digest, want []byte) {
	t.Helper()
	if got := read(t, s, d); !bytes.Equal(got, want) {
		t.Fatalf("blob %s: read %d bytes that differ from the %d written", d, len(got), len(want))
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// sha512Digest and sha384Digest name the hash explicitly, so the suite does
// not depend on which packages happen to register algorithms in go-digest.
func sha512Digest(b []byte) digest.Digest {
	sum := sha512.Sum512(b)
	return digest.NewDigestFromBytes(digest.SHA512, sum[:])
}

func sha384Digest(b []byte) digest.Digest {
	sum := sha512.Sum384(b)
	return digest.NewDigestFromBytes(digest.SHA384, sum[:])
}
