// Package sqlite is the default metadata store: SQLite through
// modernc.org/sqlite (pure Go, no cgo) in WAL mode.
//
// Writes go through one connection with BEGIN IMMEDIATE, so Update
// transactions serialize instead of failing with SQLITE_BUSY when a reader
// upgrades; View transactions use a separate read-only pool and run
// concurrently with the writer (WAL).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a meta.Store on one SQLite database file.
type Store struct {
	w *sql.DB // one connection, BEGIN IMMEDIATE
	r *sql.DB // read-only pool
}

var _ meta.Store = (*Store)(nil)

// Open opens (creating when needed) the database at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	// synchronous=NORMAL: in WAL mode a process crash cannot lose a
	// committed transaction; only an OS crash or power loss can lose the
	// last ones, never corrupt the file.
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	// Create the file 0600 first: it holds secret hashes. SQLite gives its
	// -wal and -shm files the database file's mode.
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	} else {
		f.Close()
	}
	w, err := sql.Open("sqlite", dsn()+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &Store{w: w, r: r}, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(meta.Tx) error) error {
	return s.run(ctx, s.r, &sql.TxOptions{ReadOnly: true}, fn)
}

// Update runs fn in a read-write transaction.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return s.run(ctx, s.w, nil, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(meta.Tx) error) error {
	stx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", classify(err))
	}
	if err := fn(&tx{tx: stx}); err != nil {
		stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	return nil
}

// tx implements meta.Tx on a *sql.Tx.
type tx struct{ tx *sql.Tx }

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	res, err := t.tx.Exec(q, args...)
	return res, classify(err)
}

// execAffect runs a statement that must change a row; "no row changed"
// becomes ErrNotFound.
func (t *tx) execAffect(what, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, errdef.ErrNotFound)
	}
	return nil
}

// classify maps driver errors onto errdef classes.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w", errdef.ErrNotFound)
	case strings.Contains(err.Error(), "UNIQUE constraint failed"), strings.Contains(err.Error(), "PRIMARY KEY"):
		return fmt.Errorf("%v: %w", err, errdef.ErrAlreadyExists)
	case strings.Contains(err.Error(), "database is locked"), strings.Contains(err.Error(), "SQLITE_BUSY"):
		return fmt.Errorf("%v: %w", err, errdef.ErrUnavailable)
	}
	return err
}

// Times are stored as UTC unix nanoseconds.
func ts(t time.Time) int64 { return t.UTC().UnixNano() }

func fromTS(n int64) time.Time { return time.Unix(0, n).UTC() }

func limit(p meta.Page) int {
	if p.Limit <= 0 {
		return -1
	}
	return p.Limit
}

func isNotFound(err error) bool { return errors.Is(err, errdef.ErrNotFound) }
