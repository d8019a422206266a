package gc_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content/contenttest"
	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/gc"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/opencontainers/go-digest"
)

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, err := fs.New(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	linked := contenttest.Put(t, blobs, "linked", []byte("linked in one registry"))
	orphan := contenttest.Put(t, blobs, "orphan", []byte("committed, never linked"))
	unlinked := contenttest.Put(t, blobs, "unlinked", []byte("linked, then deleted"))
	now := time.Now()
	err = store.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.CreateRegistry(meta.Registry{Key: "k1", Name: "reg1", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/reg1",
			SubscriptionID: "s", ResourceGroup: "g", Document: []byte(`{}`), CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		for _, d := range []digest.Digest{linked, unlinked} {
			if err := tx.LinkBlob(meta.BlobLink{RegistryKey: "k1", Repository: "app", Digest: d, Size: 1, CreatedAt: now}); err != nil {
				return err
			}
		}
		return tx.UnlinkBlob("k1", "app", unlinked)
	})
	if err != nil {
		t.Fatal(err)
	}

	// Everything is within an hour's grace: nothing goes.
	r, err := gc.Collect(t.Context(), store, blobs, time.Hour)
	if err != nil || r.Scanned != 3 || r.WithinGrace != 3 || r.Deleted != 0 {
		t.Fatalf("within grace: %+v %v", r, err)
	}
	// A grace that has passed for all of them: the unreferenced two go.
	r, err = gc.Collect(t.Context(), store, blobs, -time.Minute)
	if err != nil || r.Deleted != 2 || r.Referenced != 1 || r.BytesFreed != int64(len("committed, never linked")+len("linked, then deleted")) || r.FirstFailure != nil {
		t.Fatalf("collect: %+v %v", r, err)
	}
	for d, want := range map[digest.Digest]bool{linked: true, orphan: false, unlinked: false} {
		_, err := blobs.Stat(t.Context(), d)
		if got := err == nil; got != want || err != nil && !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s stored = %v (%v), want %v", d, got, err, want)
		}
	}
	// Deleting the registry drops its links, and the last blob goes too.
	if err := store.Update(t.Context(), func(tx meta.Tx) error { return tx.DeleteRegistry("k1") }); err != nil {
		t.Fatal(err)
	}
	if r, err := gc.Collect(t.Context(), store, blobs, -time.Minute); err != nil || r.Deleted != 1 || r.Scanned != 1 {
		t.Fatalf("after the registry is deleted: %+v %v", r, err)
	}
	// A cancelled context stops the run.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	contenttest.Put(t, blobs, "late", []byte("late"))
	if _, err := gc.Collect(ctx, store, blobs, -time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
}
