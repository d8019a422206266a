package archive_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/transfer/archive"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func sample(t testing.TB) []byte {
	blob := []byte("layer bytes")
	d := digest.FromBytes(blob)
	index, _, err := archive.Index([]archive.Root{{Repository: "app", Tag: "v1", Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(blob))}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := archive.NewWriter(&buf, index)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Blob(d, int64(len(blob)), bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// The writer's archive reads back, entry by entry, and a blob shorter
// than its size is refused as it is written.
func TestWriteRead(t *testing.T) {
	r := archive.NewReader(bytes.NewReader(sample(t)))
	var kinds []archive.Kind
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
		b, err := r.ReadSmall(e, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case archive.KindIndex:
			roots, err := archive.Roots(b)
			if err != nil || len(roots) != 1 || roots[0].Repository != "app" || roots[0].Tag != "v1" {
				t.Fatalf("roots %+v, %v", roots, err)
			}
		case archive.KindLayout:
			if err := archive.CheckLayout(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(kinds) != 3 || kinds[0] != archive.KindLayout || kinds[1] != archive.KindIndex || kinds[2] != archive.KindBlob {
		t.Fatalf("entries %v", kinds)
	}
	w, _ := archive.NewWriter(io.Discard, []byte("{}"))
	if err := w.Blob(digest.FromString("xy"), 2, bytes.NewReader([]byte("y"))); err == nil {
		t.Fatal("a blob shorter than its size was written")
	}
}

// FuzzReader feeds arbitrary bytes to the reader: it must end in io.EOF
// or an error, never a panic, and hold no more than its budgets.
func FuzzReader(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte{})
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := archive.NewReader(bytes.NewReader(b))
		for i := 0; ; i++ {
			e, err := r.Next()
			if err != nil {
				return
			}
			if e.Kind == archive.KindIndex {
				if body, err := r.ReadSmall(e, archive.MaxIndexSize); err == nil {
					archive.Roots(body)
				}
			}
			if e.Kind == archive.KindLayout {
				if body, err := r.ReadSmall(e, 4096); err == nil {
					archive.CheckLayout(body)
				}
			}
		}
	})
}
