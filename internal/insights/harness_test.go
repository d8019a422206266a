package insights_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/insights"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

// Fixed identities of the test world.
const (
	tenant   = "11111111-0000-0000-0000-000000000001"
	sub      = "22222222-0000-0000-0000-000000000002"
	owner    = "33333333-0000-0000-0000-00000000000a" // Owner on sub
	reader   = "33333333-0000-0000-0000-00000000000b" // Reader on sub
	regAdmin = "33333333-0000-0000-0000-00000000000c" // Contributor on the registry only
	nobody   = "33333333-0000-0000-0000-00000000000d" // no role at all
	group    = "logs"
	sv       = "?api-version=2022-09-01"
	dv       = "?api-version=2021-05-01-preview"
	rgPath   = "/subscriptions/" + sub + "/resourceGroups/" + group
	regID    = rgPath + "/providers/Microsoft.ContainerRegistry/registries/auditreg"
	settings = regID + "/providers/Microsoft.Insights/diagnosticSettings"
)

// sealKey is the provider's and the shipper's seal key in tests.
var sealKey = []byte("0123456789abcdef0123456789abcdef")

// world is the provider's table behind arm's router and a real HTTP
// server, on a real sqlite store with a resource group and a registry,
// an audit directory and a storage directory. Requests carry
// "Authorization: Bearer <object id>"; the test authenticator believes it.
type world struct {
	t          *testing.T
	srv        *httptest.Server
	store      *sqlite.Store
	auditDir   string
	storageDir string
	mu         sync.Mutex
	writes     []arm.WriteEvent
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Now().UTC()
	err = store.Update(ctx, func(tx meta.Tx) error {
		if err := tx.PutSubscription(meta.Subscription{ID: sub, TenantID: tenant, DisplayName: "test", CreatedAt: now}); err != nil {
			return err
		}
		for _, a := range []meta.Resource{
			authz.NewAssignment("a1", "/subscriptions/"+sub, authz.OwnerRoleID, owner),
			authz.NewAssignment("a2", "/subscriptions/"+sub, authz.ReaderRoleID, reader),
			authz.NewAssignment("a3", regID, authz.ContributorRoleID, regAdmin),
		} {
			if err := tx.PutResource(a); err != nil {
				return err
			}
		}
		rg := meta.Resource{ID: rgPath, Type: "Microsoft.Resources/resourceGroups", CreatedAt: now, UpdatedAt: now,
			Document: []byte(`{"id":"` + rgPath + `","name":"` + group + `","location":"westus"}`)}
		if err := tx.PutResource(rg); err != nil {
			return err
		}
		return tx.CreateRegistry(meta.Registry{Key: "k1", Name: "auditreg", ResourceID: regID, SubscriptionID: sub, ResourceGroup: group,
			Document: []byte(`{"sku":{"name":"Premium"},"properties":{}}`), Facts: meta.RegistryFacts{Version: 1, SKU: "Premium"},
			CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: store, auditDir: filepath.Join(dir, "audit"), storageDir: filepath.Join(dir, "storage")}
	p, err := insights.New(insights.Options{Meta: store, AuditDir: w.auditDir, StorageDir: w.storageDir, SealKey: sealKey})
	if err != nil {
		t.Fatal(err)
	}
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
	}, p.Table())
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(router)
	t.Cleanup(w.srv.Close)
	return w
}

// resp is one answer: status, the raw body and its JSON.
type resp struct {
	status int
	raw    string
	body   map[string]any
}

func (r resp) code() string    { s, _ := dig(r.body, "error", "code").(string); return s }
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
	r := resp{status: hr.StatusCode, raw: string(b)}
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

func (w *world) writeEvents() []arm.WriteEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]arm.WriteEvent(nil), w.writes...)
}

// shipper returns a shipper over the world's directories.
func (w *world) shipper(o insights.ShipperOptions) *insights.Shipper {
	w.t.Helper()
	o.Meta, o.AuditDir, o.StorageDir, o.SealKey = w.store, w.auditDir, w.storageDir, sealKey
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := insights.NewShipper(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// createAccount creates a local storage account in the world's group.
func (w *world) createAccount(name string) string {
	w.t.Helper()
	id := accountPath(name)
	w.do(owner, "PUT", id+sv, `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus"}`).expect(w.t, 200, "")
	return id
}

// createSetting creates a diagnostic setting of the registry that sends
// allLogs to the storage account id.
func (w *world) createSetting(name, accountID string) resp {
	w.t.Helper()
	return w.do(owner, "PUT", settings+"/"+name+dv,
		`{"properties":{"storageAccountId":"`+accountID+`","logs":[{"categoryGroup":"allLogs","enabled":true}]}}`).expect(w.t, 200, "")
}

func accountPath(name string) string {
	return rgPath + "/providers/Microsoft.Storage/storageAccounts/" + name
}

// appendRecords writes n repository events of the registry at t into the
// audit layout, as the audit log does: whole JSON lines, appended.
func appendRecords(t testing.TB, dir string, at time.Time, first, n int) {
	t.Helper()
	container, blob := audit.BlobPath(audit.CategoryRepository, regID, at)
	path := filepath.Join(dir, container, filepath.FromSlash(blob))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b []byte
	for i := first; i < first+n; i++ {
		line, _ := json.Marshal(audit.Record{Time: at, ResourceID: regID, OperationName: audit.OpPull, Category: audit.CategoryRepository,
			ResultType: audit.ResultSucceeded, Level: "Informational", Properties: audit.Properties{Repository: "app", Tag: "v" + itoa(i)}})
		b = append(append(b, line...), '\n')
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

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
