// Package metatest is the conformance suite every meta.Store backend must
// pass (SQLite now, PostgreSQL next): CRUD per role, paging, transactions,
// concurrency, and registry isolation.
package metatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Run runs the suite; open returns a fresh, empty store for each case.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"registries", testRegistries},
		{"registry paging and filters", testRegistryPaging},
		{"resources", testResources},
		{"blobs manifests tags", testOCI},
		{"referrers", testReferrers},
		{"uploads", testUploads},
		{"identities", testIdentities},
		{"isolation between registries", testIsolation},
		{"delete registry cascades", testCascade},
		{"rollback leaves nothing", testRollback},
		{"view is read-only", testViewReadOnly},
		{"serializable updates", testSerializable},
		{"disable flag versus pipeline creation race", testFlagRace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			c.fn(t, s)
		})
	}
}

var ctx = context.Background()

func update(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func expectClass(t *testing.T, err, class error) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("got %v, want %v", err, class)
	}
}

var now = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)

func registry(key, name, sub, rg string) meta.Registry {
	return meta.Registry{Key: key, Name: name, SubscriptionID: sub, ResourceGroup: rg,
		ResourceID: "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/" + name,
		Document:   []byte(`{"name":"` + name + `"}`), CreatedAt: now, UpdatedAt: now}
}

func testRegistries(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(registry("k1", "alpha1", "s1", "rg")) })
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.CreateRegistry(registry("k2", "ALPHA1", "s1", "other")) }), errdef.ErrAlreadyExists)
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("Alpha1")
		if err != nil {
			return err
		}
		if r.Key != "k1" || r.Name != "alpha1" || string(r.Document) != `{"name":"alpha1"}` || !r.CreatedAt.Equal(now) {
			t.Fatalf("got %+v", r)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		r := registry("k1", "alpha1", "s1", "rg")
		r.Document, r.UpdatedAt = []byte(`{"v":2}`), now.Add(time.Hour)
		return tx.UpdateRegistry(r)
	})
	view(t, s, func(tx meta.Tx) error {
		r, _ := tx.RegistryByName("alpha1")
		if string(r.Document) != `{"v":2}` || !r.UpdatedAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("update lost: %+v", r)
		}
		return nil
	})
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.UpdateRegistry(registry("nokey", "x", "s", "r")) }), errdef.ErrNotFound)
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRegistry("k1") })
	expectClass(t, s.View(ctx, func(tx meta.Tx) error { _, err := tx.RegistryByName("alpha1"); return err }), errdef.ErrNotFound)
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.DeleteRegistry("k1") }), errdef.ErrNotFound)
}

func testRegistryPaging(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for i := range 25 {
			rg := "rg" + strconv.Itoa(i%2)
			if err := tx.CreateRegistry(registry(fmt.Sprint("k", i), fmt.Sprintf("reg%02d", i), "s1", rg)); err != nil {
				return err
			}
		}
		return tx.CreateRegistry(registry("other", "zzzother", "s2", "rg0"))
	})
	var all []string
	after := ""
	for {
		var page []meta.Registry
		view(t, s, func(tx meta.Tx) (err error) {
			page, err = tx.ListRegistries("S1", "", meta.Page{After: after, Limit: 10})
			return err
		})
		for _, r := range page {
			all = append(all, r.Name)
		}
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].Name
	}
	if len(all) != 25 || all[0] != "reg00" || all[24] != "reg24" {
		t.Fatalf("paged subscription list: %v", all)
	}
	view(t, s, func(tx meta.Tx) error {
		rg, err := tx.ListRegistries("s1", "RG1", meta.Page{})
		if err != nil || len(rg) != 12 {
			t.Fatalf("group filter: %d %v", len(rg), err)
		}
		every, err := tx.ListRegistries("", "", meta.Page{})
		if err != nil || len(every) != 26 {
			t.Fatalf("unfiltered: %d %v", len(every), err)
		}
		return nil
	})
}

func testResources(t *testing.T, s meta.Store) {
	const rg = "/subscriptions/s1/resourceGroups/RG"
	update(t, s, func(tx meta.Tx) error {
		for _, id := range []string{rg, rg + "/providers/X/things/a%b", rg + "/providers/X/things/a_c", rg + "x/providers/X/things/q", "/subscriptions/s1/resourceGroups/other"} {
			typ := "X/things"
			if id == rg || id == "/subscriptions/s1/resourceGroups/other" {
				typ = "Microsoft.Resources/resourceGroups"
			}
			if err := tx.PutResource(meta.Resource{ID: id, Type: typ, Document: []byte(`{}`), CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.GetResource("/SUBSCRIPTIONS/s1/resourcegroups/rg")
		if err != nil || r.ID != rg {
			t.Fatalf("case-insensitive get: %+v %v", r, err)
		}
		things, err := tx.ListResources("/subscriptions/S1/resourceGroups/rg", "x/THINGS", meta.Page{})
		if err != nil || len(things) != 2 {
			t.Fatalf("scoped list (must not include the sibling group rgx): %+v %v", things, err)
		}
		page, err := tx.ListResources("/subscriptions/s1/resourceGroups/rg", "", meta.Page{Limit: 1})
		if err != nil || len(page) != 1 {
			t.Fatalf("limit: %v %v", page, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: rg, Type: "Microsoft.Resources/resourceGroups", Document: []byte(`{"v":2}`)})
	})
	view(t, s, func(tx meta.Tx) error {
		r, _ := tx.GetResource(rg)
		if string(r.Document) != `{"v":2}` {
			t.Fatalf("replace: %s", r.Document)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteResource(rg) })
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.DeleteResource(rg) }), errdef.ErrNotFound)
	expectClass(t, s.View(ctx, func(tx meta.Tx) error { _, err := tx.GetResource(rg); return err }), errdef.ErrNotFound)
}

var (
	d1 = digest.FromString("one")
	d2 = digest.FromString("two")
	d3 = digest.FromString("three")
)

func testOCI(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		if err := tx.CreateRegistry(registry("k", "reg01", "s", "rg")); err != nil {
			return err
		}
		if err := tx.LinkBlob(meta.BlobLink{RegistryKey: "k", Repository: "a/b", Digest: d1, Size: 3, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.LinkBlob(meta.BlobLink{RegistryKey: "k", Repository: "a/b", Digest: d1, Size: 3, CreatedAt: now}); err != nil {
			return fmt.Errorf("link must be idempotent: %w", err)
		}
		if err := tx.PutManifest(meta.Manifest{RegistryKey: "k", Repository: "a/b", Digest: d2, MediaType: "m", Content: []byte("{}"), Annotations: map[string]string{"a": "b"}, CreatedAt: now}); err != nil {
			return err
		}
		for _, tag := range []string{"v3", "v1", "v2"} {
			if err := tx.PutTag("k", "a/b", tag, d2); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		l, err := tx.BlobLink("k", "a/b", d1)
		if err != nil || l.Size != 3 {
			t.Fatalf("link: %+v %v", l, err)
		}
		m, err := tx.GetManifest("k", "a/b", d2)
		if err != nil || string(m.Content) != "{}" || m.Size != 2 || m.Annotations["a"] != "b" {
			t.Fatalf("manifest: %+v %v", m, err)
		}
		tags, _ := tx.ListTags("k", "a/b", meta.Page{After: "v1", Limit: 5})
		if fmt.Sprint(tags) != "[v2 v3]" {
			t.Fatalf("tags after v1: %v", tags)
		}
		repos, _ := tx.ListRepositories("k", meta.Page{})
		ok, _ := tx.RepositoryExists("k", "a/b")
		no, _ := tx.RepositoryExists("k", "a")
		if fmt.Sprint(repos) != "[a/b]" || !ok || no {
			t.Fatalf("repositories: %v %v %v", repos, ok, no)
		}
		ref, _ := tx.BlobReferenced(d1)
		unref, _ := tx.BlobReferenced(d3)
		if !ref || unref {
			t.Fatalf("BlobReferenced: %v %v", ref, unref)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.PutTag("k", "a/b", "v1", d3) })
	update(t, s, func(tx meta.Tx) error { return tx.DeleteManifest("k", "a/b", d2) })
	view(t, s, func(tx meta.Tx) error {
		tags, _ := tx.ListTags("k", "a/b", meta.Page{})
		if fmt.Sprint(tags) != "[v1]" {
			t.Fatalf("DeleteManifest must remove only its tags: %v", tags)
		}
		return nil
	})
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.DeleteTag("k", "a/b", "nope") }), errdef.ErrNotFound)
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.UnlinkBlob("k", "a/b", d3) }), errdef.ErrNotFound)
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRepository("k", "a/b") })
	view(t, s, func(tx meta.Tx) error {
		if _, err := tx.BlobLink("k", "a/b", d1); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("link survived DeleteRepository: %v", err)
		}
		if _, err := tx.Tag("k", "a/b", "v1"); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("tag survived DeleteRepository: %v", err)
		}
		return nil
	})
}

func testReferrers(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for i, at := range []string{"sig", "sbom", "sig"} {
			m := meta.Manifest{RegistryKey: "k", Repository: "r", Digest: digest.FromString(strconv.Itoa(i)), MediaType: "m",
				ArtifactType: at, Subject: d1, Content: []byte("{}"), CreatedAt: now}
			if err := tx.PutManifest(m); err != nil {
				return err
			}
		}
		return tx.PutManifest(meta.Manifest{RegistryKey: "k", Repository: "other", Digest: d3, Subject: d1, ArtifactType: "sig", Content: []byte("{}"), CreatedAt: now})
	})
	view(t, s, func(tx meta.Tx) error {
		all, _ := tx.Referrers("k", "r", d1, "")
		sigs, _ := tx.Referrers("k", "r", d1, "sig")
		none, _ := tx.Referrers("k", "r", d2, "")
		if len(all) != 3 || len(sigs) != 2 || len(none) != 0 || all[0].Content != nil || all[0].Size != 2 {
			t.Fatalf("referrers: %d %d %d", len(all), len(sigs), len(none))
		}
		return nil
	})
}

func testUploads(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for i := range 3 {
			u := meta.Upload{ID: fmt.Sprint("u", i), RegistryKey: "k", Repository: "r", StartedAt: now, UpdatedAt: now.Add(time.Duration(i) * time.Hour)}
			if err := tx.PutUpload(u); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		u, err := tx.GetUpload("u1")
		if err != nil || u.Repository != "r" || !u.UpdatedAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("upload: %+v %v", u, err)
		}
		stale, _ := tx.StaleUploads(now.Add(90*time.Minute), 10)
		if len(stale) != 2 || stale[0].ID != "u0" {
			t.Fatalf("stale: %+v", stale)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteUpload("u0") })
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error { return tx.DeleteUpload("u0") }), errdef.ErrNotFound)
}

func testIdentities(t *testing.T, s meta.Store) {
	p := meta.Principal{ObjectID: "o1", ClientID: "c1", TenantID: "t1", DisplayName: "sp",
		Secrets: []meta.SecretHash{{ID: "s", Hash: "bcrypt$x", Hint: "abc", ExpiresAt: now}}, CreatedAt: now}
	update(t, s, func(tx meta.Tx) error {
		if err := tx.PutTenant(meta.Tenant{ID: "t1", DisplayName: "T", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutSubscription(meta.Subscription{ID: "s1", TenantID: "t1", DisplayName: "S", CreatedAt: now}); err != nil {
			return err
		}
		return tx.PutPrincipal(p)
	})
	expectClass(t, s.Update(ctx, func(tx meta.Tx) error {
		q := p
		q.ObjectID = "o2"
		return tx.PutPrincipal(q)
	}), errdef.ErrAlreadyExists)
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.PrincipalByClientID("c1")
		if err != nil || got.ObjectID != "o1" || len(got.Secrets) != 1 || !got.Secrets[0].ExpiresAt.Equal(now) {
			t.Fatalf("principal: %+v %v", got, err)
		}
		ts, _ := tx.ListTenants()
		ss, _ := tx.ListSubscriptions()
		if len(ts) != 1 || len(ss) != 1 || ss[0].TenantID != "t1" {
			t.Fatalf("tenants %v subs %v", ts, ss)
		}
		return nil
	})
	expectClass(t, s.View(ctx, func(tx meta.Tx) error { _, err := tx.PrincipalByClientID("nope"); return err }), errdef.ErrNotFound)
}

// Two registries with the same repository name and digest never see each
// other's rows.
func testIsolation(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for _, k := range []string{"A", "B"} {
			if err := tx.CreateRegistry(registry(k, "reg"+k+"xyz", "s", "rg")); err != nil {
				return err
			}
		}
		if err := tx.LinkBlob(meta.BlobLink{RegistryKey: "A", Repository: "app", Digest: d1, Size: 1, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutManifest(meta.Manifest{RegistryKey: "A", Repository: "app", Digest: d2, Subject: d1, Content: []byte("{}"), CreatedAt: now}); err != nil {
			return err
		}
		return tx.PutTag("A", "app", "latest", d2)
	})
	view(t, s, func(tx meta.Tx) error {
		if _, err := tx.BlobLink("B", "app", d1); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("blob visible across registries: %v", err)
		}
		if _, err := tx.GetManifest("B", "app", d2); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("manifest visible across registries: %v", err)
		}
		if _, err := tx.Tag("B", "app", "latest"); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("tag visible across registries: %v", err)
		}
		refs, _ := tx.Referrers("B", "app", d1, "")
		repos, _ := tx.ListRepositories("B", meta.Page{})
		tags, _ := tx.ListTags("B", "app", meta.Page{})
		ok, _ := tx.RepositoryExists("B", "app")
		if len(refs)+len(repos)+len(tags) != 0 || ok {
			t.Fatalf("listing leaked: %v %v %v %v", refs, repos, tags, ok)
		}
		return nil
	})
}

func testCascade(t *testing.T, s meta.Store) {
	testIsolation(t, s)
	update(t, s, func(tx meta.Tx) error {
		if err := tx.PutUpload(meta.Upload{ID: "u", RegistryKey: "A", Repository: "app", StartedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.LinkBlob(meta.BlobLink{RegistryKey: "B", Repository: "app", Digest: d1, Size: 1, CreatedAt: now}); err != nil {
			return err
		}
		return tx.DeleteRegistry("A")
	})
	view(t, s, func(tx meta.Tx) error {
		repos, _ := tx.ListRepositories("A", meta.Page{})
		_, uerr := tx.GetUpload("u")
		_, terr := tx.Tag("A", "app", "latest")
		_, lerr := tx.BlobLink("B", "app", d1)
		if len(repos) != 0 || !errors.Is(uerr, errdef.ErrNotFound) || !errors.Is(terr, errdef.ErrNotFound) || lerr != nil {
			t.Fatalf("cascade: repos %v upload %v tag %v other registry %v", repos, uerr, terr, lerr)
		}
		return nil
	})
}

func testRollback(t *testing.T, s meta.Store) {
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx meta.Tx) error {
		if err := tx.CreateRegistry(registry("k", "rolled", "s", "rg")); err != nil {
			return err
		}
		if err := tx.PutResource(meta.Resource{ID: "/subscriptions/s/x", Type: "t", Document: []byte("{}")}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update must return fn's error, got %v", err)
	}
	view(t, s, func(tx meta.Tx) error {
		_, e1 := tx.RegistryByName("rolled")
		_, e2 := tx.GetResource("/subscriptions/s/x")
		if !errors.Is(e1, errdef.ErrNotFound) || !errors.Is(e2, errdef.ErrNotFound) {
			t.Fatalf("rolled back writes visible: %v %v", e1, e2)
		}
		return nil
	})
}

func testViewReadOnly(t *testing.T, s meta.Store) {
	err := s.View(ctx, func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: "/subscriptions/s/ro", Type: "t", Document: []byte("{}")})
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
}

type counter struct{ N int }

func testSerializable(t *testing.T, s meta.Store) {
	const id = "/subscriptions/s/counter"
	update(t, s, func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: id, Type: "t", Document: []byte(`{"N":0}`)})
	})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Update(ctx, func(tx meta.Tx) error {
				r, err := tx.GetResource(id)
				if err != nil {
					return err
				}
				var c counter
				json.Unmarshal(r.Document, &c)
				c.N++
				r.Document, _ = json.Marshal(c)
				return tx.PutResource(r)
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	view(t, s, func(tx meta.Tx) error {
		r, _ := tx.GetResource(id)
		var c counter
		json.Unmarshal(r.Document, &c)
		if c.N != 20 {
			t.Fatalf("lost updates: %d", c.N)
		}
		return nil
	})
}

// The shape of the export-policy rule: disabling refuses while pipelines
// exist, creating a pipeline refuses while disabled; concurrently, the
// invariant "disabled implies no pipelines" always holds.
func testFlagRace(t *testing.T, s meta.Store) {
	const scope = "/subscriptions/s/resourceGroups/rg/providers/X/registries/r"
	const flag = scope + "/flags/export"
	errRefused := errors.New("refused")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Update(ctx, func(tx meta.Tx) error {
				if _, err := tx.GetResource(flag); err == nil {
					return errRefused
				}
				return tx.PutResource(meta.Resource{ID: fmt.Sprintf("%s/pipelines/p%d", scope, i), Type: "X/pipelines", Document: []byte("{}")})
			})
		}()
		if i == 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Update(ctx, func(tx meta.Tx) error {
					ps, err := tx.ListResources(scope, "X/pipelines", meta.Page{})
					if err != nil {
						return err
					}
					for _, p := range ps {
						if err := tx.DeleteResource(p.ID); err != nil {
							return err
						}
					}
					return tx.PutResource(meta.Resource{ID: flag, Type: "X/flags", Document: []byte("{}")})
				})
			}()
		}
	}
	wg.Wait()
	view(t, s, func(tx meta.Tx) error {
		_, ferr := tx.GetResource(flag)
		ps, _ := tx.ListResources(scope, "X/pipelines", meta.Page{})
		if ferr == nil && len(ps) != 0 {
			t.Fatalf("flag set with %d pipelines", len(ps))
		}
		return nil
	})
}
