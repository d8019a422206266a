package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// PutTenant implements meta.Identities: create, or replace DisplayName.
func (t *tx) PutTenant(x meta.Tenant) error {
	c, err := nanos(x.CreatedAt)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", x.ID, err)
	}
	_, err = t.exec(`INSERT INTO tenants (id, display_name, created_at) VALUES (?,?,?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name`, x.ID, x.DisplayName, c)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", x.ID, err)
	}
	return nil
}

// ListTenants implements meta.Identities, ordered by id.
func (t *tx) ListTenants() ([]meta.Tenant, error) {
	rows, err := t.tx.Query(`SELECT id, display_name, created_at FROM tenants ORDER BY id`)
	out, err := collect(rows, err, func(row scanner) (meta.Tenant, error) {
		var x meta.Tenant
		var c int64
		if err := row.Scan(&x.ID, &x.DisplayName, &c); err != nil {
			return x, classify(err)
		}
		x.CreatedAt = fromNanos(c)
		return x, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	return out, nil
}

// PutSubscription implements meta.Identities: create, or replace TenantID
// and DisplayName.
func (t *tx) PutSubscription(x meta.Subscription) error {
	c, err := nanos(x.CreatedAt)
	if err != nil {
		return fmt.Errorf("subscription %s: %w", x.ID, err)
	}
	_, err = t.exec(`INSERT INTO subscriptions (id, tenant_id, display_name, created_at) VALUES (?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, display_name = excluded.display_name`,
		x.ID, x.TenantID, x.DisplayName, c)
	if err != nil {
		return fmt.Errorf("subscription %s: %w", x.ID, err)
	}
	return nil
}

// ListSubscriptions implements meta.Identities, ordered by id.
func (t *tx) ListSubscriptions() ([]meta.Subscription, error) {
	rows, err := t.tx.Query(`SELECT id, tenant_id, display_name, created_at FROM subscriptions ORDER BY id`)
	out, err := collect(rows, err, func(row scanner) (meta.Subscription, error) {
		var x meta.Subscription
		var c int64
		if err := row.Scan(&x.ID, &x.TenantID, &x.DisplayName, &c); err != nil {
			return x, classify(err)
		}
		x.CreatedAt = fromNanos(c)
		return x, nil
	})
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	return out, nil
}

// PutPrincipal implements meta.Identities. Secrets are stored as one JSON
// array: they are always read and replaced with their principal. A ClientID
// held by another ObjectID is ErrAlreadyExists (UNIQUE column).
func (t *tx) PutPrincipal(p meta.Principal) error {
	c, err := nanos(p.CreatedAt)
	if err != nil {
		return fmt.Errorf("principal %s: %w", p.ClientID, err)
	}
	secrets, err := json.Marshal(p.Secrets)
	if err != nil {
		return fmt.Errorf("principal %s secrets: %w", p.ClientID, err)
	}
	_, err = t.exec(`INSERT INTO principals (object_id, client_id, tenant_id, display_name, secrets, created_at) VALUES (?,?,?,?,?,?)
		ON CONFLICT (object_id) DO UPDATE SET client_id = excluded.client_id, tenant_id = excluded.tenant_id,
		display_name = excluded.display_name, secrets = excluded.secrets`,
		p.ObjectID, p.ClientID, p.TenantID, p.DisplayName, string(secrets), c)
	if err != nil {
		return fmt.Errorf("principal %s: %w", p.ClientID, err)
	}
	return nil
}

// PrincipalByClientID implements meta.Identities.
func (t *tx) PrincipalByClientID(clientID string) (meta.Principal, error) {
	var p meta.Principal
	var secrets string
	var c int64
	err := t.tx.QueryRow(`SELECT object_id, client_id, tenant_id, display_name, secrets, created_at FROM principals WHERE client_id = ?`,
		clientID).Scan(&p.ObjectID, &p.ClientID, &p.TenantID, &p.DisplayName, &secrets, &c)
	if err != nil {
		return meta.Principal{}, fmt.Errorf("principal %s: %w", clientID, classify(err))
	}
	p.CreatedAt = fromNanos(c)
	if err := json.Unmarshal([]byte(secrets), &p.Secrets); err != nil {
		return meta.Principal{}, fmt.Errorf("principal %s secrets: %w", clientID, err)
	}
	return p, nil
}
