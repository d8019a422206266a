package sqlite

import (
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const resourceCols = `id, type, document, created_at, updated_at`

func scanResource(row scanner) (meta.Resource, error) {
	var r meta.Resource
	var c, u int64
	if err := row.Scan(&r.ID, &r.Type, &r.Document, &c, &u); err != nil {
		return meta.Resource{}, classify(err)
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(c), fromNanos(u)
	return r, nil
}

// PutResource implements meta.Resources. A replace keeps the id casing and
// CreatedAt of the first write, as ARM does, and takes Type, Document and
// UpdatedAt from r.
func (t *tx) PutResource(r meta.Resource) error {
	c, err := nanos(r.CreatedAt)
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.ID, err)
	}
	u, err := nanos(r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.ID, err)
	}
	_, err = t.exec(`INSERT INTO resources (id_lower, `+resourceCols+`) VALUES (?,?,?,?,?,?)
		ON CONFLICT (id_lower) DO UPDATE SET type = excluded.type, document = excluded.document, updated_at = excluded.updated_at`,
		strings.ToLower(r.ID), r.ID, r.Type, nonNil(r.Document), c, u)
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.ID, err)
	}
	return nil
}

// GetResource implements meta.Resources.
func (t *tx) GetResource(id string) (meta.Resource, error) {
	r, err := scanResource(t.tx.QueryRow(`SELECT `+resourceCols+` FROM resources WHERE id_lower = ?`, strings.ToLower(id)))
	if err != nil {
		return r, fmt.Errorf("resource %s: %w", id, err)
	}
	return r, nil
}

// DeleteResource implements meta.Resources.
func (t *tx) DeleteResource(id string) error {
	return t.execAffect("resource "+id, `DELETE FROM resources WHERE id_lower = ?`, strings.ToLower(id))
}

// ListResources implements meta.Resources with a range scan of the
// id_lower primary key rather than LIKE, so '%' and '_' in ids are
// literal: every id under "scope/" sorts strictly between "scope/" and
// "scope0" ('0' is the byte after '/'). The type column is NOCASE.
func (t *tx) ListResources(scope, typ string, p meta.Page) ([]meta.Resource, error) {
	prefix := strings.ToLower(strings.TrimSuffix(scope, "/"))
	lo, hi := prefix+"/", prefix+"0"
	if after := strings.ToLower(p.After); after > lo {
		lo = after
	}
	q := `SELECT ` + resourceCols + ` FROM resources WHERE id_lower > ? AND id_lower < ? ORDER BY id_lower LIMIT ?`
	args := []any{lo, hi, limit(p.Limit)}
	if typ != "" {
		q = `SELECT ` + resourceCols + ` FROM resources INDEXED BY resources_type
			WHERE type = ? AND id_lower > ? AND id_lower < ? ORDER BY id_lower LIMIT ?`
		args = []any{typ, lo, hi, limit(p.Limit)}
	}
	rows, err := t.tx.Query(q, args...)
	out, err := collect(rows, err, scanResource)
	if err != nil {
		return nil, fmt.Errorf("resources under %s: %w", scope, err)
	}
	return out, nil
}
