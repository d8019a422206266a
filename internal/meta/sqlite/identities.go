package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func (t *tx) PutTenant(x meta.Tenant) error {
	_, err := t.exec(`INSERT INTO tenants (id, display_name, created_at) VALUES (?,?,?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name`, x.ID, x.DisplayName, ts(x.CreatedAt))
	return err
}

func (t *tx) ListTenants() ([]meta.Tenant, error) {
	rows, err := t.tx.Query(`SELECT id, display_name, created_at FROM tenants ORDER BY id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []meta.Tenant
	for rows.Next() {
		var x meta.Tenant
		var c int64
		if err := rows.Scan(&x.ID, &x.DisplayName, &c); err != nil {
			return nil, classify(err)
		}
		x.CreatedAt = fromTS(c)
		out = append(out, x)
	}
	return out, classify(rows.Err())
}

func (t *tx) PutSubscription(x meta.Subscription) error {
	_, err := t.exec(`INSERT INTO subscriptions (id, tenant_id, display_name, created_at) VALUES (?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, tenant_id = excluded.tenant_id`,
		x.ID, x.TenantID, x.DisplayName, ts(x.CreatedAt))
	return err
}

func (t *tx) ListSubscriptions() ([]meta.Subscription, error) {
	rows, err := t.tx.Query(`SELECT id, tenant_id, display_name, created_at FROM subscriptions ORDER BY id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []meta.Subscription
	for rows.Next() {
		var x meta.Subscription
		var c int64
		if err := rows.Scan(&x.ID, &x.TenantID, &x.DisplayName, &c); err != nil {
			return nil, classify(err)
		}
		x.CreatedAt = fromTS(c)
		out = append(out, x)
	}
	return out, classify(rows.Err())
}

func (t *tx) PutPrincipal(p meta.Principal) error {
	secrets, err := json.Marshal(p.Secrets)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO principals (object_id, client_id, tenant_id, display_name, secrets, created_at) VALUES (?,?,?,?,?,?)
		ON CONFLICT (object_id) DO UPDATE SET client_id = excluded.client_id, tenant_id = excluded.tenant_id,
		display_name = excluded.display_name, secrets = excluded.secrets`,
		p.ObjectID, p.ClientID, p.TenantID, p.DisplayName, string(secrets), ts(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("principal %s: %w", p.ClientID, err)
	}
	return nil
}

func (t *tx) PrincipalByClientID(clientID string) (meta.Principal, error) {
	var p meta.Principal
	var secrets string
	var c int64
	err := t.tx.QueryRow(`SELECT object_id, client_id, tenant_id, display_name, secrets, created_at FROM principals WHERE client_id = ?`, clientID).
		Scan(&p.ObjectID, &p.ClientID, &p.TenantID, &p.DisplayName, &secrets, &c)
	if err != nil {
		return p, fmt.Errorf("principal %s: %w", clientID, classify(err))
	}
	p.CreatedAt = fromTS(c)
	if err := json.Unmarshal([]byte(secrets), &p.Secrets); err != nil {
		return p, fmt.Errorf("principal %s secrets: %w", clientID, err)
	}
	return p, nil
}
