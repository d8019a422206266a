package fs_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/content/contenttest"
	"github.com/opencontainers/go-digest"
)

// BenchmarkWriteCommit1MiB measures the full upload path: write, sha256,
// fsync, rename, directory fsync. The blob is deleted between iterations
// (untimed) so every commit takes the rename path, not the dedup path.
func BenchmarkWriteCommit1MiB(b *testing.B) {
	s := newStore(b, b.TempDir())
	blob := make([]byte, 1<<20)
	rand.Read(blob)
	d := digest.FromBytes(blob)
	b.SetBytes(int64(len(blob)))
	i := 0
	for b.Loop() {
		i++
		w, err := s.Writer(b.Context(), fmt.Sprint("u", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(blob); err != nil {
			b.Fatal(err)
		}
		if err := w.Commit(b.Context(), int64(len(blob)), d); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Delete(b.Context(), d); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkOpenRead1MiB measures Open plus a full read of a committed blob.
func BenchmarkOpenRead1MiB(b *testing.B) {
	s := newStore(b, b.TempDir())
	blob := make([]byte, 1<<20)
	rand.Read(blob)
	d := contenttest.Put(b, s, "r", blob)
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		r, _, err := s.Open(b.Context(), d)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}
