package metatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func testTimes(t *testing.T, s meta.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	in := time.Date(2031, 2, 3, 4, 5, 6, 789012345, zone)
	update(t, s, func(tx meta.Tx) error {
		r := registry("k", "timed", "s", "rg")
		r.CreatedAt, r.UpdatedAt = in, in.Add(time.Nanosecond)
		if err := tx.CreateRegistry(r); err != nil {
			return err
		}
		return tx.PutResource(meta.Resource{ID: "/subscriptions/s/zero", Type: "t", Document: []byte("{}")})
	})
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("timed")
		wantNoErr(t, "RegistryByName", err)
		if !r.CreatedAt.Equal(in) || !r.UpdatedAt.Equal(in.Add(time.Nanosecond)) {
			t.Fatalf("times lost precision: %s %s, want %s", r.CreatedAt, r.UpdatedAt, in)
		}
		if r.CreatedAt.Location() != time.UTC || r.UpdatedAt.Location() != time.UTC {
			t.Fatalf("times must come back in UTC: %s", r.CreatedAt)
		}
		z, err := tx.GetResource("/subscriptions/s/zero")
		if err != nil || !z.CreatedAt.IsZero() || !z.UpdatedAt.IsZero() {
			t.Fatalf("zero times must round-trip as zero: %s %s %v", z.CreatedAt, z.UpdatedAt, err)
		}
		return nil
	})
}

func testRollback(t *testing.T, s meta.Store) {
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, err := range []error{
			tx.CreateRegistry(registry("k", "rolled", "s", "rg")),
			tx.PutResource(resource("/subscriptions/s/x", "t")),
			tx.LinkBlob(link("k", "app", dg("layer"))),
			tx.PutManifest(manifest("k", "app", "{}")),
			tx.PutTag("k", "app", "latest", dg("{}")),
			tx.PutUpload(meta.Upload{ID: "u", RegistryKey: "k", Repository: "app", StartedAt: at(0), UpdatedAt: at(0)}),
			tx.PutTenant(meta.Tenant{ID: "t", CreatedAt: at(0)}),
			tx.PutPrincipal(meta.Principal{ObjectID: "o", ClientID: "c", TenantID: "t", CreatedAt: at(0)}),
		} {
			if err != nil {
				return err
			}
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update must return fn's error, got %v", err)
	}
	view(t, s, func(tx meta.Tx) error {
		_, e1 := tx.RegistryByName("rolled")
		_, e2 := tx.GetResource("/subscriptions/s/x")
		_, e3 := tx.BlobLink("k", "app", dg("layer"))
		_, e4 := tx.GetManifest("k", "app", dg("{}"))
		_, e5 := tx.Tag("k", "app", "latest")
		_, e6 := tx.GetUpload("u")
		_, e7 := tx.PrincipalByClientID("c")
		for i, err := range []error{e1, e2, e3, e4, e5, e6, e7} {
			if !isNotFound(err) {
				t.Fatalf("rolled-back write %d visible: %v", i+1, err)
			}
		}
		repos, err := tx.ListRepositories("k", meta.Page{})
		tenants, err2 := tx.ListTenants()
		if len(repos) != 0 || len(tenants) != 0 || err != nil || err2 != nil {
			t.Fatalf("rolled-back rows listed: %v %v (%v %v)", repos, tenants, err, err2)
		}
		return nil
	})
}

func testViewReadOnly(t *testing.T, s meta.Store) {
	writes := map[string]func(tx meta.Tx) error{
		"PutResource": func(tx meta.Tx) error { return tx.PutResource(resource("/subscriptions/s/ro", "t")) },
		"CreateRegistry": func(tx meta.Tx) error {
			return tx.CreateRegistry(registry("k", "readonly", "s", "rg"))
		},
		"LinkBlob": func(tx meta.Tx) error { return tx.LinkBlob(link("k", "app", dg("layer"))) },
	}
	for name, write := range writes {
		if err := s.View(t.Context(), write); err == nil {
			t.Fatalf("%s inside View succeeded", name)
		}
	}
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.GetResource("/subscriptions/s/ro")
		wantClass(t, "write attempted in View", err, errdef.ErrNotFound)
		ok, err := tx.RepositoryExists("k", "app")
		if ok || err != nil {
			t.Fatalf("write attempted in View created a repository: %v %v", ok, err)
		}
		return nil
	})
}

// A View that starts while an Update is open neither waits for it nor sees
// its uncommitted writes.
func testViewSnapshot(t *testing.T, s meta.Store) {
	const id = "/subscriptions/s/pending"
	written, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(tx meta.Tx) error {
			if err := tx.PutResource(resource(id, "t")); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	released := false
	defer func() {
		if !released {
			close(release)
			<-done
		}
	}()
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("update: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := s.View(ctx, func(tx meta.Tx) error {
		_, err := tx.GetResource(id)
		return err
	})
	if !isNotFound(err) {
		t.Fatalf("View during an open Update: got %v, want ErrNotFound without waiting", err)
	}
	close(release)
	released = true
	wantNoErr(t, "update", <-done)
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.GetResource(id)
		wantNoErr(t, "GetResource after commit", err)
		return nil
	})
}

func testCancelled(t *testing.T, s meta.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx meta.Tx) error { return tx.PutResource(resource("/subscriptions/s/c", "t")) })
	if err == nil {
		t.Fatal("Update with a cancelled context succeeded")
	}
	if err := s.View(ctx, func(tx meta.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("View with a cancelled context: %v, want context.Canceled", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a cancelled context: %v, want context.Canceled", err)
	}
	// Cancelled while under way (a client that went away mid-request):
	// whatever the transaction was doing, its error says so.
	for name, run := range map[string]func(context.Context, func(meta.Tx) error) error{"View": s.View, "Update": s.Update} {
		ctx, cancel := context.WithCancel(t.Context())
		err := run(ctx, func(tx meta.Tx) error {
			cancel()
			_, err := tx.ListTenants()
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: a read after the context ended: %v, want context.Canceled", name, err)
			}
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled under way: %v, want context.Canceled", name, err)
		}
		ctx, cancel = context.WithCancel(t.Context())
		err = run(ctx, func(tx meta.Tx) error {
			_, err := tx.ListTenants()
			cancel()
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled before commit: %v, want context.Canceled", name, err)
		}
	}
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.GetResource("/subscriptions/s/c")
		wantClass(t, "write under a cancelled context", err, errdef.ErrNotFound)
		return nil
	})
}

// Twenty concurrent read-modify-write Updates of one counter must not lose
// an increment.
func testSerializable(t *testing.T, s meta.Store) {
	const id = "/subscriptions/s/counter"
	type counter struct{ N int }
	update(t, s, func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: id, Type: "t", Document: []byte(`{"N":0}`)})
	})
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			errs <- s.Update(context.Background(), func(tx meta.Tx) error {
				r, err := tx.GetResource(id)
				if err != nil {
					return err
				}
				var c counter
				if err := json.Unmarshal(r.Document, &c); err != nil {
					return err
				}
				c.N++
				r.Document, _ = json.Marshal(c)
				return tx.PutResource(r)
			})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		wantNoErr(t, "concurrent update", err)
	}
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.GetResource(id)
		wantNoErr(t, "GetResource", err)
		var c counter
		wantNoErr(t, "counter", json.Unmarshal(r.Document, &c))
		if c.N != n {
			t.Fatalf("lost updates: counter is %d, want %d", c.N, n)
		}
		return nil
	})
}
