package identity_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/golang-jwt/jwt/v5"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one data directory with a real SQLite store, a Service, its
// bootstrap identity and the token service's table behind arm's router on
// a real server.
type env struct {
	dir   string
	store meta.Store
	clock *clock
	svc   *identity.Service
	boot  identity.Bootstrap
	srv   *httptest.Server
}

func openStore(t *testing.T, path string) meta.Store {
	t.Helper()
	store, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// newService opens a Service over dir's store and key directory, as a
// server start would.
func newService(t *testing.T, dir string, store meta.Store, c *clock) *identity.Service {
	t.Helper()
	svc, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func setup(t *testing.T, secret string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, store: openStore(t, filepath.Join(dir, "meta.db")), clock: newClock()}
	e.svc = newService(t, dir, e.store, e.clock)
	boot, err := e.svc.Bootstrap(context.Background(), dir, secret)
	if err != nil {
		t.Fatal(err)
	}
	e.boot = boot
	router, err := arm.NewRouter(arm.RouterOptions{Store: e.store, Authenticate: e.svc.AuthenticateARM,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, e.svc.Table())
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(router)
	t.Cleanup(e.srv.Close)
	return e
}

// principal reads the bootstrap principal straight from the store.
func (e *env) principal(t *testing.T) meta.Principal {
	t.Helper()
	var p meta.Principal
	if err := e.store.View(t.Context(), func(tx meta.Tx) (err error) {
		p, err = tx.PrincipalByClientID(e.boot.ClientID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// The signing key is written once (0600) and reloaded by later starts, so
// tokens issued before a restart still verify (az caches tokens across
// invocations, az-cli.md §2).
func TestKeyPersists(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	fi, err := os.Stat(filepath.Join(e.dir, "keys", "signing-key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", fi, err)
	}
	tok, _, err := e.svc.Issue(identity.Claims{ObjectID: "o"})
	if err != nil {
		t.Fatal(err)
	}
	again := newService(t, e.dir, openStore(t, filepath.Join(e.dir, "meta2.db")), e.clock)
	if again.KeyID() != e.svc.KeyID() || len(e.svc.KeyID()) != 22 {
		t.Fatalf("kid %q after restart, %q before", again.KeyID(), e.svc.KeyID())
	}
	if _, err := again.Verify(tok); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}
	other := newService(t, t.TempDir(), e.store, e.clock)
	if _, err := other.Verify(tok); !errors.Is(err, errdef.ErrUnauthenticated) {
		t.Fatalf("another key accepted the token: %v", err)
	}
}

// A damaged key file stops the start instead of being replaced, which
// would silently invalidate every token in use.
func TestCorruptKeyRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "meta.db"))
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keys", "signing-key.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{}); err == nil {
		t.Fatal("New accepted a corrupt key file")
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key" {
		t.Fatal("corrupt key file was replaced")
	}
}

// STYLE rule 6: the caller is read through an accessor that fails closed,
// and identity's accessors share authz's key.
func TestCallerContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := identity.CallerFromContext(ctx); !errors.Is(err, errdef.ErrUnauthenticated) {
		t.Fatalf("missing caller: %v", err)
	}
	if _, err := identity.CallerFromContext(identity.WithPrincipal(ctx, identity.Caller{})); !errors.Is(err, errdef.ErrUnauthenticated) {
		t.Fatalf("caller without object id: %v", err)
	}
	c := identity.Claims{ObjectID: "o", AppID: "a", TenantID: "t", RegisteredClaims: jwt.RegisteredClaims{Subject: "o"}}.Caller()
	got, err := identity.CallerFromContext(identity.WithPrincipal(ctx, c))
	want := identity.Caller{ObjectID: "o", ClientID: "a", TenantID: "t", Kind: identity.KindServicePrincipal}
	if err != nil || got != want {
		t.Fatalf("caller %+v %v", got, err)
	}
}
