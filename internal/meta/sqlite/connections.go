package sqlite

import (
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const connectionCols = `registry_key, name, private_endpoint_id, status, description, actions_required, provisioning_state, created_at, updated_at`

func scanConnection(row scanner) (meta.PrivateEndpointConnection, error) {
	var c meta.PrivateEndpointConnection
	var cr, u int64
	if err := row.Scan(&c.RegistryKey, &c.Name, &c.PrivateEndpointID, &c.Status, &c.Description, &c.ActionsRequired,
		&c.ProvisioningState, &cr, &u); err != nil {
		return meta.PrivateEndpointConnection{}, classify(err)
	}
	c.CreatedAt, c.UpdatedAt = fromNanos(cr), fromNanos(u)
	return c, nil
}

// PutConnection implements meta.Connections. The name column is NOCASE,
// so a replace in another casing hits the same row and keeps its name.
func (t *tx) PutConnection(c meta.PrivateEndpointConnection) error {
	cr, err := nanos(c.CreatedAt)
	if err != nil {
		return fmt.Errorf("connection %s: %w", c.Name, err)
	}
	u, err := nanos(c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("connection %s: %w", c.Name, err)
	}
	_, err = t.exec(`INSERT INTO private_endpoint_connections (`+connectionCols+`) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT (registry_key, name) DO UPDATE SET private_endpoint_id = excluded.private_endpoint_id,
			status = excluded.status, description = excluded.description, actions_required = excluded.actions_required,
			provisioning_state = excluded.provisioning_state, updated_at = excluded.updated_at`,
		c.RegistryKey, c.Name, c.PrivateEndpointID, string(c.Status), c.Description, c.ActionsRequired, c.ProvisioningState, cr, u)
	if err != nil {
		return fmt.Errorf("connection %s: %w", c.Name, err)
	}
	return nil
}

// Connection implements meta.Connections.
func (t *tx) Connection(registryKey, name string) (meta.PrivateEndpointConnection, error) {
	c, err := scanConnection(t.tx.QueryRow(`SELECT `+connectionCols+` FROM private_endpoint_connections
		WHERE registry_key = ? AND name = ?`, registryKey, name))
	if err != nil {
		return c, fmt.Errorf("connection %s: %w", name, err)
	}
	return c, nil
}

// DeleteConnection implements meta.Connections.
func (t *tx) DeleteConnection(registryKey, name string) error {
	return t.execAffect("connection "+name, `DELETE FROM private_endpoint_connections WHERE registry_key = ? AND name = ?`,
		registryKey, name)
}

// ListConnections implements meta.Connections.
func (t *tx) ListConnections(registryKey string) ([]meta.PrivateEndpointConnection, error) {
	rows, err := t.tx.Query(`SELECT `+connectionCols+` FROM private_endpoint_connections
		WHERE registry_key = ? ORDER BY name`, registryKey)
	out, err := collect(rows, err, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("connections of %s: %w", registryKey, err)
	}
	if out == nil {
		out = []meta.PrivateEndpointConnection{}
	}
	return out, nil
}
