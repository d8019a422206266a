package vnet_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/vnet"
)

// Fixed identities of the test world.
const (
	tenant  = "11111111-0000-0000-0000-000000000001"
	sub     = "22222222-0000-0000-0000-000000000002"
	owner   = "33333333-0000-0000-0000-00000000000a" // Owner on sub
	reader  = "33333333-0000-0000-0000-00000000000b" // Reader on sub
	nobody  = "33333333-0000-0000-0000-00000000000d" // no role at all
	group   = "net"
	nv      = "?api-version=2023-09-01"
	rgPath  = "/subscriptions/" + sub + "/resourceGroups/" + group
	netPath = rgPath + "/providers/Microsoft.Network"
	premReg = rgPath + "/providers/Microsoft.ContainerRegistry/registries/premreg"
	basicRg = rgPath + "/providers/Microsoft.ContainerRegistry/registries/basicreg"
)

// world is the provider's table behind arm's router and a real HTTP
// server, on a real sqlite store with a resource group, a Premium and a
// Basic registry, and a recording write hook. Requests carry
// "Authorization: Bearer <object id>"; the test authenticator believes it.
type world struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlite.Store
	mu     sync.Mutex
	writes []arm.WriteEvent
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Now().UTC()
	err = store.Update(ctx, func(tx meta.Tx) error {
		if err := tx.PutSubscription(meta.Subscription{ID: sub, TenantID: tenant, DisplayName: "test", CreatedAt: time.Now().UTC()}); err != nil {
			return err
		}
		if err := tx.PutResource(authz.NewAssignment("a1", "/subscriptions/"+sub, authz.OwnerRoleID, owner)); err != nil {
			return err
		}
		if err := tx.PutResource(authz.NewAssignment("a2", "/subscriptions/"+sub, authz.ReaderRoleID, reader)); err != nil {
			return err
		}
		rg := meta.Resource{ID: rgPath, Type: "Microsoft.Resources/resourceGroups", CreatedAt: now, UpdatedAt: now,
			Document: []byte(`{"id":"` + rgPath + `","name":"` + group + `","location":"westus"}`)}
		if err := tx.PutResource(rg); err != nil {
			return err
		}
		for _, r := range []struct{ key, name, id, sku string }{{"k1", "premreg", premReg, "Premium"}, {"k2", "basicreg", basicRg, "Basic"}} {
			err := tx.CreateRegistry(meta.Registry{Key: r.key, Name: r.name, ResourceID: r.id, SubscriptionID: sub, ResourceGroup: group,
				Document: []byte(`{"sku":{"name":"` + r.sku + `"},"properties":{}}`), Facts: meta.RegistryFacts{Version: 1, SKU: r.sku},
				CreatedAt: now, UpdatedAt: now})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: store}
	router, err := arm.NewRouter(arm.RouterOptions{
		Store:  store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authenticate: func(r *http.Request) (authz.Caller, error) {
			oid, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return authz.Caller{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "no token").WithCause(errdef.ErrUnauthenticated)
			}
			return authz.Caller{ObjectID: oid, ClientID: "app-" + oid[len(oid)-1:], TenantID: tenant, Kind: "ServicePrincipal"}, nil
		},
		OnWrite: func(_ context.Context, e arm.WriteEvent) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.writes = append(w.writes, e)
		},
	}, vnet.New(vnet.Options{Meta: store}).Table())
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(router)
	t.Cleanup(w.srv.Close)
	return w
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

// do sends a request as who ("" sends no token). It fails the test on
// any 5xx, on a 4xx without the ARM error envelope and on a non-JSON
// body.
func (w *world) do(who, method, path, body string) resp {
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
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+who)
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
	if r.status >= 400 && (r.code() == "" || r.message() == "") {
		w.t.Fatalf("%s %s: %d without an ARM error envelope: %s", method, path, r.status, b)
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

// writeEvents returns the write hook's events so far.
func (w *world) writeEvents() []arm.WriteEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]arm.WriteEvent(nil), w.writes...)
}

// registryConnections reads a registry's private endpoint connection
// rows by registry name.
func (w *world) registryConnections(name string) []meta.PrivateEndpointConnection {
	w.t.Helper()
	var conns []meta.PrivateEndpointConnection
	err := w.store.View(context.Background(), func(tx meta.Tx) error {
		row, err := tx.RegistryByName(name)
		if err != nil {
			return err
		}
		conns, err = tx.ListConnections(row.Key)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return conns
}

func vnetPath(name string) string { return netPath + "/virtualNetworks/" + name }

func pePath(name string) string { return netPath + "/privateEndpoints/" + name }

// vnetBody is a virtual network in westus with 10.0.0.0/16 and the given
// subnets as name=prefix pairs.
func vnetBody(subnets ...string) string {
	var parts []string
	for _, s := range subnets {
		name, prefix, _ := strings.Cut(s, "=")
		parts = append(parts, `{"name":"`+name+`","properties":{"addressPrefix":"`+prefix+`"}}`)
	}
	return `{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[` + strings.Join(parts, ",") + `]}}`
}

// peBody is a private endpoint in subnet (of virtual network "corp") to
// registry regID, through the given connection list.
func peBody(subnet, regID, list string) string {
	return `{"location":"westus","properties":{"subnet":{"id":"` + vnetPath("corp") + `/subnets/` + subnet + `"},"` + list + `":[
		{"name":"conn","properties":{"privateLinkServiceId":"` + regID + `","groupIds":["registry"],"requestMessage":"please"}}]}}`
}

// pathOf is the path and query of an absolute polling URL.
func pathOf(t *testing.T, u string) string {
	t.Helper()
	i := strings.Index(u, "/subscriptions/")
	if i < 0 {
		t.Fatalf("polling URL %q", u)
	}
	return u[i:]
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
