package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// world is a metadata store and a content store with two registries.
type world struct {
	meta     meta.Store
	blobs    *fs.Store
	src, dst meta.Registry
	now      time.Time
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	w := &world{meta: store, blobs: blobs, now: now,
		src: meta.Registry{Key: "src-key", Name: "source1", ResourceID: "/s/src", SubscriptionID: "s", ResourceGroup: "g", Document: []byte("{}"), CreatedAt: now, UpdatedAt: now},
		dst: meta.Registry{Key: "dst-key", Name: "target1", ResourceID: "/s/dst", SubscriptionID: "s", ResourceGroup: "g", Document: []byte("{}"), CreatedAt: now, UpdatedAt: now}}
	err = store.Update(ctx, func(tx meta.Tx) error {
		for _, r := range []meta.Registry{w.src, w.dst} {
			if err := tx.CreateRegistry(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// blob stores b and links it in reg/repo.
func (w *world) blob(t testing.TB, reg meta.Registry, repo string, b []byte) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	d := digest.FromBytes(b)
	cw, err := w.blobs.Writer(ctx, "t-"+d.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	cw.Write(b)
	if err := cw.Commit(ctx, int64(len(b)), d); err != nil {
		t.Fatal(err)
	}
	err = w.meta.Update(ctx, func(tx meta.Tx) error {
		return tx.LinkBlob(meta.BlobLink{RegistryKey: reg.Key, Repository: repo, Digest: d, Size: int64(len(b)), CreatedAt: w.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: d, Size: int64(len(b))}
}

func (w *world) manifest(t testing.TB, reg meta.Registry, repo, tag string, v any, mt string) ocispec.Descriptor {
	t.Helper()
	body, _ := json.Marshal(v)
	d := digest.FromBytes(body)
	err := w.meta.Update(context.Background(), func(tx meta.Tx) error {
		if err := tx.PutManifest(meta.Manifest{RegistryKey: reg.Key, Repository: repo, Digest: d, MediaType: mt, Size: int64(len(body)), Content: body, CreatedAt: w.now}); err != nil {
			return err
		}
		if tag != "" {
			return tx.PutTag(reg.Key, repo, tag, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(body))}
}

// image pushes a one-layer image and returns its manifest's descriptor.
func (w *world) image(t testing.TB, reg meta.Registry, repo, tag, seed string) ocispec.Descriptor {
	cfg := w.blob(t, reg, repo, []byte(`{"seed":"`+seed+`"}`))
	cfg.MediaType = ocispec.MediaTypeImageConfig
	layer := w.blob(t, reg, repo, bytes.Repeat([]byte(seed), 100_000))
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	m.SchemaVersion = 2
	return w.manifest(t, reg, repo, tag, m, ocispec.MediaTypeImageManifest)
}

func (w *world) gate(exportsDisabled *bool) transfer.ExportGate {
	return func(tx meta.Tx) (meta.Registry, egress.Permit, error) {
		reg, err := tx.RegistryByName(w.src.Name)
		if err != nil {
			return reg, egress.Permit{}, err
		}
		p, err := egress.Check(egress.Source{Key: reg.Key, Name: reg.Name, ExportsDisabled: exportsDisabled != nil && *exportsDisabled}, egress.ChannelExportPipelineRun)
		return reg, p, err
	}
}

func mustImage(t testing.TB, s string) transfer.Image {
	img, err := transfer.ParseImage(s, true)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// An export archive imports into another registry with every tag and
// digest intact, an index with its children included; importing it again
// copies no blob twice.
func TestArchiveRoundTrip(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := w.image(t, w.src, "app", "v1", "a")
	amd := w.image(t, w.src, "multi", "", "x")
	arm := w.image(t, w.src, "multi", "", "y")
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm}}
	idx.SchemaVersion = 2
	ix := w.manifest(t, w.src, "multi", "latest", idx, ocispec.MediaTypeImageIndex)
	var buf bytes.Buffer
	var last transfer.Progress
	res, err := transfer.Export(ctx, w.meta, w.blobs, w.gate(nil), &buf, transfer.ExportRequest{
		Artifacts: []transfer.Image{mustImage(t, "app:v1"), mustImage(t, "multi:latest"), mustImage(t, "app@"+a.Digest.String())},
		Progress:  func(p transfer.Progress) { last = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Exported) != 3 || last.Artifacts != 3 || last.Bytes != last.TotalBytes || last.TotalBytes == 0 {
		t.Fatalf("export result %+v, progress %+v", res, last)
	}
	archiveBytes := buf.Bytes()
	imp, err := transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(archiveBytes), transfer.ArchiveImport{Target: w.dst, CatalogDigest: res.CatalogDigest, Size: int64(len(archiveBytes)), Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	if imp.CatalogDigest != res.CatalogDigest || len(imp.Imported) != 3 || imp.Reused != 0 {
		t.Fatalf("import result %+v", imp)
	}
	err = w.meta.View(ctx, func(tx meta.Tx) error {
		for repo, want := range map[string]map[string]digest.Digest{"app": {"v1": a.Digest}, "multi": {"latest": ix.Digest}} {
			for tag, d := range want {
				got, err := tx.Tag(w.dst.Key, repo, tag)
				if err != nil || got != d {
					return fmt.Errorf("%s:%s = %s, %v; want %s", repo, tag, got, err, d)
				}
			}
		}
		for _, d := range []digest.Digest{amd.Digest, arm.Digest} {
			if _, err := tx.GetManifest(w.dst.Key, "multi", d); err != nil {
				return fmt.Errorf("child %s: %v", d, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(archiveBytes), transfer.ArchiveImport{Target: w.dst, Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	if again.Blobs != 0 || again.Reused != 6 {
		t.Fatalf("second import wrote %d blobs and reused %d; want 0 and 6", again.Blobs, again.Reused)
	}
}

// A damaged archive makes nothing visible; a tag that exists fails the
// run without OverwriteTags, unless ContinueOnErrors skips it.
func TestArchiveImportRefusals(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.image(t, w.src, "app", "v1", "a")
	var buf bytes.Buffer
	if _, err := transfer.Export(ctx, w.meta, w.blobs, w.gate(nil), &buf, transfer.ExportRequest{Artifacts: []transfer.Image{mustImage(t, "app:v1")}}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	bad := bytes.Clone(good)
	i := bytes.LastIndex(bad, bytes.Repeat([]byte("a"), 1000))
	bad[i] = 'b'
	_, err := transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(bad), transfer.ArchiveImport{Target: w.dst, Now: w.now})
	if !errors.Is(err, errdef.ErrInvalidArgument) || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered archive: %v", err)
	}
	w.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := tx.Tag(w.dst.Key, "app", "v1"); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("tampered archive left a tag: %v", err)
		}
		return nil
	})
	_, err = transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(good), transfer.ArchiveImport{Target: w.dst, CatalogDigest: digest.FromString("other"), Now: w.now})
	if !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("wrong catalog digest: %v", err)
	}
	other := w.image(t, w.dst, "app", "v1", "z")
	_, err = transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(good), transfer.ArchiveImport{Target: w.dst, Now: w.now})
	if !errors.Is(err, errdef.ErrConflict) {
		t.Fatalf("existing tag without OverwriteTags: %v", err)
	}
	res, err := transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(good), transfer.ArchiveImport{Target: w.dst, ContinueOnErrors: true, Now: w.now})
	if err != nil || len(res.Imported) != 0 || len(res.Skipped) != 1 {
		t.Fatalf("ContinueOnErrors: %+v, %v", res, err)
	}
	w.meta.View(ctx, func(tx meta.Tx) error {
		if d, _ := tx.Tag(w.dst.Key, "app", "v1"); d != other.Digest {
			t.Errorf("a skipped artifact moved the tag to %s", d)
		}
		return nil
	})
	if _, err := transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(good), transfer.ArchiveImport{Target: w.dst, OverwriteTags: true, Now: w.now}); err != nil {
		t.Fatal(err)
	}
}

// Once the gate says no, an export in flight writes nothing more; a
// missing artifact fails the run unless ContinueOnErrors skips it.
func TestExportStopsAtTheGate(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.image(t, w.src, "app", "v1", "a")
	w.image(t, w.src, "app", "v2", "b")
	disabled := false
	var buf bytes.Buffer
	_, err := transfer.Export(ctx, w.meta, w.blobs, w.gate(&disabled), &buf, transfer.ExportRequest{
		Artifacts: []transfer.Image{mustImage(t, "app:v1"), mustImage(t, "app:v2")},
		Progress: func(p transfer.Progress) {
			if p.Artifacts == 1 {
				disabled = true
			}
		},
	})
	var refusal *egress.Refusal
	if !errors.As(err, &refusal) {
		t.Fatalf("export after disable: %v", err)
	}
	if bytes.Contains(buf.Bytes(), bytes.Repeat([]byte("b"), 1000)) {
		t.Fatal("the second artifact's layer was written after the gate refused")
	}
	_, err = transfer.Export(ctx, w.meta, w.blobs, w.gate(nil), &buf, transfer.ExportRequest{Artifacts: []transfer.Image{mustImage(t, "app:nope")}})
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("missing artifact: %v", err)
	}
	res, err := transfer.Export(ctx, w.meta, w.blobs, w.gate(nil), &buf, transfer.ExportRequest{Artifacts: []transfer.Image{mustImage(t, "app:nope"), mustImage(t, "app:v1")}, ContinueOnErrors: true})
	if err != nil || len(res.Exported) != 1 || len(res.Skipped) != 1 {
		t.Fatalf("ContinueOnErrors: %+v %v", res, err)
	}
}

// FuzzImportArchive feeds arbitrary archives to an import: it ends in an
// error or an import, never a panic, and an archive that fails makes
// nothing visible in the target.
func FuzzImportArchive(f *testing.F) {
	seed := newWorld(f)
	seed.image(f, seed.src, "app", "v1", "a")
	var buf bytes.Buffer
	if _, err := transfer.Export(context.Background(), seed.meta, seed.blobs, seed.gate(nil), &buf, transfer.ExportRequest{Artifacts: []transfer.Image{mustImage(f, "app:v1")}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{})
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		res, err := transfer.ImportArchive(ctx, w.meta, w.blobs, bytes.NewReader(b), transfer.ArchiveImport{Target: w.dst, Now: w.now})
		if err != nil {
			if len(res.Imported) != 0 {
				t.Fatalf("a failed import reports %v", res.Imported)
			}
			return
		}
		for _, name := range res.Imported {
			repo, tag, ok := strings.Cut(name, ":")
			if !ok {
				continue
			}
			w.meta.View(ctx, func(tx meta.Tx) error {
				if _, err := tx.Tag(w.dst.Key, repo, tag); err != nil {
					t.Errorf("imported %s is not visible: %v", name, err)
				}
				return nil
			})
		}
	})
}
