package arm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

const (
	testSub   = "00000000-0000-0000-0000-00000000000s"
	ownerOID  = "00000000-0000-0000-0000-0000000000o1"
	readerOID = "00000000-0000-0000-0000-0000000000r1"
)

var testVersions = arm.APIVersions("Test.Provider/widgets", "2024-01-01")

// routerWorld is a router over a test table, behind a real HTTP server on
// a real store, with a recording write hook.
type routerWorld struct {
	srv    *httptest.Server
	router *arm.Router
	store  meta.Store
	mu     sync.Mutex
	writes []arm.WriteEvent
}

func newRouterWorld(t *testing.T, table arm.Table) *routerWorld {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.PutSubscription(meta.Subscription{ID: testSub, TenantID: "t", DisplayName: "test"}); err != nil {
			return err
		}
		if err := tx.PutResource(authz.NewAssignment("a1", "/subscriptions/"+testSub, authz.OwnerRoleID, ownerOID)); err != nil {
			return err
		}
		return tx.PutResource(authz.NewAssignment("a2", "/subscriptions/"+testSub, authz.ReaderRoleID, readerOID))
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &routerWorld{store: store}
	w.router, err = arm.NewRouter(arm.RouterOptions{
		Store: store,
		Authenticate: func(r *http.Request) (authz.Caller, error) {
			oid, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return authz.Caller{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "no token").WithCause(errdef.ErrUnauthenticated)
			}
			oid, tenant, ok := strings.Cut(oid, "@") // "<oid>@<tenant>" for a caller of another tenant
			if !ok {
				tenant = "t"
			}
			return authz.Caller{ObjectID: oid, ClientID: "app", TenantID: tenant}, nil
		},
		OnWrite: func(_ context.Context, e arm.WriteEvent) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.writes = append(w.writes, e)
		},
	}, table)
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(w.router)
	t.Cleanup(w.srv.Close)
	return w
}

func (w *routerWorld) do(t *testing.T, method, path, who, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+who)
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func widgetTable() arm.Table {
	const widget = "/subscriptions/{sub}/providers/Test.Provider/widgets/{name}"
	return arm.Table{Name: "Test.Provider", Routes: []arm.Route{
		{Method: "GET", Pattern: widget, Versions: testVersions, Action: "Test.Provider/widgets/read",
			Egress: arm.MovesNoContent("a widget is metadata"),
			Handle: func(_ context.Context, q *arm.Request) (*arm.Response, error) {
				switch q.ID.Names[0] {
				case "missing":
					return nil, errdef.ErrNotFound
				case "busy":
					e := arm.Errorf(http.StatusTooManyRequests, "TooManyRequests", "come back later")
					e.RetryAfter = 7
					return nil, e
				}
				return arm.OK(map[string]any{"id": q.ID.String(), "version": q.Version}), nil
			}},
		{Method: "PUT", Pattern: widget, Versions: testVersions, Action: "Test.Provider/widgets/write",
			Egress: arm.MovesNoContent("a widget is metadata"),
			Handle: func(_ context.Context, q *arm.Request) (*arm.Response, error) {
				var in struct {
					Size int `json:"size"`
				}
				if err := q.Decode(&in); err != nil {
					return nil, err
				}
				return &arm.Response{Status: http.StatusCreated, Body: in, After: in}, nil
			}},
		{Method: "POST", Pattern: widget + "/copy", Versions: testVersions, Action: "Test.Provider/widgets/copy/action",
			Egress: arm.Moves(egress.ChannelImportSource),
			Handle: func(_ context.Context, q *arm.Request) (*arm.Response, error) {
				return nil, errors.New("a server fault with a secret in it")
			}},
		{Method: "GET", Pattern: "/anonymous/{tenant}/ping", Versions: arm.AnyAPIVersion(), Access: arm.Anonymous("the token service"),
			Egress: arm.MovesNoContent("answers a constant"),
			Handle: func(_ context.Context, q *arm.Request) (*arm.Response, error) {
				return arm.OK(map[string]string{"tenant": q.Value("tenant")}), nil
			}},
	}}
}

// The router authenticates, gates api-versions, canonicalises paths,
// authorizes the declared action at the route's scope and maps errors,
// and its hook sees every write with the caller, action and result.
func TestRouter(t *testing.T) {
	w := newRouterWorld(t, widgetTable())
	base := "/subscriptions/" + testSub + "/providers/Test.Provider/widgets/w1"
	if code, m := w.do(t, "GET", base+"?api-version=2024-01-01", ownerOID, ""); code != 200 || m["version"] != "2024-01-01" ||
		m["id"] != "/subscriptions/"+testSub+"/providers/Test.Provider/widgets/w1" {
		t.Fatalf("get: %d %v", code, m)
	}
	// Canonical casing and double slashes, answered by the router.
	if code, m := w.do(t, "GET", "/SUBSCRIPTIONS/"+testSub+"/providers/test.provider//WIDGETS/w1?api-version=2024-01-01", ownerOID, ""); code != 200 {
		t.Fatalf("canonical: %d %v", code, m)
	}
	for _, c := range []struct {
		method, path, who, body string
		status                  int
		code                    string
	}{
		{"GET", base + "?api-version=2024-01-01", "", "", 401, "AuthenticationFailed"},
		{"GET", base, ownerOID, "", 400, "MissingApiVersionParameter"},
		{"GET", base + "?api-version=1999-01-01", ownerOID, "", 400, "NoRegisteredProviderFound"},
		{"GET", "/subscriptions/" + testSub + "/providers/Test.Provider/gadgets/x?api-version=2024-01-01", ownerOID, "", 404, "InvalidResourceType"},
		{"GET", "/subscriptions/" + testSub + "/providers/Test.Provider/widgets/missing?api-version=2024-01-01", ownerOID, "", 404, "ResourceNotFound"},
		{"GET", "/subscriptions/nosuchsub/providers/Test.Provider/widgets/w1?api-version=2024-01-01", ownerOID, "", 404, "SubscriptionNotFound"},
		{"PUT", base + "?api-version=2024-01-01", readerOID, `{"size":1}`, 403, "AuthorizationFailed"},
		{"PUT", base + "?api-version=2024-01-01", ownerOID, `{"size":"big"}`, 400, "InvalidRequestContent"},
		{"PUT", base + "?api-version=2024-01-01", ownerOID, "", 400, "InvalidRequestContent"},
		{"PUT", base + "?api-version=2024-01-01", ownerOID, `{"size":1,"pad":"` + strings.Repeat("x", arm.MaxBody) + `"}`, 413, "RequestEntityTooLarge"},
		{"POST", base + "/copy?api-version=2024-01-01", ownerOID, "", 500, "InternalServerError"},
	} {
		code, m := w.do(t, c.method, c.path, c.who, c.body)
		if code != c.status || dig(m, "error", "code") != c.code {
			t.Errorf("%s %s as %q: %d %v, want %d %s", c.method, c.path, c.who, code, m, c.status, c.code)
		}
		if msg, _ := dig(m, "error", "message").(string); strings.Contains(msg, "secret") {
			t.Errorf("a server fault leaked its cause: %s", msg)
		}
	}
	if code, m := w.do(t, "PUT", base+"?api-version=2024-01-01", ownerOID, `{"size":3}`); code != 201 || m["size"] != 3.0 {
		t.Fatalf("put: %d %v", code, m)
	}
	if code, m := w.do(t, "GET", "/anonymous/t1/ping", "", ""); code != 200 || m["tenant"] != "t1" {
		t.Fatalf("anonymous: %d %v", code, m)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var ok, refused int
	for _, e := range w.writes {
		if e.Method == "GET" {
			t.Errorf("a read reached the write hook: %+v", e)
		}
		if e.Error == nil && e.Status == 201 && e.Action == "Test.Provider/widgets/write" && e.Caller.ObjectID == ownerOID &&
			strings.HasSuffix(e.ResourceID, "/widgets/w1") && e.After != nil {
			ok++
		}
		if e.Error != nil && e.Error.Code == "AuthorizationFailed" && e.Caller.ObjectID == readerOID {
			refused++
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("write hook saw %d successful and %d refused writes, want 1 and 1: %+v", ok, refused, w.writes)
	}
}

// A token of another tenant than the subscription's is refused before
// anything else, as ARM does (InvalidAuthenticationTokenTenant, with the
// authority to ask instead), even where the caller holds a role; an
// unknown subscription is still SubscriptionNotFound.
func TestRouterTenant(t *testing.T) {
	w := newRouterWorld(t, widgetTable())
	base := "/subscriptions/" + testSub + "/providers/Test.Provider/widgets/w1?api-version=2024-01-01"
	for _, who := range []string{ownerOID + "@t2", ownerOID + "@", readerOID + "@T2"} {
		req, _ := http.NewRequest("GET", w.srv.URL+base, nil)
		req.Header.Set("Authorization", "Bearer "+who)
		resp, err := w.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		msg, _ := dig(m, "error", "message").(string)
		if resp.StatusCode != 401 || dig(m, "error", "code") != "InvalidAuthenticationTokenTenant" || !strings.Contains(msg, "'t'") ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), `authorization_uri="`+w.srv.URL+`/t"`) {
			t.Errorf("%s: %d %v %v", who, resp.StatusCode, m, resp.Header)
		}
	}
	if code, m := w.do(t, "GET", "/subscriptions/nosuchsub/providers/Test.Provider/widgets/w1?api-version=2024-01-01", ownerOID+"@t2", ""); code != 404 ||
		dig(m, "error", "code") != "SubscriptionNotFound" {
		t.Errorf("unknown subscription: %d %v", code, m)
	}
	if code, m := w.do(t, "GET", base, ownerOID+"@t", ""); code != 200 {
		t.Errorf("own tenant: %d %v", code, m)
	}
}

// A route that declares no action, no egress, no api-version gate or no
// reason is refused when the router is built, and CheckRoutes says why.
func TestRoutesDefaultDeny(t *testing.T) {
	handle := func(context.Context, *arm.Request) (*arm.Response, error) { return nil, nil }
	for name, r := range map[string]arm.Route{
		"no action":        {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Egress: arm.MovesNoContent("r"), Handle: handle},
		"no egress":        {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Action: "a/read", Handle: handle},
		"no versions":      {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Action: "a/read", Egress: arm.MovesNoContent("r"), Handle: handle},
		"no reason":        {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Access: arm.AnyCaller(""), Egress: arm.MovesNoContent("r"), Handle: handle},
		"empty no-content": {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Action: "a/read", Egress: arm.MovesNoContent(" "), Handle: handle},
		"unknown channel":  {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Action: "a/read", Egress: arm.Moves("smuggle"), Handle: handle},
		"no handler":       {Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Action: "a/read", Egress: arm.MovesNoContent("r")},
		"bad method":       {Method: "BREW", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Action: "a/read", Egress: arm.MovesNoContent("r"), Handle: handle},
		"no scope":         {Method: "GET", Pattern: "/subscriptions", Versions: testVersions, Action: "a/read", Egress: arm.MovesNoContent("r"), Handle: handle},
	} {
		table := arm.Table{Name: "T", Routes: []arm.Route{r}}
		if err := arm.CheckRoutes(table); err == nil {
			t.Errorf("%s: CheckRoutes passed", name)
		}
		if _, err := arm.NewRouter(arm.RouterOptions{}, table); err == nil {
			t.Errorf("%s: NewRouter built it", name)
		}
	}
	ok := arm.Route{Method: "GET", Pattern: "/subscriptions/{sub}/x/{a}", Versions: testVersions, Action: "a/read", Egress: arm.MovesNoContent("r"), Handle: handle}
	if err := arm.CheckRoutes(arm.Table{Name: "T", Routes: []arm.Route{ok}}); err != nil {
		t.Fatalf("a fully declared route: %v", err)
	}
	if err := arm.CheckRoutes(arm.Table{Name: "T", Routes: []arm.Route{ok, ok}}); err == nil {
		t.Fatal("a route declared twice passed")
	}
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		mm, _ := cur.(map[string]any)
		cur = mm[k]
	}
	return cur
}

// An error that says when to come back carries Retry-After.
func TestRouterRetryAfter(t *testing.T) {
	w := newRouterWorld(t, widgetTable())
	req, _ := http.NewRequest("GET", w.srv.URL+"/subscriptions/"+testSub+"/providers/Test.Provider/widgets/busy?api-version=2024-01-01", nil)
	req.Header.Set("Authorization", "Bearer "+ownerOID)
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("%d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
