package transfer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/opencontainers/go-digest"
)

// Movers copy nothing without the gate's permit for exactly what they
// move: not with the zero Permit anyone can write, not with a permit for
// another registry or another channel.
func TestMoversRequireTheirPermit(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC()
	src := meta.Registry{Key: "src-key", Name: "source1", ResourceID: "/s/src", SubscriptionID: "s", ResourceGroup: "g", Document: []byte("{}"), CreatedAt: now, UpdatedAt: now}
	dst := meta.Registry{Key: "dst-key", Name: "target1", ResourceID: "/s/dst", SubscriptionID: "s", ResourceGroup: "g", Document: []byte("{}"), CreatedAt: now, UpdatedAt: now}
	layer := digest.FromString("layer")
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"digest":"` + layer.String() + `","size":5}]}`)
	md := digest.FromBytes(manifest)
	err = store.Update(ctx, func(tx meta.Tx) error {
		for _, r := range []meta.Registry{src, dst} {
			if err := tx.CreateRegistry(r); err != nil {
				return err
			}
		}
		if err := tx.LinkBlob(meta.BlobLink{RegistryKey: src.Key, Repository: "app", Digest: layer, Size: 5, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutManifest(meta.Manifest{RegistryKey: src.Key, Repository: "app", Digest: md, MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: int64(len(manifest)), Content: manifest, CreatedAt: now}); err != nil {
			return err
		}
		return tx.PutTag(src.Key, "app", "v1", md)
	})
	if err != nil {
		t.Fatal(err)
	}
	good, err := egress.Check(egress.Source{Key: src.Key, Name: src.Name}, egress.ChannelImportSource)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := egress.Check(egress.Source{Key: dst.Key, Name: dst.Name}, egress.ChannelImportSource)
	pipeline, _ := egress.Check(egress.Source{Key: src.Key, Name: src.Name}, egress.ChannelExportPipelineRun)
	req := transfer.ImportRequest{Source: src, Target: dst, Image: transfer.Image{Repository: "app", Tag: "v1"}, Now: now}
	for name, p := range map[string]egress.Permit{"zero": {}, "another registry's": other, "another channel's": pipeline} {
		err := store.Update(ctx, func(tx meta.Tx) error {
			_, err := transfer.Import(tx, p, req)
			return err
		})
		if !errors.Is(err, errdef.ErrDenied) {
			t.Fatalf("import with the %s permit: %v", name, err)
		}
		err = store.Update(ctx, func(tx meta.Tx) error {
			return transfer.Mount(tx, p, transfer.MountRequest{Source: src, Target: dst, SourceRepo: "app", TargetRepo: "app", Digest: layer, Now: now})
		})
		if !errors.Is(err, errdef.ErrDenied) {
			t.Fatalf("mount with the %s permit: %v", name, err)
		}
	}
	err = store.View(ctx, func(tx meta.Tx) error {
		if _, err := tx.BlobLink(dst.Key, "app", layer); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("a refused mover linked the blob: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The gate's own permit moves the image.
	err = store.Update(ctx, func(tx meta.Tx) error {
		res, err := transfer.Import(tx, good, req)
		if err == nil && res.Digest != md {
			t.Errorf("imported %s", res.Digest)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The mount channel is refused by the gate, so no permit for it exists.
	if _, err := egress.Check(egress.Source{Key: src.Key, Name: src.Name}, egress.ChannelCrossRegistryMount); err == nil {
		t.Fatal("the gate allowed a cross-registry mount")
	}
}
