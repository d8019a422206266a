package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; each runs once, in its own transaction,
// recorded in schema_migrations. Never edit a released migration: append.
var migrations = []string{
	// 1: the foundation schema.
	`CREATE TABLE registries (
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
	);`,
}

// migrate applies pending migrations and refuses a database written by a
// newer Bulkhead.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this bulkhead knows (%d); upgrade bulkhead", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))`, v); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}
