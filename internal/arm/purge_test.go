package arm_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

// Operation records past their retention are deleted, across pages and
// subscriptions; newer ones and other resources stay.
func TestPurgeOperations(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	old, fresh := now.Add(-48*time.Hour), now.Add(-time.Hour)
	err = store.Update(t.Context(), func(tx meta.Tx) error {
		for i := range 1200 {
			sub := []string{"s1", "s2"}[i%2]
			when := old
			if i%3 == 0 {
				when = fresh
			}
			if _, err := arm.RecordOperation(tx, sub, "Microsoft.ContainerRegistry", "westus", when, when, nil); err != nil {
				return err
			}
		}
		return tx.PutResource(meta.Resource{ID: "/subscriptions/s1/resourceGroups/rg", Type: "Microsoft.Resources/resourceGroups",
			Document: []byte(`{}`), CreatedAt: old, UpdatedAt: old})
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := arm.PurgeOperations(t.Context(), store, now.Add(-arm.OperationRetention))
	if err != nil || n != 800 {
		t.Fatalf("purged %d, %v; want 800", n, err)
	}
	store.View(t.Context(), func(tx meta.Tx) error {
		left, err := tx.ListResources("", arm.OperationType, meta.Page{Limit: 2000})
		if err != nil || len(left) != 400 {
			t.Fatalf("%d operations left, %v; want 400", len(left), err)
		}
		for _, op := range left {
			if op.UpdatedAt.Before(now.Add(-2 * time.Hour)) {
				t.Fatalf("an expired operation survived: %s", op.ID)
			}
		}
		if _, err := tx.GetResource("/subscriptions/s1/resourceGroups/rg"); err != nil {
			t.Fatalf("a resource group was purged: %v", err)
		}
		return nil
	})
}
