package sqlite

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const registryCols = `key, name, resource_id, subscription_id, resource_group, document, created_at, updated_at, ` + factCols

// factCols are the columns of meta.RegistryFacts (migration4), in the
// order of factArgs.
const factCols = `facts_version, sku, public_access_disabled, exports_disabled, admin_user_enabled, default_deny, ip_rules, private_subnets`

// registryKeyed lists the tables DeleteRegistry empties.
func registryKeyed() []string {
	return []string{"repositories", "blob_links", "manifests", "tags", "uploads", "private_endpoint_connections", "egress_totals"}
}

func scanRegistry(row scanner) (meta.Registry, error) {
	var r meta.Registry
	var c, u int64
	var ipRules, subnets string
	f := &r.Facts
	if err := row.Scan(&r.Key, &r.Name, &r.ResourceID, &r.SubscriptionID, &r.ResourceGroup, &r.Document, &c, &u,
		&f.Version, &f.SKU, &f.PublicAccessDisabled, &f.ExportsDisabled, &f.AdminUserEnabled, &f.DefaultDeny, &ipRules, &subnets); err != nil {
		return meta.Registry{}, classify(err)
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(c), fromNanos(u)
	var err error
	if f.IPRules, err = decodePrefixes(ipRules); err != nil {
		return meta.Registry{}, fmt.Errorf("registry %s: ip_rules: %w", r.Name, err)
	}
	if f.PrivateSubnets, err = decodePrefixes(subnets); err != nil {
		return meta.Registry{}, fmt.Errorf("registry %s: private_subnets: %w", r.Name, err)
	}
	return r, nil
}

// factArgs binds f to factCols.
func factArgs(f meta.RegistryFacts) []any {
	return []any{f.Version, f.SKU, f.PublicAccessDisabled, f.ExportsDisabled, f.AdminUserEnabled, f.DefaultDeny,
		encodePrefixes(f.IPRules), encodePrefixes(f.PrivateSubnets)}
}

// encodePrefixes stores a prefix list as comma-separated CIDRs: typed
// enough to read by eye and to parse back exactly.
func encodePrefixes(ps []netip.Prefix) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// decodePrefixes reads encodePrefixes' output. A value that does not
// parse is an error, never skipped: these columns feed network checks.
func decodePrefixes(s string) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
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
	args := append([]any{r.Key, strings.ToLower(r.Name), r.ResourceID, r.SubscriptionID, strings.ToLower(r.ResourceGroup),
		nonNil(r.Document), c, u}, factArgs(r.Facts)...)
	_, err = t.exec(`INSERT INTO registries (`+registryCols+`) VALUES (?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?)`, args...)
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	return nil
}

// UpdateRegistry implements meta.Registries: Document, the facts and
// UpdatedAt change in one statement.
func (t *tx) UpdateRegistry(r meta.Registry) error {
	u, err := nanos(r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Name, err)
	}
	args := append([]any{nonNil(r.Document), u}, factArgs(r.Facts)...)
	return t.execAffect("registry "+r.Name, `UPDATE registries SET document = ?, updated_at = ?,
		facts_version = ?, sku = ?, public_access_disabled = ?, exports_disabled = ?, admin_user_enabled = ?, default_deny = ?,
		ip_rules = ?, private_subnets = ? WHERE key = ?`, append(args, r.Key)...)
}

// SetPrivateSubnets implements meta.Registries.
func (t *tx) SetPrivateSubnets(key string, subnets []netip.Prefix) error {
	return t.execAffect("registry "+key, `UPDATE registries SET private_subnets = ? WHERE key = ?`, encodePrefixes(subnets), key)
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
// (a data-plane or connection row does not require its registry row), so
// the cascade is explicit, inside the same transaction.
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
