// Package sqlite is Bulkhead's default metadata store: one SQLite database
// file through modernc.org/sqlite (pure Go, no cgo) in WAL mode.
//
// Concurrency: SQLite has one writer. Update transactions run on a pool of
// exactly one connection and start with BEGIN IMMEDIATE, so they take the
// write lock up front and queue behind each other (in this process on the
// pool, across processes on busy_timeout) instead of starting as readers
// and failing with SQLITE_BUSY when two of them try to upgrade. That makes
// Update transactions serializable. View transactions run on a separate
// pool of query_only connections; under WAL they read a consistent snapshot
// and neither block nor are blocked by the writer.
//
// Durability: synchronous=NORMAL. In WAL mode a committed transaction
// survives a crash of the process (it is in the WAL file, which the OS
// keeps); only an OS crash or power loss can drop the last commits, and it
// never corrupts the database. Blob bytes are fsynced by the content store,
// so a lost metadata commit leaves at worst unreferenced bytes for GC.
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

	msqlite "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const (
	// busyTimeoutMS bounds how long a transaction waits for a lock held by
	// another process before failing with errdef.ErrUnavailable.
	busyTimeoutMS = "10000"
	// readConns is the size of the View pool.
	readConns = 8
)

// Store is a meta.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	w *sql.DB // one connection; every transaction is BEGIN IMMEDIATE
	r *sql.DB // query_only pool for View
}

var _ meta.Store = (*Store)(nil)

// Open opens the database at path, creating the file (mode 0600, because it
// holds secret verifiers) when it does not exist, and applies pending
// migrations. It fails when the file was written by a newer Bulkhead
// (errdef.ErrFailedPrecondition). path must name a file: ":memory:" does not
// work, because readers and the writer use separate connections.
func Open(ctx context.Context, path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	f.Close()

	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, migrations()); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// dsn builds the modernc DSN for path. The writer sets WAL (persistent in
// the file) and takes the write lock at BEGIN; readers are query_only, so a
// write inside View fails instead of silently succeeding.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+busyTimeoutMS+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	// SQLite parses "file:" names as URIs: escape what would end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + p + "?" + q.Encode()
}

// Close closes both connection pools. Transactions still running fail.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// View runs fn in a read-only snapshot transaction on the reader pool. It
// runs concurrently with other Views and with an Update; writes inside fn
// fail.
func (s *Store) View(ctx context.Context, fn func(tx meta.Tx) error) error {
	return run(ctx, s.r, &sql.TxOptions{ReadOnly: true}, fn)
}

// Update runs fn in a write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits when fn returns nil. Updates serialize, so
// fn is never retried. fn must not call Update itself: it would wait for
// the connection it holds.
func (s *Store) Update(ctx context.Context, fn func(tx meta.Tx) error) error {
	return run(ctx, s.w, nil, fn)
}

// run begins a transaction bound to ctx (database/sql rolls it back when
// ctx ends), calls fn and commits. The deferred Rollback also runs when fn
// panics, so a panic cannot keep the single writer connection forever.
func run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(tx meta.Tx) error) error {
	stx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlite begin: %w", ended(ctx, classify(err)))
	}
	defer stx.Rollback() // a no-op (sql.ErrTxDone) after Commit
	if err := fn(&tx{tx: stx}); err != nil {
		return ended(ctx, err)
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqlite commit: %w", ended(ctx, classify(err)))
	}
	return nil
}

// ended makes err say that ctx ended, when it did: database/sql rolls the
// transaction back then, and what was under way fails with sql.ErrTxDone
// or a driver error rather than ctx's error, which callers need to tell a
// client that went away from a store fault (meta.Store).
func ended(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

// tx implements meta.Tx on one *sql.Tx; its methods are spread over
// registries.go, connections.go, resources.go, oci.go and identities.go.
type tx struct{ tx *sql.Tx }

var _ meta.Tx = (*tx)(nil)

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	res, err := t.tx.Exec(q, args...)
	return res, classify(err)
}

// execAffect runs a statement that must change a row; changing none is
// ErrNotFound for what.
func (t *tx) execAffect(what, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, errdef.ErrNotFound)
	}
	return nil
}

// strings runs a query returning one text column.
func (t *tx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.tx.Query(q, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, classify(err)
		}
		out = append(out, s)
	}
	return out, classify(rows.Err())
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, classify(rows.Err())
}

// classify maps driver errors onto errdef classes: no row is ErrNotFound, a
// UNIQUE or PRIMARY KEY collision is ErrAlreadyExists, a lock still held by
// another process after busy_timeout is ErrUnavailable, and a database that
// cannot grow (SQLITE_FULL: SQLite's answer to ENOSPC) is
// ErrInsufficientStorage. A write refused for quota (EDQUOT) reaches us as
// SQLITE_IOERR_WRITE, which SQLite also answers for a failing disk, so it
// stays a server fault.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errdef.ErrNotFound
	}
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%v: %w", err, errdef.ErrAlreadyExists)
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%v: %w", err, errdef.ErrUnavailable)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%v: %w", err, errdef.ErrInsufficientStorage)
	}
	return err
}

// zeroNanos stores the zero time.Time. It is what time.Time{}.UnixNano()
// wraps to, so rows written before zero times were special-cased read back
// as zero too. (It also names one real instant in 1754, to the nanosecond,
// which Bulkhead never writes.)
const zeroNanos int64 = -6795364578871345152

// nanos encodes t as UTC Unix nanoseconds, which round-trip exactly and sort
// numerically. Times outside 1677..2262 (other than the zero time) are
// ErrInvalidArgument rather than silently wrapped.
func nanos(t time.Time) (int64, error) {
	if t.IsZero() {
		return zeroNanos, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) { // UnixNano wrapped around
		return 0, fmt.Errorf("time %s outside the storable range: %w", t, errdef.ErrInvalidArgument)
	}
	return n, nil
}

// fromNanos decodes nanos; the result is always in UTC.
func fromNanos(n int64) time.Time {
	if n == zeroNanos {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// limit turns Page.Limit into SQL's LIMIT, where -1 means none.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// nonNil keeps NOT NULL BLOB columns happy: a nil slice binds as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
