package deployments_test

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
	"github.com/bulkhead-registry/bulkhead/internal/deployments"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/resources"
)

// Fixed identities of the test world.
const (
	tenant = "11111111-0000-0000-0000-000000000001"
	sub    = "22222222-0000-0000-0000-000000000002"
	owner  = "33333333-0000-0000-0000-00000000000a" // Owner on sub
	reader = "33333333-0000-0000-0000-00000000000b" // Reader on sub

	callerHeader = "X-Test-Caller" // read only by the test authenticator below
	regVersion   = "?api-version=2023-07-01"
	depVersion   = "?api-version=2021-04-01"
)

// world is the management plane as the server builds it for templates
// (resource groups, registries, deployments applied through the one
// router), behind a real HTTP server, on a real sqlite store.
type world struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.Store
}

func newWorld(t *testing.T) *world {
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
		if err := tx.PutSubscription(meta.Subscription{ID: sub, TenantID: tenant, DisplayName: "test", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutResource(authz.NewAssignment("a1", "/subscriptions/"+sub, authz.OwnerRoleID, owner)); err != nil {
			return err
		}
		return tx.PutResource(authz.NewAssignment("a2", "/subscriptions/"+sub, authz.ReaderRoleID, reader))
	})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	registries := acr.New(acr.Options{Meta: store, Logger: logger})
	var router *arm.Router
	templates := deployments.New(deployments.Options{Meta: store, Apply: func() arm.Dispatcher { return router }})
	router, err = arm.NewRouter(arm.RouterOptions{Store: store, Logger: logger,
		Authenticate: func(r *http.Request) (authz.Caller, error) {
			oid := r.Header.Get(callerHeader)
			if oid == "" {
				oid = owner
			}
			return authz.Caller{ObjectID: oid, ClientID: "app-" + oid[len(oid)-1:], TenantID: tenant, Kind: "ServicePrincipal"}, nil
		}},
		resources.New(resources.Options{Meta: store, Trackers: []resources.Tracker{registries}}).Table(), registries.Table(), templates.Table())
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

func (r resp) code() string { s, _ := dig(r.body, "error", "code").(string); return s }

// do sends a request as owner, or as the caller hdr names. It fails the
// test on any 5xx, and on a 4xx without the ARM error envelope.
func (w *world) do(method, path, body string, caller ...string) resp {
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
	if len(caller) > 0 {
		req.Header.Set(callerHeader, caller[0])
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
	if r.status >= 400 && (r.code() == "" || dig(r.body, "error", "message") == "") {
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

func groupPath(rg string) string { return "/subscriptions/" + sub + "/resourceGroups/" + rg }

func regPath(rg, name string) string {
	return groupPath(rg) + "/providers/Microsoft.ContainerRegistry/registries/" + name
}

func deploymentPath(rg, name string) string {
	return groupPath(rg) + "/providers/Microsoft.Resources/deployments/" + name
}

// mkGroup creates a resource group in westus.
func (w *world) mkGroup(rg string) {
	w.t.Helper()
	w.do("PUT", groupPath(rg)+"?api-version=2024-03-01", `{"location":"westus"}`).expect(w.t, http.StatusCreated, "")
}

// deploymentBody is a deployment request as az sends it: an unquoted
// template key and the template text verbatim.
func deploymentBody(template, params, format string) string {
	settings := ""
	if format != "" {
		settings = `"whatIfSettings": {"resultFormat": "` + format + `"}, `
	}
	if params == "" {
		params = "{}"
	}
	return `{"properties": {"parameters": ` + params + `, "mode": "Incremental", ` + settings + `template:` + template + "\n}}"
}

// whatIf runs a what-if to its end as az does (202, then the Location
// poll) and returns the last poll's answer.
func (w *world) whatIf(rg, template, params, format string, caller ...string) resp {
	w.t.Helper()
	r := w.do("POST", deploymentPath(rg, "wi")+"/whatIf"+depVersion, deploymentBody(template, params, format), caller...)
	if r.status != http.StatusAccepted {
		return r
	}
	loc := r.header.Get("Location")
	if loc == "" || r.header.Get("Retry-After") == "" || !strings.Contains(loc, "/operationResults/") {
		w.t.Fatalf("what-if answered 202 without a pollable Location: %v", r.header)
	}
	return w.do("GET", loc, "", caller...)
}

// changes indexes a what-if result's changes by the resource's name.
func changes(t *testing.T, r resp) map[string]map[string]any {
	t.Helper()
	if r.status != http.StatusOK || r.body["status"] != "Succeeded" || r.body["error"] != nil {
		t.Fatalf("what-if did not succeed: %d %s", r.status, r.raw)
	}
	out := map[string]map[string]any{}
	list, _ := dig(r.body, "properties", "changes").([]any)
	for _, c := range list {
		m := c.(map[string]any)
		id := m["resourceId"].(string)
		out[id[strings.LastIndex(id, "/")+1:]] = m
	}
	return out
}

// paths lists a change's delta as "type path" items, children as
// "type path/child".
func paths(c map[string]any) []string {
	var out []string
	var walk func(items []any, prefix string)
	walk = func(items []any, prefix string) {
		for _, it := range items {
			m := it.(map[string]any)
			out = append(out, m["propertyChangeType"].(string)+" "+prefix+m["path"].(string))
			kids, _ := m["children"].([]any)
			walk(kids, prefix+m["path"].(string)+"/")
		}
	}
	items, _ := c["delta"].([]any)
	walk(items, "")
	return out
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
