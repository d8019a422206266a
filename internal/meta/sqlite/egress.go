package sqlite

import (
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// AddEgress implements meta.Egress with one upsert per count.
func (t *tx) AddEgress(counts []meta.EgressCount) error {
	for _, c := range counts {
		_, err := t.exec(`INSERT INTO egress_totals (registry_key, day, channel, identity, bytes, artifacts, attempts)
			VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (registry_key, day, channel, identity) DO UPDATE SET
				bytes = bytes + excluded.bytes, artifacts = artifacts + excluded.artifacts, attempts = attempts + excluded.attempts`,
			c.RegistryKey, c.Day, c.Channel, c.Identity, c.Bytes, c.Artifacts, c.Attempts)
		if err != nil {
			return fmt.Errorf("egress total %s %s: %w", c.RegistryKey, c.Day, err)
		}
	}
	return nil
}

// EgressTotals implements meta.Egress.
func (t *tx) EgressTotals(registryKey, sinceDay string) ([]meta.EgressCount, error) {
	rows, err := t.tx.Query(`SELECT registry_key, day, channel, identity, bytes, artifacts, attempts FROM egress_totals
		WHERE registry_key = ? AND day >= ? ORDER BY day, channel, identity`, registryKey, sinceDay)
	if err != nil {
		return nil, fmt.Errorf("egress totals: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.EgressCount
	for rows.Next() {
		var c meta.EgressCount
		if err := rows.Scan(&c.RegistryKey, &c.Day, &c.Channel, &c.Identity, &c.Bytes, &c.Artifacts, &c.Attempts); err != nil {
			return nil, fmt.Errorf("egress totals: %w", classify(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("egress totals: %w", classify(err))
	}
	return out, nil
}

// PurgeEgress implements meta.Egress.
func (t *tx) PurgeEgress(beforeDay string) error {
	if _, err := t.exec(`DELETE FROM egress_totals WHERE day < ?`, beforeDay); err != nil {
		return fmt.Errorf("purge egress totals: %w", err)
	}
	return nil
}
