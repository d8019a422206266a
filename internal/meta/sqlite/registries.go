package sqlite

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const registryCols = `key, name, resource_id, subscription_id, resource_group, document, created_at, updated_at`

func scanRegistry(row interface{ Scan(...any) error }) (meta.Registry, error) {
	var r meta.Registry
	var c, u int64
	err := row.Scan(&r.Key, &r.Name, &r.ResourceID, &r.SubscriptionID, &r.ResourceGroup, &r.Document, &c, &u)
	r.CreatedAt, r.UpdatedAt = fromTS(c), fromTS(u)
	return r, classify(err)
}

func (t *tx) CreateRegistry(r meta.Registry) error {
	_, err := t.exec(`INSERT INTO registries (`+registryCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		r.Key, strings.ToLower(r.Name), r.ResourceID, r.SubscriptionID, strings.ToLower(r.ResourceGroup), r.Document, ts(r.CreatedAt), ts(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	return nil
}

func (t *tx) UpdateRegistry(r meta.Registry) error {
	return t.execAffect("registry "+r.Name, `UPDATE registries SET document = ?, updated_at = ? WHERE key = ?`, r.Document, ts(r.UpdatedAt), r.Key)
}

func (t *tx) RegistryByName(name string) (meta.Registry, error) {
	r, err := scanRegistry(t.tx.QueryRow(`SELECT `+registryCols+` FROM registries WHERE name = ?`, strings.ToLower(name)))
	if err != nil {
		return r, fmt.Errorf("registry %s: %w", name, err)
	}
	return r, nil
}

func (t *tx) DeleteRegistry(key string) error {
	if err := t.execAffect("registry", `DELETE FROM registries WHERE key = ?`, key); err != nil {
		return err
	}
	for _, table := range []string{"repositories", "blob_links", "manifests", "tags", "uploads"} {
		if _, err := t.exec(`DELETE FROM `+table+` WHERE registry_key = ?`, key); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ListRegistries(subscriptionID, resourceGroup string, p meta.Page) ([]meta.Registry, error) {
	rows, err := t.tx.Query(`SELECT `+registryCols+` FROM registries
		WHERE (? = '' OR subscription_id = ? COLLATE NOCASE) AND (? = '' OR resource_group = ?) AND name > ?
		ORDER BY name LIMIT ?`,
		subscriptionID, subscriptionID, strings.ToLower(resourceGroup), strings.ToLower(resourceGroup), p.After, limit(p))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []meta.Registry
	for rows.Next() {
		r, err := scanRegistry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

func (t *tx) PutResource(r meta.Resource) error {
	_, err := t.exec(`INSERT INTO resources (id_lower, id, type, document, created_at, updated_at) VALUES (?,?,?,?,?,?)
		ON CONFLICT (id_lower) DO UPDATE SET document = excluded.document, type = excluded.type, updated_at = excluded.updated_at`,
		strings.ToLower(r.ID), r.ID, r.Type, r.Document, ts(r.CreatedAt), ts(r.UpdatedAt))
	return err
}

func scanResource(row interface{ Scan(...any) error }) (meta.Resource, error) {
	var r meta.Resource
	var c, u int64
	err := row.Scan(&r.ID, &r.Type, &r.Document, &c, &u)
	r.CreatedAt, r.UpdatedAt = fromTS(c), fromTS(u)
	return r, classify(err)
}

func (t *tx) GetResource(id string) (meta.Resource, error) {
	r, err := scanResource(t.tx.QueryRow(`SELECT id, type, document, created_at, updated_at FROM resources WHERE id_lower = ?`, strings.ToLower(id)))
	if err != nil {
		return r, fmt.Errorf("resource %s: %w", id, err)
	}
	return r, nil
}

func (t *tx) DeleteResource(id string) error {
	return t.execAffect("resource "+id, `DELETE FROM resources WHERE id_lower = ?`, strings.ToLower(id))
}

func (t *tx) ListResources(scope, typ string, p meta.Page) ([]meta.Resource, error) {
	// A range scan rather than LIKE, so '%' and '_' in ids are literal:
	// every id under scope/ sorts between "scope/" and "scope0" ('0' is
	// the byte after '/').
	lo := strings.ToLower(strings.TrimSuffix(scope, "/")) + "/"
	hi := strings.TrimSuffix(lo, "/") + "0"
	after := strings.ToLower(p.After)
	if after < lo {
		after = lo
	}
	rows, err := t.tx.Query(`SELECT id, type, document, created_at, updated_at FROM resources
		WHERE id_lower > ? AND id_lower < ? AND (? = '' OR type = ?) ORDER BY id_lower LIMIT ?`,
		after, hi, typ, typ, limit(p))
	if err != nil {
		return nil, classify(err)
	}
	return collectResources(rows)
}

func collectResources(rows *sql.Rows) ([]meta.Resource, error) {
	defer rows.Close()
	var out []meta.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}
