package keyvault_test

import (
	"bytes"
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
	"github.com/bulkhead-registry/bulkhead/internal/keyvault"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/resources"
	"github.com/bulkhead-registry/bulkhead/internal/server"
)

// Fixed identities of the test world.
const (
	tenant = "11111111-0000-0000-0000-000000000001"
	sub    = "22222222-0000-0000-0000-000000000002"
	sub2   = "22222222-0000-0000-0000-000000000003"
	owner  = "33333333-0000-0000-0000-00000000000a" // Owner on sub and sub2
	reader = "33333333-0000-0000-0000-00000000000b" // Reader on sub
	nobody = "33333333-0000-0000-0000-00000000000d" // no role at all
	kv     = "?api-version=2023-07-01"
	rgPath = "/subscriptions/" + sub + "/resourceGroups/"
)

// world is the provider's table and Microsoft.Resources' behind arm's
// router and a real HTTP server, on a real sqlite store with resource
// groups "one" and "two" in sub and "three" in sub2. The write hook is
// the server's own (LogWrites) into a captured log, and records every
// event. Requests carry "Authorization: Bearer <object id>"; the test
// authenticator believes it.
type world struct {
	t        *testing.T
	srv      *httptest.Server
	store    *sqlite.Store
	provider *keyvault.Provider
	now      time.Time

	mu     sync.Mutex
	writes []arm.WriteEvent
	logs   bytes.Buffer
	bodies []string // every answer's body, for leak checks
}

func newWorld(t *testing.T, sealKey []byte) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := &world{t: t, store: store, now: time.Now().UTC()}
	err = store.Update(ctx, func(tx meta.Tx) error {
		for i, s := range []string{sub, sub2} {
			if err := tx.PutSubscription(meta.Subscription{ID: s, TenantID: tenant, DisplayName: "test", CreatedAt: w.now}); err != nil {
				return err
			}
			if err := tx.PutResource(authz.NewAssignment("o"+s[len(s)-1:], "/subscriptions/"+s, authz.OwnerRoleID, owner)); err != nil {
				return err
			}
			if i == 0 {
				if err := tx.PutResource(authz.NewAssignment("r1", "/subscriptions/"+s, authz.ReaderRoleID, reader)); err != nil {
					return err
				}
			}
		}
		for _, g := range []string{"/subscriptions/" + sub + "/resourceGroups/one", "/subscriptions/" + sub + "/resourceGroups/two", "/subscriptions/" + sub2 + "/resourceGroups/three"} {
			name := g[strings.LastIndex(g, "/")+1:]
			rg := meta.Resource{ID: g, Type: resources.ResourceGroupType, CreatedAt: w.now, UpdatedAt: w.now,
				Document: []byte(`{"id":"` + g + `","name":"` + name + `","type":"Microsoft.Resources/resourceGroups","location":"westus"}`)}
			if err := tx.PutResource(rg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.provider, err = keyvault.New(keyvault.Options{Meta: store, SealKey: sealKey, Now: func() time.Time { return w.clock() }})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(&lockedBuffer{w: w}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logWrite := server.LogWrites(logger, nil)
	groups := resources.New(resources.Options{Meta: store, Trackers: []resources.Tracker{w.provider}, Logger: logger})
	router, err := arm.NewRouter(arm.RouterOptions{
		Store:  store,
		Logger: logger,
		Authenticate: func(r *http.Request) (authz.Caller, error) {
			oid, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return authz.Caller{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "no token").WithCause(errdef.ErrUnauthenticated)
			}
			return authz.Caller{ObjectID: oid, ClientID: "app-" + oid[len(oid)-1:], TenantID: tenant, Kind: "ServicePrincipal"}, nil
		},
		OnWrite: func(ctx context.Context, e arm.WriteEvent) {
			logWrite(ctx, e)
			w.mu.Lock()
			defer w.mu.Unlock()
			w.writes = append(w.writes, e)
		},
	}, w.provider.Table(), groups.Table())
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(router)
	t.Cleanup(w.srv.Close)
	return w
}

// clock is the provider's time: the world's, which tests may move.
func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

type lockedBuffer struct{ w *world }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.w.mu.Lock()
	defer b.w.mu.Unlock()
	return b.w.logs.Write(p)
}

// resp is one answer: status, the raw body and its JSON.
type resp struct {
	status int
	raw    string
	body   map[string]any
}

func (r resp) code() string { s, _ := dig(r.body, "error", "code").(string); return s }

func (r resp) message() string { s, _ := dig(r.body, "error", "message").(string); return s }

// do sends a request as who. It fails the test on any 5xx, on a 4xx
// without the ARM error envelope and on a non-JSON body.
func (w *world) do(who, method, path, body string) resp {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+who)
	hr, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer hr.Body.Close()
	b, _ := io.ReadAll(hr.Body)
	r := resp{status: hr.StatusCode, raw: string(b)}
	w.mu.Lock()
	w.bodies = append(w.bodies, r.raw)
	w.mu.Unlock()
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

// assertNowhere fails when s appears in any answer, log line or write
// event so far.
func (w *world) assertNowhere(s string) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.bodies {
		if strings.Contains(b, s) {
			w.t.Errorf("the value appears in an answer: %s", b)
		}
	}
	if strings.Contains(w.logs.String(), s) {
		w.t.Errorf("the value appears in the log:\n%s", w.logs.String())
	}
	for _, e := range w.writes {
		doc, err := json.Marshal(e)
		if err != nil {
			w.t.Fatal(err)
		}
		if strings.Contains(string(doc), s) {
			w.t.Errorf("the value appears in a write event: %s", doc)
		}
	}
}

// writeEvents returns the write hook's events so far.
func (w *world) writeEvents() []arm.WriteEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]arm.WriteEvent(nil), w.writes...)
}

func vaultPath(rg, name string) string {
	return rgPath + rg + "/providers/Microsoft.KeyVault/vaults/" + name
}

func secretPath(rg, vault, name string) string { return vaultPath(rg, vault) + "/secrets/" + name }

// vaultBody is a standard vault in westus of the test tenant.
const vaultBody = `{"location":"West US","properties":{"tenantId":"` + tenant + `","sku":{"family":"A","name":"standard"}}}`

// secretBody is a secret with value.
func secretBody(value string) string {
	b, _ := json.Marshal(map[string]any{"properties": map[string]any{"value": value, "contentType": "text/plain"}})
	return string(b)
}

// mkVault creates vault name in rg and its secret sas with value.
func (w *world) mkVault(rg, name string) {
	w.t.Helper()
	w.do(owner, "PUT", vaultPath(rg, name)+kv, vaultBody).expect(w.t, http.StatusCreated, "")
}

func (w *world) mkSecret(rg, vault, name, value string) resp {
	w.t.Helper()
	return w.do(owner, "PUT", secretPath(rg, vault, name)+kv, secretBody(value))
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
