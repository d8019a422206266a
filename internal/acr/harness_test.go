package acr_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/resources"
)

// Fixed identities of the test world.
const (
	tenant    = "11111111-0000-0000-0000-000000000001"
	sub       = "22222222-0000-0000-0000-000000000002"
	otherSub  = "22222222-0000-0000-0000-000000000003"
	owner     = "33333333-0000-0000-0000-00000000000a" // Owner on both subscriptions
	reader    = "33333333-0000-0000-0000-00000000000b" // Reader on sub
	groupOnly = "33333333-0000-0000-0000-00000000000c" // Contributor on sub's resource group "scoped"
	nobody    = "33333333-0000-0000-0000-00000000000d" // no role at all

	callerHeader = "X-Test-Caller" // read only by the test middleware below
	regVersion   = "?api-version=2025-11-01"
	rgVersion    = "?api-version=2024-03-01"
)

// world is a provider behind a real HTTP server, on a real sqlite store.
type world struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.Store
}

// newWorld starts the provider with opts (Meta is filled in). Requests
// are made by owner unless they carry callerHeader: the middleware plays
// the server's authenticator and puts the caller in the context.
func newWorld(t *testing.T, opts acr.Options) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.Update(ctx, func(tx meta.Tx) error {
		now := time.Now().UTC()
		if err := tx.PutTenant(meta.Tenant{ID: tenant, DisplayName: "test", CreatedAt: now}); err != nil {
			return err
		}
		for _, s := range []string{sub, otherSub} {
			if err := tx.PutSubscription(meta.Subscription{ID: s, TenantID: tenant, DisplayName: "test", CreatedAt: now}); err != nil {
				return err
			}
		}
		for _, a := range []struct{ id, scope, role, principal string }{
			{"a1", "/subscriptions/" + sub, authz.OwnerRoleID, owner},
			{"a2", "/subscriptions/" + otherSub, authz.OwnerRoleID, owner},
			{"a3", "/subscriptions/" + sub, authz.ReaderRoleID, reader},
			{"a4", "/subscriptions/" + sub + "/resourceGroups/scoped", authz.ContributorRoleID, groupOnly},
		} {
			if err := tx.PutResource(authz.NewAssignment(a.id, a.scope, a.role, a.principal)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	opts.Meta = store
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := acr.New(opts)
	router, err := arm.NewRouter(arm.RouterOptions{Store: store, Logger: opts.Logger,
		Authenticate: func(r *http.Request) (authz.Caller, error) {
			oid := r.Header.Get(callerHeader)
			if oid == "" {
				oid = owner
			}
			return authz.Caller{ObjectID: oid, ClientID: "app-" + oid[len(oid)-1:], TenantID: tenant, Kind: "ServicePrincipal"}, nil
		}},
		resources.New(resources.Options{Meta: store, Trackers: []resources.Tracker{p}}).Table(), p.Table())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &world{t: t, srv: srv, store: store}
}

// resp is one answer: status, headers, the raw body and its JSON.
type resp struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// code is the ARM error code of an error answer.
func (r resp) code() string { s, _ := dig(r.body, "error", "code").(string); return s }

// message is the ARM error message of an error answer.
func (r resp) message() string { s, _ := dig(r.body, "error", "message").(string); return s }

// do sends a request. It fails the test on any 5xx, on a 4xx without the
// ARM error envelope, and on a non-JSON body. hdr are header name/value
// pairs.
func (w *world) do(method, path, body string, hdr ...string) resp {
	w.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = w.srv.URL + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	hr, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer hr.Body.Close()
	b, _ := io.ReadAll(hr.Body)
	r := resp{status: hr.StatusCode, header: hr.Header, raw: string(b)}
	if r.status >= 500 {
		w.t.Fatalf("%s %s: server fault %d: %s", method, path, r.status, b)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			w.t.Fatalf("%s %s: %d with a non-JSON body: %s", method, path, r.status, b)
		}
	}
	if r.status >= 400 && method != http.MethodHead && (r.code() == "" || r.message() == "") {
		w.t.Fatalf("%s %s: %d without an ARM error envelope: %s", method, path, r.status, b)
	}
	if hr.Header.Get("x-ms-request-id") == "" {
		w.t.Fatalf("%s %s: no x-ms-request-id", method, path)
	}
	return r
}

// expect asserts the status and, for errors, the ARM code.
func (r resp) expect(t *testing.T, status int, code string) resp {
	t.Helper()
	if r.status != status || code != "" && r.code() != code {
		t.Fatalf("got %d %s, want %d %s: %s", r.status, r.code(), status, code, r.raw)
	}
	return r
}

func groupPath(s, rg string) string { return "/subscriptions/" + s + "/resourceGroups/" + rg }

func regPath(s, rg, name string) string {
	return groupPath(s, rg) + "/providers/Microsoft.ContainerRegistry/registries/" + name
}

// mkGroup creates a resource group (201) in westus.
func (w *world) mkGroup(s, rg string) {
	w.t.Helper()
	w.do("PUT", groupPath(s, rg)+rgVersion, `{"location":"westus"}`).expect(w.t, http.StatusCreated, "")
}

// mkRegistry creates a Basic registry (201).
func (w *world) mkRegistry(s, rg, name string) resp {
	w.t.Helper()
	return w.do("PUT", regPath(s, rg, name)+regVersion, `{"location":"westus","sku":{"name":"Basic"}}`).expect(w.t, http.StatusCreated, "")
}

// registryRow reads a registry's meta row by name.
func (w *world) registryRow(name string) (meta.Registry, error) {
	var row meta.Registry
	err := w.store.View(context.Background(), func(tx meta.Tx) (err error) {
		row, err = tx.RegistryByName(name)
		return err
	})
	return row, err
}

// dig walks a decoded JSON document.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
