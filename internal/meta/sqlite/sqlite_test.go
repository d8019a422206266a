package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/metatest"
)

// open opens a store at path and closes it at the end of the test.
func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		return open(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.CreateRegistry(meta.Registry{Key: "k", Name: "reg", Document: []byte("{}"), CreatedAt: created}); err != nil {
			return err
		}
		if err := tx.PutResource(meta.Resource{ID: "/subscriptions/s", Type: "t", Document: []byte(`{"a":1}`)}); err != nil {
			return err
		}
		return tx.PutManifest(meta.Manifest{RegistryKey: "k", Repository: "app", Digest: "sha256:x", Content: []byte("{}")})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		r, err := tx.RegistryByName("REG")
		if err != nil || !r.CreatedAt.Equal(created) {
			return fmt.Errorf("registry after reopen: %+v %w", r, err)
		}
		res, err := tx.GetResource("/subscriptions/s")
		if err != nil || string(res.Document) != `{"a":1}` {
			return fmt.Errorf("resource after reopen: %+v %w", res, err)
		}
		m, err := tx.GetManifest("k", "app", "sha256:x")
		if err != nil || string(m.Content) != "{}" {
			return fmt.Errorf("manifest after reopen: %+v %w", m, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// versions reads schema_migrations straight from the file.
func versions(t *testing.T, path string) []int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func allVersions() []int {
	var want []int
	for v := range len(migrations()) {
		want = append(want, v+1)
	}
	return want
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	for range 3 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if got := versions(t, path); !slices.Equal(got, allVersions()) {
		t.Fatalf("schema_migrations after three opens: %v, want %v", got, allVersions())
	}
}

func TestMigrationsUpgradeStepwise(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(t.Context(), db, migrations()[:1]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got := versions(t, path); !slices.Equal(got, []int{1}) {
		t.Fatalf("after migration 1: %v", got)
	}
	open(t, path)
	if got := versions(t, path); !slices.Equal(got, allVersions()) {
		t.Fatalf("Open must apply the rest: %v, want %v", got, allVersions())
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	bad := append(migrations(), `CREATE TABLE extra (x INTEGER); THIS IS NOT SQL`)
	if err := migrate(t.Context(), db, bad); err == nil {
		t.Fatal("a broken migration succeeded")
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('registries', 'extra')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a failed migration run left %d tables behind", n)
	}
}

func TestFutureSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	future := len(migrations()) + 1
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, future); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(t.Context(), path)
	if !errors.Is(err, errdef.ErrFailedPrecondition) || !strings.Contains(err.Error(), fmt.Sprintf("version %d is newer", future)) {
		t.Fatalf("want a refusal naming the newer schema version, got %v", err)
	}
	if got := versions(t, path); len(got) != future {
		t.Fatalf("the refused database was changed: %v", got)
	}
}

func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	pragma := func(db *sql.DB, name string) string {
		var v string
		if err := db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, db := range []*sql.DB{s.w, s.r} {
		for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": busyTimeoutMS} {
			if got := pragma(db, name); got != want {
				t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
			}
		}
	}
	if pragma(s.w, "query_only") != "0" || pragma(s.r, "query_only") != "1" {
		t.Error("only the reader pool must be query_only")
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	open(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600: the file holds secret verifiers", fi.Mode().Perm())
	}
}

func TestPathNeedsEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd?dir#with%25")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "meta.db")
	s := open(t, path)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: "/x", Type: "t"})
	}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "meta.db") {
			t.Fatalf("stray file %q: the DSN did not name the given path", e.Name())
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	if err := s.View(t.Context(), func(tx meta.Tx) error { _, err := tx.GetResource("/x"); return err }); err != nil {
		t.Fatalf("reopening the escaped path: %v", err)
	}
}

// Two stores on one file stand in for two processes: BEGIN IMMEDIATE plus
// busy_timeout must make their Updates wait for each other, not fail with
// SQLITE_BUSY, and not lose increments.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	a, b := open(t, path), open(t, path)
	const id = "/subscriptions/s/counter"
	if err := a.Update(t.Context(), func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: id, Type: "t", Document: []byte("0")})
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			errs <- s.Update(context.Background(), func(tx meta.Tx) error {
				r, err := tx.GetResource(id)
				if err != nil {
					return err
				}
				var n int
				fmt.Sscan(string(r.Document), &n)
				r.Document = fmt.Append(nil, n+1)
				return tx.PutResource(r)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := b.View(t.Context(), func(tx meta.Tx) error {
		r, err := tx.GetResource(id)
		if err != nil || string(r.Document) != "40" {
			return fmt.Errorf("counter %s, want 40 (%v)", r.Document, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The writer pool has one connection: a panic inside Update must not keep
// it in an open transaction.
func TestPanicReleasesWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	func() {
		defer func() { recover() }()
		s.Update(t.Context(), func(tx meta.Tx) error {
			if err := tx.PutResource(meta.Resource{ID: "/panicked", Type: "t"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Update(ctx, func(tx meta.Tx) error {
		if _, err := tx.GetResource("/panicked"); !errors.Is(err, errdef.ErrNotFound) {
			return fmt.Errorf("write before the panic survived: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTimeOutOfRange(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: "/far", Type: "t", CreatedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	if !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("a time past 2262: got %v, want ErrInvalidArgument", err)
	}
}
