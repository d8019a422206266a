package metatest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func testBlobs(t *testing.T, s meta.Store) {
	d, other := dg("layer"), dg("unknown")
	update(t, s, func(tx meta.Tx) error {
		if err := tx.LinkBlob(link("k", "app", d)); err != nil {
			return err
		}
		if err := tx.LinkBlob(link("k", "app", d)); err != nil {
			return fmt.Errorf("LinkBlob must be idempotent: %w", err)
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		l, err := tx.BlobLink("k", "app", d)
		if err != nil || l.Size != 42 || l.Digest != d || l.RegistryKey != "k" || l.Repository != "app" || !l.CreatedAt.Equal(at(0)) {
			t.Fatalf("BlobLink: %+v %v", l, err)
		}
		_, err = tx.BlobLink("k", "app2", d)
		wantClass(t, "BlobLink in another repository", err, errdef.ErrNotFound)
		ok, err := tx.RepositoryExists("k", "app")
		if err != nil || !ok {
			t.Fatalf("LinkBlob must create the repository: %v %v", ok, err)
		}
		ref, err := tx.BlobReferenced(d)
		if err != nil || !ref {
			t.Fatalf("BlobReferenced of a linked blob: %v %v", ref, err)
		}
		ref, err = tx.BlobReferenced(other)
		if err != nil || ref {
			t.Fatalf("BlobReferenced of an unknown blob: %v %v", ref, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.UnlinkBlob("k", "app", d) })
	wantClass(t, "UnlinkBlob twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.UnlinkBlob("k", "app", d)
	}), errdef.ErrNotFound)
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.BlobLink("k", "app", d)
		wantClass(t, "BlobLink after unlink", err, errdef.ErrNotFound)
		ref, err := tx.BlobReferenced(d)
		if err != nil || ref {
			t.Fatalf("BlobReferenced after the last unlink: %v %v", ref, err)
		}
		return nil
	})
	// A manifest's own digest counts as a reference: its bytes are a blob too.
	m := manifest("k", "app", `{"m":1}`)
	update(t, s, func(tx meta.Tx) error { return tx.PutManifest(m) })
	view(t, s, func(tx meta.Tx) error {
		ref, err := tx.BlobReferenced(m.Digest)
		if err != nil || !ref {
			t.Fatalf("BlobReferenced of a manifest: %v %v", ref, err)
		}
		return nil
	})
}

func testManifests(t *testing.T, s meta.Store) {
	m := manifest("k", "app", `{"schemaVersion":2}`)
	m.ArtifactType, m.Subject, m.Annotations = "application/x-sig", dg("subject"), map[string]string{"a": "b", "c": ""}
	other := manifest("k", "app", `{"other":true}`)
	update(t, s, func(tx meta.Tx) error {
		for _, x := range []meta.Manifest{m, other} {
			if err := tx.PutManifest(x); err != nil {
				return err
			}
		}
		if err := tx.PutManifest(m); err != nil {
			return fmt.Errorf("PutManifest of the same manifest again: %w", err)
		}
		// The same digest in a second repository, tagged there too.
		if err := tx.PutManifest(manifest("k", "app2", `{"schemaVersion":2}`)); err != nil {
			return err
		}
		for _, tag := range []string{"v1", "v2"} {
			if err := tx.PutTag("k", "app", tag, m.Digest); err != nil {
				return err
			}
		}
		if err := tx.PutTag("k", "app2", "v1", m.Digest); err != nil {
			return err
		}
		return tx.PutTag("k", "app", "v3", other.Digest)
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.GetManifest("k", "app", m.Digest)
		wantNoErr(t, "GetManifest", err)
		if got.Digest != m.Digest || got.MediaType != m.MediaType || got.ArtifactType != m.ArtifactType ||
			got.Subject != m.Subject || string(got.Content) != string(m.Content) || got.Size != int64(len(m.Content)) ||
			len(got.Annotations) != 2 || got.Annotations["a"] != "b" || !got.CreatedAt.Equal(at(0)) ||
			got.RegistryKey != "k" || got.Repository != "app" {
			t.Fatalf("GetManifest:\n got %+v\nwant %+v", got, m)
		}
		plain, err := tx.GetManifest("k", "app", other.Digest)
		if err != nil || plain.Subject != "" || len(plain.Annotations) != 0 {
			t.Fatalf("manifest without subject or annotations: %+v %v", plain, err)
		}
		_, err = tx.GetManifest("k", "app", dg("nope"))
		wantClass(t, "GetManifest of an unknown digest", err, errdef.ErrNotFound)
		ok, err := tx.RepositoryExists("k", "app2")
		if err != nil || !ok {
			t.Fatalf("PutManifest must create the repository: %v %v", ok, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteManifest("k", "app", m.Digest) })
	wantClass(t, "DeleteManifest twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteManifest("k", "app", m.Digest)
	}), errdef.ErrNotFound)
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.GetManifest("k", "app", m.Digest)
		wantClass(t, "GetManifest after delete", err, errdef.ErrNotFound)
		tags, err := tx.ListTags("k", "app", meta.Page{})
		if err != nil || !slices.Equal(tags, []string{"v3"}) {
			t.Fatalf("DeleteManifest must remove exactly its tags: %v %v", tags, err)
		}
		tags, err = tx.ListTags("k", "app2", meta.Page{})
		if err != nil || !slices.Equal(tags, []string{"v1"}) {
			t.Fatalf("DeleteManifest touched another repository: %v %v", tags, err)
		}
		if _, err := tx.GetManifest("k", "app2", m.Digest); err != nil {
			t.Fatalf("DeleteManifest touched another repository: %v", err)
		}
		return nil
	})
}

func testTags(t *testing.T, s meta.Store) {
	d1, d2 := dg("one"), dg("two")
	var want []string
	update(t, s, func(tx meta.Tx) error {
		for i := range 25 {
			tag := fmt.Sprintf("v%02d", (i*7)%25)
			want = append(want, tag)
			if err := tx.PutTag("k", "app", tag, d1); err != nil {
				return err
			}
		}
		return tx.PutTag("k", "app", "v00", d2) // moves it
	})
	slices.Sort(want)
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Tag("k", "app", "v00")
		if err != nil || got != d2 {
			t.Fatalf("moved tag: %s %v", got, err)
		}
		_, err = tx.Tag("k", "app", "nope")
		wantClass(t, "Tag of an unknown tag", err, errdef.ErrNotFound)
		_, err = tx.Tag("k", "other", "v00")
		wantClass(t, "Tag in another repository", err, errdef.ErrNotFound)
		var paged []string
		after := ""
		for range 10 {
			page, err := tx.ListTags("k", "app", meta.Page{After: after, Limit: 10})
			wantNoErr(t, "ListTags", err)
			paged = append(paged, page...)
			if len(page) < 10 {
				break
			}
			after = page[len(page)-1]
		}
		if !slices.Equal(paged, want) {
			t.Fatalf("paged tags:\n got %v\nwant %v", paged, want)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteTag("k", "app", "v00") })
	wantClass(t, "DeleteTag twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteTag("k", "app", "v00")
	}), errdef.ErrNotFound)
	view(t, s, func(tx meta.Tx) error {
		tags, err := tx.ListTags("k", "app", meta.Page{Limit: 1})
		if err != nil || !slices.Equal(tags, []string{"v01"}) {
			t.Fatalf("first tag after delete: %v %v", tags, err)
		}
		return nil
	})
}

func testRepositories(t *testing.T, s meta.Store) {
	d := dg("layer")
	names := []string{"a/b", "a", "a/b/c", "a/bc", "z", "m/n"}
	update(t, s, func(tx meta.Tx) error {
		for _, repo := range names {
			m := manifest("k", repo, `{"repo":"`+repo+`"}`)
			if err := tx.LinkBlob(link("k", repo, d)); err != nil {
				return err
			}
			if err := tx.PutManifest(m); err != nil {
				return err
			}
			if err := tx.PutTag("k", repo, "latest", m.Digest); err != nil {
				return err
			}
		}
		return nil
	})
	want := slices.Clone(names)
	slices.Sort(want)
	view(t, s, func(tx meta.Tx) error {
		var got []string
		after := ""
		for range 10 {
			page, err := tx.ListRepositories("k", meta.Page{After: after, Limit: 4})
			wantNoErr(t, "ListRepositories", err)
			got = append(got, page...)
			if len(page) < 4 {
				break
			}
			after = page[len(page)-1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged repositories:\n got %v\nwant %v", got, want)
		}
		ok, err := tx.RepositoryExists("k", "a/b")
		no, err2 := tx.RepositoryExists("k", "a/b/")
		if err != nil || err2 != nil || !ok || no {
			t.Fatalf("RepositoryExists: %v %v %v %v", ok, no, err, err2)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRepository("k", "a/b") })
	wantClass(t, "DeleteRepository twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteRepository("k", "a/b")
	}), errdef.ErrNotFound)
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.ListRepositories("k", meta.Page{})
		if err != nil || !slices.Equal(got, []string{"a", "a/b/c", "a/bc", "m/n", "z"}) {
			t.Fatalf("after DeleteRepository(a/b): %v %v", got, err)
		}
		if _, err := tx.BlobLink("k", "a/b", d); !isNotFound(err) {
			t.Fatalf("link survived DeleteRepository: %v", err)
		}
		if _, err := tx.GetManifest("k", "a/b", dg(`{"repo":"a/b"}`)); !isNotFound(err) {
			t.Fatalf("manifest survived DeleteRepository: %v", err)
		}
		if _, err := tx.Tag("k", "a/b", "latest"); !isNotFound(err) {
			t.Fatalf("tag survived DeleteRepository: %v", err)
		}
		for _, repo := range []string{"a", "a/b/c", "a/bc"} { // neighbours by prefix
			if _, err := tx.BlobLink("k", repo, d); err != nil {
				t.Fatalf("DeleteRepository(a/b) removed the link in %s: %v", repo, err)
			}
			if _, err := tx.Tag("k", repo, "latest"); err != nil {
				t.Fatalf("DeleteRepository(a/b) removed the tag in %s: %v", repo, err)
			}
		}
		return nil
	})
	wantClass(t, "DeleteRepository of an unknown repository", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteRepository("k", "nope")
	}), errdef.ErrNotFound)
}

func testReferrers(t *testing.T, s meta.Store) {
	subject := dg("subject")
	var sigs, all []digest.Digest
	update(t, s, func(tx meta.Tx) error {
		for i, typ := range []string{"application/x-sig", "application/x-sbom", "application/x-sig", "application/x-sbom"} {
			m := manifest("k", "app", fmt.Sprintf(`{"n":%d}`, i))
			m.ArtifactType, m.Subject, m.Annotations = typ, subject, map[string]string{"n": fmt.Sprint(i)}
			all = append(all, m.Digest)
			if typ == "application/x-sig" {
				sigs = append(sigs, m.Digest)
			}
			if err := tx.PutManifest(m); err != nil {
				return err
			}
		}
		// Same subject, other repository; and a manifest without a subject.
		elsewhere := manifest("k", "other", `{"n":"elsewhere"}`)
		elsewhere.Subject, elsewhere.ArtifactType = subject, "application/x-sig"
		if err := tx.PutManifest(elsewhere); err != nil {
			return err
		}
		return tx.PutManifest(manifest("k", "app", `{"plain":true}`))
	})
	slices.Sort(all)
	slices.Sort(sigs)
	digests := func(ms []meta.Manifest) []digest.Digest {
		var out []digest.Digest
		for _, m := range ms {
			out = append(out, m.Digest)
		}
		return out
	}
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Referrers("k", "app", subject, "")
		if err != nil || !slices.Equal(digests(got), all) {
			t.Fatalf("Referrers (ordered by digest):\n got %v\nwant %v (%v)", digests(got), all, err)
		}
		for _, m := range got {
			if m.Content != nil || m.Size == 0 || m.ArtifactType == "" || m.Annotations["n"] == "" || m.Subject != subject {
				t.Fatalf("referrer fields (no Content, the rest filled in): %+v", m)
			}
		}
		got, err = tx.Referrers("k", "app", subject, "application/x-sig")
		if err != nil || !slices.Equal(digests(got), sigs) {
			t.Fatalf("Referrers filtered by type: %v %v", digests(got), err)
		}
		got, err = tx.Referrers("k", "app", dg("no-referrers"), "")
		if err != nil || len(got) != 0 {
			t.Fatalf("Referrers of an unreferenced digest: %v %v", digests(got), err)
		}
		got, err = tx.Referrers("k", "app", "", "")
		if err != nil || len(got) != 0 {
			t.Fatalf("Referrers of the empty subject: %v %v", digests(got), err)
		}
		return nil
	})
}

func testUploads(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for i := range 4 {
			u := meta.Upload{ID: fmt.Sprint("u", i), RegistryKey: "k", Repository: "app", StartedAt: at(0), UpdatedAt: at(3 - i)}
			if err := tx.PutUpload(u); err != nil {
				return err
			}
		}
		// Touch u3: it is no longer the oldest.
		return tx.PutUpload(meta.Upload{ID: "u3", RegistryKey: "k", Repository: "app", StartedAt: at(0), UpdatedAt: at(10)})
	})
	view(t, s, func(tx meta.Tx) error {
		u, err := tx.GetUpload("u1")
		if err != nil || u.RegistryKey != "k" || u.Repository != "app" || !u.StartedAt.Equal(at(0)) || !u.UpdatedAt.Equal(at(2)) {
			t.Fatalf("GetUpload: %+v %v", u, err)
		}
		u, err = tx.GetUpload("u3")
		if err != nil || !u.UpdatedAt.Equal(at(10)) {
			t.Fatalf("PutUpload must update UpdatedAt: %+v %v", u, err)
		}
		_, err = tx.GetUpload("nope")
		wantClass(t, "GetUpload of an unknown id", err, errdef.ErrNotFound)
		stale, err := tx.StaleUploads(at(3).Add(time.Nanosecond), 0)
		if err != nil || len(stale) != 3 || stale[0].ID != "u2" || stale[1].ID != "u1" || stale[2].ID != "u0" {
			t.Fatalf("StaleUploads oldest first: %+v %v", stale, err)
		}
		stale, err = tx.StaleUploads(at(3), 2)
		if err != nil || len(stale) != 2 || stale[0].ID != "u2" {
			t.Fatalf("StaleUploads before the cutoff, limited: %+v %v", stale, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteUpload("u0") })
	wantClass(t, "DeleteUpload twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteUpload("u0")
	}), errdef.ErrNotFound)
}
