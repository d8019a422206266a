package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// migrations lists the schema changes in order; migration i (from 0) is
// schema version i+1. Each is applied once, recorded in schema_migrations.
// Never edit a migration that has shipped: append a new one.
func migrations() []string {
	return []string{migration1, migration2, migration3, migration4, migration5}
}

// migration1 is the foundation schema. Times are INTEGER UTC Unix
// nanoseconds (see nanos). Data-plane tables are keyed by registry_key
// first, so DeleteRegistry's cascade and every per-registry query are
// primary-key prefix scans, and rows of two registries never share a key.
const migration1 = `CREATE TABLE registries (
		key TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		resource_id TEXT NOT NULL,
		subscription_id TEXT NOT NULL,
		resource_group TEXT NOT NULL,
		document BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX registries_scope ON registries (subscription_id COLLATE NOCASE, resource_group, name);
	CREATE TABLE resources (
		id_lower TEXT PRIMARY KEY,
		id TEXT NOT NULL,
		type TEXT NOT NULL COLLATE NOCASE,
		document BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE TABLE repositories (
		registry_key TEXT NOT NULL,
		name TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (registry_key, name)
	) WITHOUT ROWID;
	CREATE TABLE blob_links (
		registry_key TEXT NOT NULL,
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		size INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (registry_key, repository, digest)
	) WITHOUT ROWID;
	CREATE INDEX blob_links_digest ON blob_links (digest);
	CREATE TABLE manifests (
		registry_key TEXT NOT NULL,
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		media_type TEXT NOT NULL,
		size INTEGER NOT NULL,
		artifact_type TEXT NOT NULL,
		subject TEXT NOT NULL,
		annotations TEXT NOT NULL,
		content BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (registry_key, repository, digest)
	);
	CREATE INDEX manifests_subject ON manifests (registry_key, repository, subject) WHERE subject <> '';
	CREATE INDEX manifests_digest ON manifests (digest);
	CREATE TABLE tags (
		registry_key TEXT NOT NULL,
		repository TEXT NOT NULL,
		tag TEXT NOT NULL,
		digest TEXT NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (registry_key, repository, tag)
	) WITHOUT ROWID;
	CREATE INDEX tags_digest ON tags (registry_key, repository, digest);
	CREATE TABLE uploads (
		id TEXT PRIMARY KEY,
		registry_key TEXT NOT NULL,
		repository TEXT NOT NULL,
		started_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX uploads_updated ON uploads (updated_at);
	CREATE TABLE tenants (
		id TEXT PRIMARY KEY,
		display_name TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE subscriptions (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		display_name TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE principals (
		object_id TEXT PRIMARY KEY,
		client_id TEXT NOT NULL UNIQUE,
		tenant_id TEXT NOT NULL,
		display_name TEXT NOT NULL,
		secrets TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);`

// migration2 indexes uploads by registry, for the DeleteRegistry and
// DeleteRepository cascades.
const migration2 = `CREATE INDEX uploads_registry ON uploads (registry_key, repository);`

// migration3 serves typed scans of resources (role assignments, pipelines):
// they must not walk every resource under a scope, whose count grows with
// registries and operation records.
const migration3 = `CREATE INDEX resources_type ON resources (type COLLATE NOCASE, id_lower);`

// migration4 gives registries the typed facts internal/acr derives from
// their documents (meta.RegistryFacts), so no other package decodes a
// document, and moves private endpoint connections out of the document
// into child rows. Rows from before it get facts_version 0, which readers
// treat as unknown (fail closed) until acr re-derives them at start.
// Prefix lists are comma-separated canonical CIDRs (empty for none). The
// connection name is NOCASE, as ARM names are case-insensitive.
const migration4 = `ALTER TABLE registries ADD COLUMN facts_version INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE registries ADD COLUMN sku TEXT NOT NULL DEFAULT '';
	ALTER TABLE registries ADD COLUMN public_access_disabled INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE registries ADD COLUMN exports_disabled INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE registries ADD COLUMN admin_user_enabled INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE registries ADD COLUMN default_deny INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE registries ADD COLUMN ip_rules TEXT NOT NULL DEFAULT '';
	ALTER TABLE registries ADD COLUMN private_subnets TEXT NOT NULL DEFAULT '';
	CREATE TABLE private_endpoint_connections (
		registry_key TEXT NOT NULL,
		name TEXT NOT NULL COLLATE NOCASE,
		private_endpoint_id TEXT NOT NULL,
		status TEXT NOT NULL,
		description TEXT NOT NULL,
		actions_required TEXT NOT NULL,
		provisioning_state TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (registry_key, name)
	) WITHOUT ROWID;`

// migration5 keeps the per-day egress totals of internal/audit. A
// registry's totals go with it (DeleteRegistry), keyed by its never-reused
// key, so a registry created again under a name starts with none.
const migration5 = `CREATE TABLE egress_totals (
		registry_key TEXT NOT NULL,
		day TEXT NOT NULL,
		channel TEXT NOT NULL,
		identity TEXT NOT NULL,
		bytes INTEGER NOT NULL,
		artifacts INTEGER NOT NULL,
		attempts INTEGER NOT NULL,
		PRIMARY KEY (registry_key, day, channel, identity)
	) WITHOUT ROWID;
	CREATE INDEX egress_totals_day ON egress_totals (day);`

// migrate brings db to the newest schema in migs, in one BEGIN IMMEDIATE
// transaction, so two processes opening the same file cannot both apply a
// migration and a failed migration leaves the previous version intact. A
// database already past len(migs) was written by a newer Bulkhead; it is
// refused rather than used with a schema this code does not know.
func migrate(ctx context.Context, db *sql.DB, migs []string) error {
	stx, err := db.BeginTx(ctx, nil) // db's DSN makes this BEGIN IMMEDIATE
	if err != nil {
		return fmt.Errorf("migrations: %w", classify(err))
	}
	defer stx.Rollback()
	if _, err := stx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var have int
	if err := stx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if have > len(migs) {
		return fmt.Errorf("database schema version %d is newer than this Bulkhead knows (%d); run a newer Bulkhead or restore a backup: %w",
			have, len(migs), errdef.ErrFailedPrecondition)
	}
	for v := have + 1; v <= len(migs); v++ {
		if _, err := stx.ExecContext(ctx, migs[v-1]); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := stx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("migrations: %w", classify(err))
	}
	return nil
}
