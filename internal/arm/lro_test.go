package arm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

// OperationTable serves recorded operations to any authenticated caller
// (this caller has no role at all) in any api-version: a status, and a
// result that is 204 for a success and the recorded error (400) for a
// failure. An unknown id is 404.
func TestOperationTable(t *testing.T) {
	routes := arm.OperationTable(nil, "Test.Provider")
	if len(routes) != 2 {
		t.Fatalf("%d routes", len(routes))
	}
	for _, r := range routes {
		if r.Method != "GET" || r.Versions.String() != "any" || !strings.HasPrefix(r.Access.String(), "any caller: ") || r.Egress.Channel() != "" {
			t.Errorf("%s %s: %s %s %s", r.Method, r.Pattern, r.Versions, r.Access, r.Egress)
		}
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	router, err := arm.NewRouter(arm.RouterOptions{Store: store, Authenticate: func(r *http.Request) (authz.Caller, error) {
		oid, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return authz.Caller{}, errdef.ErrUnauthenticated
		}
		return authz.Caller{ObjectID: oid}, nil
	}}, arm.Table{Name: "Test.Provider", Routes: arm.OperationTable(store, "Test.Provider")})
	if err != nil {
		t.Fatal(err)
	}
	w := &routerWorld{srv: httptest.NewServer(router)}
	t.Cleanup(w.srv.Close)
	var ok, failed string
	start := time.Now().UTC()
	failure := arm.Errorf(http.StatusConflict, "RegistryLocked", "locked").WithCause(errdef.ErrConflict)
	failure.Details = []*arm.Error{{Code: "Inner", Message: "inner"}}
	err = store.Update(t.Context(), func(tx meta.Tx) (err error) {
		if ok, err = arm.RecordOperation(tx, testSub, "Test.Provider", "westus", start, start, nil); err != nil {
			return err
		}
		failed, err = arm.RecordOperation(tx, testSub, "Test.Provider", "westus", start, start, failure)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	results := func(p string) string { return strings.Replace(p, "/operationStatuses/", "/operationResults/", 1) }
	if code, m := w.do(t, "GET", ok+"?api-version=whatever", readerOID, ""); code != 200 || m["status"] != "Succeeded" || m["id"] != ok {
		t.Fatalf("status: %d %v", code, m)
	}
	if code, _ := w.do(t, "GET", results(ok), readerOID, ""); code != 204 {
		t.Fatalf("result: %d", code)
	}
	if code, m := w.do(t, "GET", failed, readerOID, ""); code != 200 || m["status"] != "Failed" || dig(m, "error", "code") != "RegistryLocked" {
		t.Fatalf("failed status: %d %v", code, m)
	}
	code, m := w.do(t, "GET", results(failed), readerOID, "")
	details, _ := dig(m, "error", "details").([]any)
	if code != 400 || dig(m, "error", "code") != "RegistryLocked" || dig(m, "error", "message") != "locked" || len(details) != 1 {
		t.Fatalf("failed result: %d %v", code, m)
	}
	missing := "/subscriptions/" + testSub + "/providers/Test.Provider/locations/westus/operationStatuses/nope"
	for _, p := range []string{missing, results(missing)} {
		if code, m := w.do(t, "GET", p, readerOID, ""); code != 404 || dig(m, "error", "code") != "OperationNotFound" {
			t.Errorf("%s: %d %v", p, code, m)
		}
	}
	if code, m := w.do(t, "GET", ok, "", ""); code != 401 || dig(m, "error", "code") != "AuthenticationFailed" {
		t.Fatalf("anonymous poll: %d %v", code, m)
	}
}

// A table that writes its own error envelope owns the answer's headers:
// the router adds no Bearer challenge to its 401s, and still does to the
// ARM envelope's.
func TestOwnEnvelopeNoChallenge(t *testing.T) {
	own := arm.Table{Name: "Own", WriteError: func(w http.ResponseWriter, err error) int {
		w.WriteHeader(http.StatusUnauthorized)
		return http.StatusUnauthorized
	}, Routes: []arm.Route{{Method: "POST", Pattern: "/{tenant}/token", Versions: arm.AnyAPIVersion(), Access: arm.Anonymous("the token service"),
		Egress: arm.MovesNoContent("issues tokens"), Handle: func(ctx context.Context, q *arm.Request) (*arm.Response, error) {
			return nil, errdef.ErrUnauthenticated
		}}}}
	w := newRouterWorld(t, own)
	resp, err := w.srv.Client().Post(w.srv.URL+"/t/token", "application/x-www-form-urlencoded", strings.NewReader("a=b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("own envelope: %d %v", resp.StatusCode, resp.Header)
	}
	w = newRouterWorld(t, widgetTable())
	req, _ := http.NewRequest("GET", w.srv.URL+"/subscriptions/"+testSub+"/providers/Test.Provider/widgets/w1?api-version=2024-01-01", nil)
	resp, err = w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("ARM envelope: %d %v", resp.StatusCode, resp.Header)
	}
}

// An operation with a result (a what-if) answers its Location poll 200
// with that result, to the caller that started it only; its status poll
// shows neither the result nor its owner.
func TestOperationResult(t *testing.T) {
	w := newRouterWorld(t, arm.Table{Name: "empty"}) // for its store and roles
	router, err := arm.NewRouter(arm.RouterOptions{Store: w.store, Authenticate: func(r *http.Request) (authz.Caller, error) {
		oid, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return authz.Caller{ObjectID: oid, TenantID: "t"}, nil
	}}, arm.Table{Name: "Test.Provider", Routes: arm.OperationTable(w.store, "Test.Provider")})
	if err != nil {
		t.Fatal(err)
	}
	srv := &routerWorld{srv: httptest.NewServer(router)}
	t.Cleanup(srv.srv.Close)
	var path string
	now := time.Now().UTC()
	err = w.store.Update(t.Context(), func(tx meta.Tx) (err error) {
		path, err = arm.RecordOperationResult(tx, testSub, "Test.Provider", "westus", now, now, ownerOID, map[string]any{"status": "Succeeded", "properties": map[string]any{"changes": []any{}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	results := strings.Replace(path, "/operationStatuses/", "/operationResults/", 1)
	if code, m := srv.do(t, "GET", results, ownerOID, ""); code != 200 || m["status"] != "Succeeded" || dig(m, "properties", "changes") == nil {
		t.Fatalf("result for its owner: %d %v", code, m)
	}
	if code, m := srv.do(t, "GET", results, readerOID, ""); code != 404 || dig(m, "error", "code") != "OperationNotFound" {
		t.Fatalf("result for another caller: %d %v", code, m)
	}
	code, m := srv.do(t, "GET", path, readerOID, "")
	if _, leaked := m["result"]; code != 200 || m["status"] != "Succeeded" || leaked || m["owner"] != nil {
		t.Fatalf("status: %d %v", code, m)
	}
	err = w.store.Update(t.Context(), func(tx meta.Tx) error {
		_, err := arm.RecordOperationResult(tx, testSub, "Test.Provider", "westus", now, now, "", nil)
		return err
	})
	if err == nil {
		t.Fatal("a result without an owner was recorded")
	}
}
