package fs

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/opencontainers/go-digest"
)

// resumeFixture is an upload of b[:half] closed by a first writer, on a
// store whose faultFS counts the bytes read back from upload files.
func resumeFixture(t *testing.T, b []byte, half int) (*Store, *faultFS, string) {
	t.Helper()
	fsys := newFaultFS()
	s, err := newStore(t.TempDir(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Writer(t.Context(), "up")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b[:half]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, _, _ := s.uploadPaths("up")
	return s, fsys, data
}

// resumeAndCommit resumes "up", finishes it and reports how many bytes of
// the data file the resume had to re-read.
func resumeAndCommit(t *testing.T, s *Store, fsys *faultFS, data string, b []byte) int64 {
	t.Helper()
	fsys.mu.Lock()
	fsys.readBytes[data] = 0
	fsys.mu.Unlock()
	w, err := s.Writer(t.Context(), "up")
	if err != nil {
		t.Fatal(err)
	}
	fsys.mu.Lock()
	read := fsys.readBytes[data]
	fsys.mu.Unlock()
	if _, err := w.Write(b[w.Size():]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), int64(len(b)), digest.FromBytes(b)); err != nil {
		t.Fatalf("commit after resume: %v", err)
	}
	return read
}

// The point of the sidecar: resuming a large upload costs no re-read.
func TestResumeUsesSidecar(t *testing.T) {
	b := randomBytes(3 << 20)
	s, fsys, data := resumeFixture(t, b, 2<<20)
	if n := resumeAndCommit(t, s, fsys, data, b); n != 0 {
		t.Fatalf("resume re-read %d bytes despite a valid sidecar", n)
	}
}

// A sidecar that is missing, torn or corrupt is ignored and the upload
// re-hashed, so verification always reflects the bytes on disk.
func TestResumeRehashes(t *testing.T) {
	const half = 1 << 20
	cases := map[string]func(t *testing.T, state string){
		"missing": func(t *testing.T, state string) {
			must(t, os.Remove(state))
		},
		"torn": func(t *testing.T, state string) {
			st, err := os.Stat(state)
			must(t, err)
			must(t, os.Truncate(state, st.Size()/2))
		},
		"bit flip": func(t *testing.T, state string) {
			b, err := os.ReadFile(state)
			must(t, err)
			b[len(b)/2] ^= 1
			must(t, os.WriteFile(state, b, 0o600))
		},
		"zeroed": func(t *testing.T, state string) {
			b, err := os.ReadFile(state)
			must(t, err)
			must(t, os.WriteFile(state, make([]byte, len(b)), 0o600))
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			b := randomBytes(2*half + 5)
			s, fsys, data := resumeFixture(t, b, half)
			_, state, _ := s.uploadPaths("up")
			damage(t, state)
			if n := resumeAndCommit(t, s, fsys, data, b); n != half {
				t.Fatalf("re-read %d bytes, want %d", n, half)
			}
		})
	}
}

// A sidecar whose offset differs from the data file's size is not used.
func TestResumeOffsetMismatch(t *testing.T) {
	const half = 1 << 20
	b := randomBytes(2*half + 5)
	s, fsys, data := resumeFixture(t, b, half)
	// Append the next bytes behind the store's back, as a writer killed
	// before Close would have.
	f, err := os.OpenFile(data, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.Write(b[half : half+1000])
	must(t, err)
	must(t, f.Close())
	if n := resumeAndCommit(t, s, fsys, data, b); n != half+1000 {
		t.Fatalf("re-read %d bytes, want %d", n, half+1000)
	}
}

// Progress is saved whenever a writer lets go of an upload: after a refused
// commit, and after a resume that had to re-hash, the next resume is free.
func TestStateSavedForNextResume(t *testing.T) {
	b := randomBytes(2 << 20)
	resumeCost := func(s *Store, fsys *faultFS, data string) int64 {
		t.Helper()
		fsys.mu.Lock()
		fsys.readBytes[data] = 0
		fsys.mu.Unlock()
		w, err := s.Writer(t.Context(), "up")
		must(t, err)
		must(t, w.Close())
		fsys.mu.Lock()
		defer fsys.mu.Unlock()
		return fsys.readBytes[data]
	}
	t.Run("refused commit", func(t *testing.T) {
		s, fsys, data := resumeFixture(t, b, 1<<20)
		w, err := s.Writer(t.Context(), "up")
		must(t, err)
		_, err = w.Write(b[1<<20:])
		must(t, err)
		if err := w.Commit(t.Context(), -1, digest.FromString("wrong")); err == nil {
			t.Fatal("wrong digest accepted")
		}
		if n := resumeCost(s, fsys, data); n != 0 {
			t.Fatalf("resume after a refused commit re-read %d bytes", n)
		}
	})
	t.Run("after re-hash", func(t *testing.T) {
		s, fsys, data := resumeFixture(t, b, 1<<20)
		_, state, _ := s.uploadPaths("up")
		must(t, os.Remove(state))
		if n := resumeCost(s, fsys, data); n != 1<<20 {
			t.Fatalf("first resume re-read %d bytes, want %d", n, 1<<20)
		}
		if n := resumeCost(s, fsys, data); n != 0 {
			t.Fatalf("second resume re-read %d bytes", n)
		}
	})
}

// Whenever a sidecar exists, the bytes it vouches for are durable: otherwise
// a power loss could zero them while the sidecar survives, and a resumed
// upload would pass verification against bytes that are not on disk.
func TestSidecarNeverOutrunsData(t *testing.T) {
	b := randomBytes(300 << 10)
	s, fsys, data := resumeFixture(t, b, 100<<10)
	_, state, _ := s.uploadPaths("up")
	for _, end := range []int{200 << 10, 200 << 10, len(b)} { // includes an empty resume
		w, err := s.Writer(t.Context(), "up")
		must(t, err)
		_, err = w.Write(b[w.Size():end])
		must(t, err)
		must(t, w.Close())
		st, err := os.ReadFile(state)
		must(t, err)
		offset := int64(binary.BigEndian.Uint64(st[len(stateMagic):]))
		if durable := fsys.durableSize(data); offset != int64(end) || durable < offset {
			t.Fatalf("sidecar covers %d bytes, %d durable, %d written", offset, durable, end)
		}
	}
}

// A successful Close makes the upload survive a power loss, even when the
// writer that created the file wrote nothing and a later one did the work.
func TestCloseMakesUploadDurable(t *testing.T) {
	fsys := newFaultFS()
	s, err := newStore(t.TempDir(), fsys)
	must(t, err)
	data, _, _ := s.uploadPaths("up")
	w, err := s.Writer(t.Context(), "up") // creates the file, writes nothing
	must(t, err)
	must(t, w.Close())
	w, err = s.Writer(t.Context(), "up")
	must(t, err)
	_, err = w.Write([]byte("progress"))
	must(t, err)
	must(t, w.Close())
	if !fsys.entryDurable(data) || fsys.durableSize(data) != int64(len("progress")) {
		t.Fatalf("after Close: entry durable %v, %d bytes durable", fsys.entryDurable(data), fsys.durableSize(data))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
