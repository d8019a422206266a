package metatest

import (
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func testIdentities(t *testing.T, s meta.Store) {
	p := meta.Principal{
		ObjectID: "o1", ClientID: "c1", TenantID: "t1", DisplayName: "sp",
		Secrets:   []meta.SecretHash{{ID: "s1", Hash: "verifier$1", Hint: "abc", ExpiresAt: at(24)}},
		CreatedAt: at(0),
	}
	update(t, s, func(tx meta.Tx) error {
		for _, id := range []string{"t2", "t1"} {
			if err := tx.PutTenant(meta.Tenant{ID: id, DisplayName: "first", CreatedAt: at(0)}); err != nil {
				return err
			}
		}
		if err := tx.PutTenant(meta.Tenant{ID: "t1", DisplayName: "Tenant One", CreatedAt: at(0)}); err != nil {
			return err
		}
		if err := tx.PutSubscription(meta.Subscription{ID: "s1", TenantID: "t2", DisplayName: "first", CreatedAt: at(0)}); err != nil {
			return err
		}
		if err := tx.PutSubscription(meta.Subscription{ID: "s1", TenantID: "t1", DisplayName: "Sub One", CreatedAt: at(0)}); err != nil {
			return err
		}
		return tx.PutPrincipal(p)
	})
	wantClass(t, "PutPrincipal with another object's client id", s.Update(t.Context(), func(tx meta.Tx) error {
		q := p
		q.ObjectID = "o2"
		return tx.PutPrincipal(q)
	}), errdef.ErrAlreadyExists)
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.PrincipalByClientID("c1")
		if err != nil || got.ObjectID != "o1" || got.TenantID != "t1" || got.DisplayName != "sp" || !got.CreatedAt.Equal(at(0)) ||
			len(got.Secrets) != 1 || !sameSecret(got.Secrets[0], p.Secrets[0]) {
			t.Fatalf("PrincipalByClientID: %+v %v", got, err)
		}
		_, err = tx.PrincipalByClientID("nope")
		wantClass(t, "PrincipalByClientID of an unknown client", err, errdef.ErrNotFound)
		ts, err := tx.ListTenants()
		if err != nil || len(ts) != 2 || ts[0].ID != "t1" || ts[0].DisplayName != "Tenant One" || !ts[0].CreatedAt.Equal(at(0)) {
			t.Fatalf("ListTenants: %+v %v", ts, err)
		}
		ss, err := tx.ListSubscriptions()
		if err != nil || len(ss) != 1 || ss[0].TenantID != "t1" || ss[0].DisplayName != "Sub One" {
			t.Fatalf("ListSubscriptions: %+v %v", ss, err)
		}
		return nil
	})

	// Replacing a principal replaces its secrets.
	p.Secrets = append(p.Secrets, meta.SecretHash{ID: "s2", Hash: "verifier$2", Hint: "def", ExpiresAt: at(48)})
	p.DisplayName = "renamed"
	update(t, s, func(tx meta.Tx) error { return tx.PutPrincipal(p) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.PrincipalByClientID("c1")
		if err != nil || got.DisplayName != "renamed" || len(got.Secrets) != 2 || !sameSecret(got.Secrets[1], p.Secrets[1]) {
			t.Fatalf("replaced principal: %+v %v", got, err)
		}
		return nil
	})
}

func sameSecret(a, b meta.SecretHash) bool {
	return a.ID == b.ID && a.Hash == b.Hash && a.Hint == b.Hint && a.ExpiresAt.Equal(b.ExpiresAt)
}
