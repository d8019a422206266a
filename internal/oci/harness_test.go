package oci_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/oci"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// faultyStore is a real store whose transactions fail on demand, as a
// store does when its disk or database goes away.
type faultyStore struct {
	meta.Store
	broken atomic.Bool
}

var errStoreDown = errors.New("sqlite begin: disk I/O error")

func (f *faultyStore) View(ctx context.Context, fn func(tx meta.Tx) error) error {
	if f.broken.Load() {
		return errStoreDown
	}
	return f.Store.View(ctx, fn)
}

func (f *faultyStore) Update(ctx context.Context, fn func(tx meta.Tx) error) error {
	if f.broken.Load() {
		return errStoreDown
	}
	return f.Store.Update(ctx, fn)
}

// plane is the data plane over a real store and token service, served by
// a real HTTP server.
type plane struct {
	store *faultyStore
	ids   *identity.Service
	boot  identity.Bootstrap
	svc   *oci.Service
	srv   *httptest.Server
}

func newPlane(t *testing.T) *plane {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	p := &plane{store: &faultyStore{Store: db}}
	if p.ids, err = identity.New(p.store, filepath.Join(dir, "keys"), identity.Options{}); err != nil {
		t.Fatal(err)
	}
	if p.boot, err = p.ids.Bootstrap(t.Context(), dir, ""); err != nil {
		t.Fatal(err)
	}
	// Budgets that do not refill while a slow machine runs the test.
	guard := signin.New(signin.Options{PrincipalEvery: time.Hour, AddressEvery: time.Hour})
	p.svc = oci.New(oci.Options{Meta: p.store, Content: blobs, Tokens: p.ids, Guard: guard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	p.srv = httptest.NewServer(p.svc)
	t.Cleanup(p.srv.Close)
	return p
}

// do sends a request with Basic credentials (user, pass) when user is set.
func (p *plane) do(t *testing.T, method, path, user, pass string, form ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if len(form) > 0 {
		body = strings.NewReader(form[0])
	}
	req, _ := http.NewRequest(method, p.srv.URL+path, body)
	if len(form) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
