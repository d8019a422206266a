// Package storagetest is the suite every storage.Container must pass: the
// directory backend and Azure Blob Storage (on Azurite) run the same cases,
// so a pipeline behaves the same on either.
package storagetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

// Run runs every case, each against a new, empty container from
// newContainer.
func Run(t *testing.T, newContainer func(t *testing.T) storage.Container) {
	cases := []struct {
		name string
		fn   func(t *testing.T, c storage.Container)
	}{
		{"CreateCommitRead", testCreateCommitRead},
		{"Empty", testEmpty},
		{"InvisibleBeforeCommit", testInvisibleBeforeCommit},
		{"ReplaceOnCommit", testReplaceOnCommit},
		{"Abort", testAbort},
		{"AbortKeepsOld", testAbortKeepsOld},
		{"ClosedWriter", testClosedWriter},
		{"List", testList},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"BadNames", testBadNames},
		{"BadMetadata", testBadMetadata},
		{"Seek", testSeek},
		{"SeekToSkip", testSeekToSkip},
		{"Large", testLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newContainer(t))
		})
	}
}

// put writes one object and commits it.
func put(t *testing.T, c storage.Container, name string, data []byte, md map[string]string) storage.Info {
	t.Helper()
	ctx := context.Background()
	w, err := c.Create(ctx, name)
	if err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	defer w.Abort(ctx)
	if _, err := w.Write(data); err != nil {
		t.Fatalf("Write %s: %v", name, err)
	}
	info, err := w.Commit(ctx, md)
	if err != nil {
		t.Fatalf("Commit %s: %v", name, err)
	}
	return info
}

// get reads a whole object.
func get(t *testing.T, c storage.Container, name string) ([]byte, storage.Info) {
	t.Helper()
	o, err := c.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("Read %s: %v", name, err)
	}
	return b, o.Info()
}

func wantErr(t *testing.T, what string, err, class error) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Errorf("%s: got error %v, want %v", what, err, class)
	}
}

// checkInfo compares what a store says of an object with what was written.
func checkInfo(t *testing.T, what string, got storage.Info, name string, data []byte, md map[string]string) {
	t.Helper()
	sum := md5.Sum(data)
	if got.Name != name || got.Size != int64(len(data)) {
		t.Errorf("%s: name %q size %d, want %q %d", what, got.Name, got.Size, name, len(data))
	}
	if !bytes.Equal(got.ContentMD5, sum[:]) {
		t.Errorf("%s: ContentMD5 %x, want %x", what, got.ContentMD5, sum)
	}
	if got.ETag == "" {
		t.Errorf("%s: no ETag", what)
	}
	if len(got.Metadata) != len(md) || (len(md) > 0 && !maps.Equal(got.Metadata, md)) {
		t.Errorf("%s: metadata %v, want %v", what, got.Metadata, md)
	}
	if d := time.Since(got.LastModified); d < -time.Hour || d > time.Hour {
		t.Errorf("%s: LastModified %v is not about now", what, got.LastModified)
	}
}

func testCreateCommitRead(t *testing.T, c storage.Container) {
	data := []byte("an archive, pretend")
	md := map[string]string{"category": "acr-transfer-blob", "run_id": "r1"}
	info := put(t, c, "run1.tar.gz", data, md)
	checkInfo(t, "Commit", info, "run1.tar.gz", data, md)

	got, oinfo := get(t, c, "run1.tar.gz")
	if !bytes.Equal(got, data) {
		t.Errorf("read %q, want %q", got, data)
	}
	checkInfo(t, "Open", oinfo, "run1.tar.gz", data, md)
	st, err := c.Stat(context.Background(), "run1.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	checkInfo(t, "Stat", st, "run1.tar.gz", data, md)
	if st.ETag != info.ETag || oinfo.ETag != info.ETag {
		t.Errorf("ETags differ: commit %s, open %s, stat %s", info.ETag, oinfo.ETag, st.ETag)
	}
}

func testEmpty(t *testing.T, c storage.Container) {
	info := put(t, c, "empty", nil, nil)
	checkInfo(t, "Commit", info, "empty", nil, nil)
	got, oinfo := get(t, c, "empty")
	if len(got) != 0 {
		t.Errorf("read %d bytes of an empty object", len(got))
	}
	checkInfo(t, "Open", oinfo, "empty", nil, nil)
}

func testInvisibleBeforeCommit(t *testing.T, c storage.Container) {
	ctx := context.Background()
	w, err := c.Create(ctx, "pending")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	if _, err := w.Write(bytes.Repeat([]byte("x"), 100<<10)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Stat(ctx, "pending")
	wantErr(t, "Stat before commit", err, errdef.ErrNotFound)
	_, err = c.Open(ctx, "pending")
	wantErr(t, "Open before commit", err, errdef.ErrNotFound)
	if l := list(t, c); len(l) != 0 {
		t.Errorf("List before commit: %v", names(l))
	}
	if _, err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if l := list(t, c); len(l) != 1 || l[0].Name != "pending" {
		t.Errorf("List after commit: %v", names(l))
	}
}

func testReplaceOnCommit(t *testing.T, c storage.Container) {
	ctx := context.Background()
	v1 := put(t, c, "obj", []byte("version one"), map[string]string{"v": "1"})
	w, err := c.Create(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	if _, err := w.Write([]byte("version two, longer")); err != nil {
		t.Fatal(err)
	}
	if got, info := get(t, c, "obj"); string(got) != "version one" || info.ETag != v1.ETag {
		t.Errorf("before the second commit: read %q etag %s, want version one %s", got, info.ETag, v1.ETag)
	}
	v2, err := w.Commit(ctx, map[string]string{"v": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.ETag == v1.ETag {
		t.Errorf("replacing kept the ETag %s", v1.ETag)
	}
	got, info := get(t, c, "obj")
	checkInfo(t, "after replace", info, "obj", []byte("version two, longer"), map[string]string{"v": "2"})
	if string(got) != "version two, longer" {
		t.Errorf("after replace: read %q", got)
	}
	// Same size, same content: still a new version.
	v3 := put(t, c, "obj", []byte("version two, longer"), map[string]string{"v": "2"})
	if v3.ETag == v2.ETag {
		t.Errorf("replacing with equal bytes kept the ETag %s", v2.ETag)
	}
	if st, err := c.Stat(ctx, "obj"); err != nil || st.ETag != v3.ETag {
		t.Errorf("Stat after replace: %v %v, want ETag %s", st.ETag, err, v3.ETag)
	}
}

func testAbort(t *testing.T, c storage.Container) {
	ctx := context.Background()
	w, err := c.Create(ctx, "aborted")
	if err != nil {
		t.Fatal(err)
	}
	// Several small blocks' worth, so that some may be in flight.
	if _, err := w.Write(pattern(3<<20 + 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	_, err = c.Stat(ctx, "aborted")
	wantErr(t, "Stat after abort", err, errdef.ErrNotFound)
	if l := list(t, c); len(l) != 0 {
		t.Errorf("List after abort: %v", names(l))
	}
}

func testAbortKeepsOld(t *testing.T, c storage.Container) {
	ctx := context.Background()
	old := put(t, c, "kept", []byte("old"), nil)
	w, err := c.Create(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("new bytes")); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	got, info := get(t, c, "kept")
	if string(got) != "old" || info.ETag != old.ETag {
		t.Errorf("after an aborted replacement: %q %s, want old %s", got, info.ETag, old.ETag)
	}
}

func testClosedWriter(t *testing.T, c storage.Container) {
	ctx := context.Background()
	w, err := c.Create(ctx, "closed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Errorf("Abort after Commit: %v, want nil (a deferred Abort is safe)", err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if _, err := w.Commit(ctx, nil); err == nil {
		t.Error("second Commit succeeded")
	}
	if got, _ := get(t, c, "closed"); len(got) != 0 {
		t.Errorf("late write reached the object: %q", got)
	}
}

func list(t *testing.T, c storage.Container) []storage.Info {
	t.Helper()
	l, err := c.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return l
}

func names(l []storage.Info) []string {
	var n []string
	for _, i := range l {
		n = append(n, i.Name)
	}
	return n
}

func testList(t *testing.T, c storage.Container) {
	objs := map[string]string{"b.tar": "bee", "a.tar": "a", "c.tar.gz": "sea!"}
	for _, n := range []string{"b.tar", "c.tar.gz", "a.tar"} {
		put(t, c, n, []byte(objs[n]), map[string]string{"category": "acr-transfer-blob"})
	}
	l := list(t, c)
	if got := strings.Join(names(l), ","); got != "a.tar,b.tar,c.tar.gz" {
		t.Fatalf("List: %s, want a.tar,b.tar,c.tar.gz", got)
	}
	for _, i := range l {
		checkInfo(t, "List", i, i.Name, []byte(objs[i.Name]), map[string]string{"category": "acr-transfer-blob"})
	}
}

func testDelete(t *testing.T, c storage.Container) {
	ctx := context.Background()
	put(t, c, "gone", []byte("x"), map[string]string{"a": "b"})
	put(t, c, "stays", []byte("y"), nil)
	if err := c.Delete(ctx, "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := c.Stat(ctx, "gone")
	wantErr(t, "Stat after Delete", err, errdef.ErrNotFound)
	_, err = c.Open(ctx, "gone")
	wantErr(t, "Open after Delete", err, errdef.ErrNotFound)
	wantErr(t, "second Delete", c.Delete(ctx, "gone"), errdef.ErrNotFound)
	if got := strings.Join(names(list(t, c)), ","); got != "stays" {
		t.Errorf("List after Delete: %s", got)
	}
	// A name used again starts afresh: no metadata of the deleted one.
	info := put(t, c, "gone", []byte("z"), nil)
	checkInfo(t, "recreated", info, "gone", []byte("z"), nil)
	if st, err := c.Stat(ctx, "gone"); err != nil || len(st.Metadata) != 0 {
		t.Errorf("recreated object: metadata %v, err %v", st.Metadata, err)
	}
}

func testNotFound(t *testing.T, c storage.Container) {
	ctx := context.Background()
	_, err := c.Open(ctx, "missing")
	wantErr(t, "Open", err, errdef.ErrNotFound)
	_, err = c.Stat(ctx, "missing")
	wantErr(t, "Stat", err, errdef.ErrNotFound)
	wantErr(t, "Delete", c.Delete(ctx, "missing"), errdef.ErrNotFound)
}

// badNames are refused by every backend; each backend tests its own
// stricter rules (and fuzzes them) beside its code.
var badNames = []string{"", ".", "..", "../x", "/abs", "a/../b", `a\b`, "a\x00b", "a\nb", strings.Repeat("a", 1025)}

func testBadNames(t *testing.T, c storage.Container) {
	ctx := context.Background()
	for _, n := range badNames {
		_, err := c.Create(ctx, n)
		wantErr(t, "Create "+n, err, errdef.ErrInvalidArgument)
		_, err = c.Open(ctx, n)
		wantErr(t, "Open "+n, err, errdef.ErrInvalidArgument)
		_, err = c.Stat(ctx, n)
		wantErr(t, "Stat "+n, err, errdef.ErrInvalidArgument)
		wantErr(t, "Delete "+n, c.Delete(ctx, n), errdef.ErrInvalidArgument)
	}
}

func testBadMetadata(t *testing.T, c storage.Container) {
	ctx := context.Background()
	for _, md := range []map[string]string{
		{"Upper": "x"},
		{"has-dash": "x"},
		{"1digit": "x"},
		{"ok": "line\nbreak"},
		{"ok": "caf\u00e9"},
		{"big": strings.Repeat("x", storage.MaxMetadataSize)},
	} {
		w, err := c.Create(ctx, "meta")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("data"))
		_, err = w.Commit(ctx, md)
		wantErr(t, "Commit with bad metadata", err, errdef.ErrInvalidArgument)
		_, err = c.Stat(ctx, "meta")
		wantErr(t, "Stat after a refused commit", err, errdef.ErrNotFound)
	}
}
