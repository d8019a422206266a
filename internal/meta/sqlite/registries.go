package sqlite

import (
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const registryCols = `key, name, resource_id, subscription_id, resource_group, document, created_at, updated_at`

// registryKeyed lists the data-plane tables DeleteRegistry empties.
func registryKeyed() []string {
	return []string{"repositories", "blob_links", "manifests", "tags", "uploads"}
}

func scanRegistry(row scanner) (meta.Registry, error) {
	var r meta.Registry
	var c, u int64
	if err := row.Scan(&r.Key, &r.Name, &r.ResourceID, &r.SubscriptionID, &r.ResourceGroup, &r.Document, &c, &u); err != nil {
		return meta.Registry{}, classify(err)
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(c), fromNanos(u)
	return r, nil
}

// CreateRegistry implements meta.Registries. Name and ResourceGroup are
// stored lower-case; the UNIQUE name column makes a taken name (in any
// casing) or a reused Key ErrAlreadyExists.
func (t *tx) CreateRegistry(r meta.Registry) error {
	c, err := nanos(r.CreatedAt)
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	u, err := nanos(r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	_, err = t.exec(`INSERT INTO registries (`+registryCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		r.Key, strings.ToLower(r.Name), r.ResourceID, r.SubscriptionID, strings.ToLower(r.ResourceGroup),
		nonNil(r.Document), c, u)
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	return nil
}

// UpdateRegistry implements meta.Registries: only Document and UpdatedAt
// change.
func (t *tx) UpdateRegistry(r meta.Registry) error {
	u, err := nanos(r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	return t.execAffect("registry "+r.Name, `UPDATE registries SET document = ?, updated_at = ? WHERE key = ?`,
		nonNil(r.Document), u, r.Key)
}

// RegistryByName implements meta.Registries.
func (t *tx) RegistryByName(name string) (meta.Registry, error) {
	r, err := scanRegistry(t.tx.QueryRow(`SELECT `+registryCols+` FROM registries WHERE name = ?`, strings.ToLower(name)))
	if err != nil {
		return r, fmt.Errorf("registry %s: %w", name, err)
	}
	return r, nil
}

// DeleteRegistry implements meta.Registries. The schema has no foreign keys
// (a data-plane row does not require its registry row), so the cascade is
// explicit, inside the same transaction.
func (t *tx) DeleteRegistry(key string) error {
	if err := t.execAffect("registry "+key, `DELETE FROM registries WHERE key = ?`, key); err != nil {
		return err
	}
	for _, table := range registryKeyed() {
		if _, err := t.exec(`DELETE FROM `+table+` WHERE registry_key = ?`, key); err != nil {
			return fmt.Errorf("registry %s: %s: %w", key, table, err)
		}
	}
	return nil
}

// ListRegistries implements meta.Registries. Subscription ids compare
// case-insensitively (NOCASE); resource groups are stored lower-case.
func (t *tx) ListRegistries(subscriptionID, resourceGroup string, p meta.Page) ([]meta.Registry, error) {
	rg := strings.ToLower(resourceGroup)
	rows, err := t.tx.Query(`SELECT `+registryCols+` FROM registries
		WHERE (? = '' OR subscription_id = ? COLLATE NOCASE) AND (? = '' OR resource_group = ?) AND name > ?
		ORDER BY name LIMIT ?`,
		subscriptionID, subscriptionID, rg, rg, strings.ToLower(p.After), limit(p.Limit))
	out, err := collect(rows, err, scanRegistry)
	if err != nil {
		return nil, fmt.Errorf("registries: %w", err)
	}
	return out, nil
}
