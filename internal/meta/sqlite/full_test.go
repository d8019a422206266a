package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// TestFullDatabase: when the database cannot grow, writes fail with
// errdef.ErrInsufficientStorage, which the planes answer as a retryable
// 503 instead of a 500 or the caller's fault, and reads keep working. A
// page cap stands in for a full disk: SQLite answers both with SQLITE_FULL
// (a write that hits ENOSPC is SQLITE_FULL in its unix VFS).
func TestFullDatabase(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	ctx := t.Context()
	// The writer pool is one connection kept for the store's life, so a
	// per-connection pragma set through it holds for every Update.
	var pages int64
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+4)); err != nil {
		t.Fatal(err)
	}
	doc := bytes.Repeat([]byte("x"), 3000)
	var err error
	n := 0
	for ; n < 1000 && err == nil; n++ {
		id := fmt.Sprintf("/subscriptions/s/resourceGroups/rg%d", n)
		err = s.Update(ctx, func(tx meta.Tx) error {
			return tx.PutResource(meta.Resource{ID: id, Type: "Microsoft.Resources/resourceGroups", Document: doc,
				CreatedAt: time.Now(), UpdatedAt: time.Now()})
		})
	}
	if !errors.Is(err, errdef.ErrInsufficientStorage) {
		t.Fatalf("write %d into a full database: %v, want errdef.ErrInsufficientStorage", n, err)
	}
	if err := s.View(ctx, func(tx meta.Tx) error {
		_, err := tx.GetResource("/subscriptions/s/resourceGroups/rg0")
		return err
	}); err != nil {
		t.Errorf("read from a full database: %v", err)
	}
	// Once there is room again, the single writer connection works on.
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: "/subscriptions/s/resourceGroups/later", Type: "Microsoft.Resources/resourceGroups",
			Document: doc, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	}); err != nil {
		t.Errorf("write after space was freed: %v", err)
	}
}
