package authz_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const sub = "/subscriptions/s1"
	reg := sub + "/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/r1"
	other := sub + "/resourceGroups/rg2/providers/Microsoft.ContainerRegistry/registries/r2"
	err = store.Update(ctx, func(tx meta.Tx) error {
		for _, a := range []meta.Resource{
			authz.NewAssignment("a1", sub, authz.OwnerRoleID, "owner"),
			authz.NewAssignment("a2", reg, authz.AcrPullRoleID, "puller"),
			authz.NewAssignment("a3", sub+"/resourceGroups/rg", authz.AcrPushRoleID, "pusher"),
			authz.NewAssignment("a4", sub, authz.ReaderRoleID, "reader"),
			authz.NewAssignment("a5", sub, authz.ContributorRoleID, "contrib"),
		} {
			if err := tx.PutResource(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		who, scope, action string
		ok                 bool
	}{
		{"owner", reg, authz.ActionPush, true},
		{"owner", reg, "Microsoft.Authorization/roleAssignments/write", true},
		{"owner", "/subscriptions/s2/resourceGroups/x", authz.ActionPull, false},
		{"puller", reg, authz.ActionPull, true},
		{"puller", reg, authz.ActionPush, false},
		{"puller", other, authz.ActionPull, false},
		{"pusher", reg, authz.ActionPush, true}, // group scope matched case-insensitively
		{"pusher", reg, authz.ActionDelete, false},
		{"pusher", other, authz.ActionPush, false},
		{"reader", reg, authz.ActionPull, true}, // */read covers pull/read
		{"reader", reg, authz.ActionPush, false},
		{"contrib", reg, authz.ActionDelete, true},
		{"contrib", sub, "Microsoft.Authorization/roleAssignments/write", false},
		{"nobody", reg, authz.ActionPull, false},
		// A prefix that is not a path ancestor does not match.
		{"puller", reg + "x", authz.ActionPull, false},
	}
	for _, c := range cases {
		err := store.View(ctx, func(tx meta.Tx) error { return authz.Check(tx, c.who, c.scope, c.action) })
		if (err == nil) != c.ok || err != nil && !errors.Is(err, errdef.ErrDenied) {
			t.Errorf("%s %s at %s: err=%v, want ok=%v", c.who, c.action, c.scope, err, c.ok)
		}
	}
	if err := store.View(ctx, func(tx meta.Tx) error { return authz.Check(tx, "owner", "/not-a-scope", authz.ActionPull) }); !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Errorf("bad scope: %v", err)
	}
}
