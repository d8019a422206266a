package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// A database written before migration4 keeps its registries; their facts
// read back as Version 0 (unknown) until internal/acr derives them.
func TestMigration4KeepsRegistries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(t.Context(), db, migrations()[:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO registries (key, name, resource_id, subscription_id, resource_group, document, created_at, updated_at)
		VALUES ('k', 'old', '/id', 's', 'rg', '{"sku":{"name":"Premium"}}', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, path)
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		r, err := tx.RegistryByName("old")
		if err != nil {
			return err
		}
		if r.Key != "k" || string(r.Document) != `{"sku":{"name":"Premium"}}` || r.Facts.Version != 0 || r.Facts.SKU != "" ||
			r.Facts.IPRules != nil || r.Facts.PrivateSubnets != nil {
			t.Fatalf("old row after migration4: %+v", r)
		}
		cs, err := tx.ListConnections("k")
		if err != nil || len(cs) != 0 {
			t.Fatalf("connections of an old row: %v %v", cs, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A stored prefix list that does not parse fails the read: these columns
// feed network checks, so nothing is skipped silently.
func TestCorruptPrefixesFailTheRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s := open(t, path)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.CreateRegistry(meta.Registry{Key: "k", Name: "reg"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE registries SET private_subnets = '10.0.0.0/24,nonsense'`); err != nil {
		t.Fatal(err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.RegistryByName("reg")
		return err
	}); err == nil {
		t.Fatal("a corrupt private_subnets column was read without an error")
	}
	for _, c := range []string{"", "10.0.0.0/24", "10.0.0.0/24,2001:db8::/32"} {
		ps, err := decodePrefixes(c)
		if err != nil || encodePrefixes(ps) != c {
			t.Errorf("%q round-trips as %q (%v)", c, encodePrefixes(ps), err)
		}
	}
}
