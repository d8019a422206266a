package storagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

// generator yields n reproducible pseudo-random bytes, so a large object
// is streamed and checked by hash without being held in memory.
func generator(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), n)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func testSeek(t *testing.T, c storage.Container) {
	ctx := context.Background()
	data := pattern(1<<20 + 13)
	put(t, c, "seek", data, nil)
	o, err := c.Open(ctx, "seek")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	steps := []struct {
		off    int64
		whence int
		want   int64 // the position Seek answers
		read   int
	}{
		{0, io.SeekCurrent, 0, 10},
		{100, io.SeekStart, 100, 5000},
		{-50, io.SeekCurrent, 5050, 1 << 16},
		{-20, io.SeekEnd, int64(len(data)) - 20, 20},
		{500_000, io.SeekStart, 500_000, 100},
		{3, io.SeekCurrent, 500_103, 1},
		{10, io.SeekStart, 10, 1},
		{0, io.SeekCurrent, 11, 3},
	}
	for _, s := range steps {
		pos, err := o.Seek(s.off, s.whence)
		if err != nil || pos != s.want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", s.off, s.whence, pos, err, s.want)
		}
		buf := make([]byte, s.read)
		if _, err := io.ReadFull(o, buf); err != nil {
			t.Fatalf("read %d at %d: %v", s.read, pos, err)
		}
		if !bytes.Equal(buf, data[pos:pos+int64(s.read)]) {
			t.Fatalf("read %d at %d: wrong bytes", s.read, pos)
		}
	}
	// Past the end: Seek succeeds, Read says EOF.
	if pos, err := o.Seek(10, io.SeekEnd); err != nil || pos != int64(len(data))+10 {
		t.Fatalf("Seek past the end = %d, %v", pos, err)
	}
	if n, err := o.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("Read past the end = %d, %v; want 0, EOF", n, err)
	}
	if _, err := o.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to a negative offset succeeded")
	}
	// Back to the start after all that: the whole object again.
	if _, err := o.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("re-read after seeking: %d bytes, %v", len(all), err)
	}
}

// testSeekToSkip reads one entry in the middle of a tar archive, as an
// import run reads an archive's index: tar.Reader seeks over the entries
// before it instead of reading them.
func testSeekToSkip(t *testing.T, c storage.Container) {
	ctx := context.Background()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sizes := []int{3 << 20, 1 << 20, 5000, 2 << 20, 777}
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte('a' + i)}, n)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("e%d", i), Mode: 0o644, Size: int64(n), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	tw.Close()
	put(t, c, "archive.tar", buf.Bytes(), nil)

	o, err := c.Open(ctx, "archive.tar")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	tr := tar.NewReader(o)
	for i := range sizes {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if h.Name != fmt.Sprintf("e%d", i) || h.Size != int64(sizes[i]) {
			t.Fatalf("entry %d: %s %d", i, h.Name, h.Size)
		}
		if i != 3 {
			continue // skipped by Next, with Seek
		}
		b, err := io.ReadAll(tr)
		if err != nil || !bytes.Equal(b, bytes.Repeat([]byte{'d'}, sizes[3])) {
			t.Fatalf("entry 3: %d bytes, %v", len(b), err)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Fatalf("after the last entry: %v, want EOF", err)
	}
}

// testLarge streams an object of many blocks (Azure) from a generator in
// odd-sized writes, and checks it by hash.
func testLarge(t *testing.T, c storage.Container) {
	size := int64(40<<20 + 12345)
	if testing.Short() {
		size = 9<<20 + 12345
	}
	ctx := context.Background()
	w, err := c.Create(ctx, "large")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	wantSHA, wantMD5 := sha256.New(), md5.New()
	src := io.TeeReader(generator(1, size), io.MultiWriter(wantSHA, wantMD5))
	if n, err := io.CopyBuffer(struct{ io.Writer }{w}, src, make([]byte, 1<<20+7)); err != nil || n != size {
		t.Fatalf("writing: %d bytes, %v", n, err)
	}
	info, err := w.Commit(ctx, map[string]string{"category": "acr-transfer-blob"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size || !bytes.Equal(info.ContentMD5, wantMD5.Sum(nil)) {
		t.Errorf("Commit: size %d md5 %x, want %d %x", info.Size, info.ContentMD5, size, wantMD5.Sum(nil))
	}
	o, err := c.Open(ctx, "large")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	gotSHA := sha256.New()
	if n, err := io.CopyBuffer(gotSHA, struct{ io.Reader }{o}, make([]byte, 64<<10)); err != nil || n != size {
		t.Fatalf("reading: %d bytes, %v", n, err)
	}
	if !bytes.Equal(gotSHA.Sum(nil), wantSHA.Sum(nil)) {
		t.Fatal("read back different bytes")
	}
	if !bytes.Equal(o.Info().ContentMD5, wantMD5.Sum(nil)) {
		t.Errorf("Open: md5 %x, want %x", o.Info().ContentMD5, wantMD5.Sum(nil))
	}
}
