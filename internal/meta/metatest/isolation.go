package metatest

import (
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Registries A and B both have a repository "app". Content is written with
// the same layer digest and the same manifest bytes in both, because that
// is what makes a leak possible: a backend keyed by digest or repository
// alone would merge them.
const isoRepo = "app"

type fixture struct {
	layer    digest.Digest
	shared   meta.Manifest // same bytes in A and B
	onlyA    meta.Manifest // a referrer of layer, in A only
	subjectA digest.Digest
}

func newFixture() fixture {
	f := fixture{layer: dg("layer"), shared: manifest("", isoRepo, `{"shared":true}`), onlyA: manifest("A", isoRepo, `{"onlyA":true}`)}
	f.subjectA = f.shared.Digest
	f.onlyA.Subject, f.onlyA.ArtifactType = f.subjectA, "application/x-sig"
	return f
}

// seedA writes to registry A: a link, the shared manifest tagged "latest",
// a referrer of it and an upload.
func seedA(t *testing.T, s meta.Store, f fixture) {
	t.Helper()
	update(t, s, func(tx meta.Tx) error {
		for _, k := range []string{"A", "B"} {
			if err := tx.CreateRegistry(registry(k, "registry"+k, "s", "rg")); err != nil {
				return err
			}
		}
		shared := f.shared
		shared.RegistryKey = "A"
		for _, err := range []error{
			tx.LinkBlob(link("A", isoRepo, f.layer)),
			tx.PutManifest(shared),
			tx.PutManifest(f.onlyA),
			tx.PutTag("A", isoRepo, "latest", shared.Digest),
			tx.PutUpload(meta.Upload{ID: "upload-A", RegistryKey: "A", Repository: isoRepo, StartedAt: at(0), UpdatedAt: at(0)}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// wantA checks that A still holds everything seedA wrote.
func wantA(t *testing.T, tx meta.Tx, f fixture) {
	t.Helper()
	if _, err := tx.BlobLink("A", isoRepo, f.layer); err != nil {
		t.Fatalf("A lost its link: %v", err)
	}
	if _, err := tx.GetManifest("A", isoRepo, f.shared.Digest); err != nil {
		t.Fatalf("A lost its manifest: %v", err)
	}
	if d, err := tx.Tag("A", isoRepo, "latest"); err != nil || d != f.shared.Digest {
		t.Fatalf("A lost its tag: %s %v", d, err)
	}
	if refs, err := tx.Referrers("A", isoRepo, f.subjectA, ""); err != nil || len(refs) != 1 {
		t.Fatalf("A lost its referrer: %v %v", refs, err)
	}
	if tags, err := tx.ListTags("A", isoRepo, meta.Page{}); err != nil || !slices.Equal(tags, []string{"latest"}) {
		t.Fatalf("A's tags: %v %v", tags, err)
	}
	if _, err := tx.GetUpload("upload-A"); err != nil {
		t.Fatalf("A lost its upload: %v", err)
	}
}

func testIsolation(t *testing.T, s meta.Store) {
	f := newFixture()
	seedA(t, s, f)
	view(t, s, func(tx meta.Tx) error {
		if _, err := tx.BlobLink("B", isoRepo, f.layer); !isNotFound(err) {
			t.Fatalf("A's link visible in B: %v", err)
		}
		if _, err := tx.GetManifest("B", isoRepo, f.shared.Digest); !isNotFound(err) {
			t.Fatalf("A's manifest visible in B: %v", err)
		}
		if _, err := tx.Tag("B", isoRepo, "latest"); !isNotFound(err) {
			t.Fatalf("A's tag visible in B: %v", err)
		}
		refs, err1 := tx.Referrers("B", isoRepo, f.subjectA, "")
		repos, err2 := tx.ListRepositories("B", meta.Page{})
		tags, err3 := tx.ListTags("B", isoRepo, meta.Page{})
		ok, err4 := tx.RepositoryExists("B", isoRepo)
		if len(refs)+len(repos)+len(tags) != 0 || ok || err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatalf("B's listings show A's rows: referrers %v repositories %v tags %v exists %v (%v %v %v %v)",
				refs, repos, tags, ok, err1, err2, err3, err4)
		}
		return nil
	})

	// B gets the same layer and manifest, tagged differently; then B removes
	// them again, one by one. A must not notice any of it.
	sharedB := f.shared
	sharedB.RegistryKey = "B"
	update(t, s, func(tx meta.Tx) error {
		for _, err := range []error{
			tx.LinkBlob(link("B", isoRepo, f.layer)),
			tx.PutManifest(sharedB),
			tx.PutTag("B", isoRepo, "stable", sharedB.Digest),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		wantA(t, tx, f)
		if tags, err := tx.ListTags("B", isoRepo, meta.Page{}); err != nil || !slices.Equal(tags, []string{"stable"}) {
			t.Fatalf("B's tags: %v %v", tags, err)
		}
		if refs, err := tx.Referrers("B", isoRepo, f.subjectA, ""); err != nil || len(refs) != 0 {
			t.Fatalf("A's referrer visible in B: %v %v", refs, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.UnlinkBlob("B", isoRepo, f.layer) })
	update(t, s, func(tx meta.Tx) error { return tx.DeleteManifest("B", isoRepo, sharedB.Digest) })
	view(t, s, func(tx meta.Tx) error { wantA(t, tx, f); return nil })
	update(t, s, func(tx meta.Tx) error { return tx.PutManifest(sharedB) })
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRepository("B", isoRepo) })
	view(t, s, func(tx meta.Tx) error { wantA(t, tx, f); return nil })
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRegistry("B") })
	view(t, s, func(tx meta.Tx) error { wantA(t, tx, f); return nil })
}

func testCascade(t *testing.T, s meta.Store) {
	f := newFixture()
	seedA(t, s, f)
	sharedB := f.shared
	sharedB.RegistryKey = "B"
	update(t, s, func(tx meta.Tx) error {
		if err := tx.LinkBlob(link("B", isoRepo, f.layer)); err != nil {
			return err
		}
		if err := tx.PutManifest(sharedB); err != nil {
			return err
		}
		return tx.DeleteRegistry("A")
	})
	gone := func(tx meta.Tx, key string) {
		t.Helper()
		repos, err := tx.ListRepositories(key, meta.Page{})
		if err != nil || len(repos) != 0 {
			t.Fatalf("repositories of %s after DeleteRegistry: %v %v", key, repos, err)
		}
		if ok, err := tx.RepositoryExists(key, isoRepo); ok || err != nil {
			t.Fatalf("repository of %s after DeleteRegistry: %v %v", key, ok, err)
		}
		if _, err := tx.BlobLink(key, isoRepo, f.layer); !isNotFound(err) {
			t.Fatalf("link of %s after DeleteRegistry: %v", key, err)
		}
		if _, err := tx.GetManifest(key, isoRepo, f.shared.Digest); !isNotFound(err) {
			t.Fatalf("manifest of %s after DeleteRegistry: %v", key, err)
		}
		if _, err := tx.Tag(key, isoRepo, "latest"); !isNotFound(err) {
			t.Fatalf("tag of %s after DeleteRegistry: %v", key, err)
		}
		if refs, err := tx.Referrers(key, isoRepo, f.subjectA, ""); err != nil || len(refs) != 0 {
			t.Fatalf("referrers of %s after DeleteRegistry: %v %v", key, refs, err)
		}
	}
	view(t, s, func(tx meta.Tx) error {
		gone(tx, "A")
		if _, err := tx.GetUpload("upload-A"); !isNotFound(err) {
			t.Fatalf("upload of A after DeleteRegistry: %v", err)
		}
		if _, err := tx.BlobLink("B", isoRepo, f.layer); err != nil {
			t.Fatalf("DeleteRegistry(A) removed B's link: %v", err)
		}
		if _, err := tx.GetManifest("B", isoRepo, f.shared.Digest); err != nil {
			t.Fatalf("DeleteRegistry(A) removed B's manifest: %v", err)
		}
		if ref, err := tx.BlobReferenced(f.layer); err != nil || !ref {
			t.Fatalf("B still references the layer: %v %v", ref, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRegistry("B") })
	view(t, s, func(tx meta.Tx) error {
		for _, d := range []digest.Digest{f.layer, f.shared.Digest} {
			if ref, err := tx.BlobReferenced(d); err != nil || ref {
				t.Fatalf("BlobReferenced(%s) with both registries gone: %v %v", d, ref, err)
			}
		}
		return nil
	})
	// A registry recreated under A's name gets a new key and sees nothing.
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(registry("A2", "registryA", "s", "rg")) })
	view(t, s, func(tx meta.Tx) error { gone(tx, "A2"); return nil })
}
