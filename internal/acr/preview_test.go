package acr_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// A preview of a registry PUT answers what the PUT would write (defaults
// filled, read-only properties kept, the sticky lock held) or the error
// it would give, and writes nothing: not the registry, not an operation
// record.
func TestPreviewRegistry(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "preview")
	path := regPath(sub, "preview", "previewed1")
	w.do("PUT", path+regVersion, `{"location":"westus","sku":{"name":"Premium"},"properties":{"adminUserEnabled":true}}`).expect(t, http.StatusCreated, "")
	w.do("PATCH", path+regVersion, `{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`).expect(t, http.StatusOK, "")
	stored := w.do("GET", path+regVersion, "").expect(t, http.StatusOK, "")

	p := acr.New(acr.Options{Meta: w.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	router, err := arm.NewRouter(arm.RouterOptions{Store: w.store, Authenticate: func(*http.Request) (authz.Caller, error) {
		return authz.Caller{}, nil
	}}, p.Table())
	if err != nil {
		t.Fatal(err)
	}
	ctx := authz.WithPrincipal(context.Background(), authz.Caller{ObjectID: owner, ClientID: "app-a", TenantID: tenant, Kind: "ServicePrincipal"})
	base := httptest.NewRequest(http.MethodPost, w.srv.URL, nil)
	base.Host = strings.TrimPrefix(w.srv.URL, "http://")
	rows := func() int {
		var n int
		err := w.store.View(ctx, func(tx meta.Tx) error {
			all, err := tx.ListResources("/subscriptions/"+sub, "", meta.Page{})
			n = len(all)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := rows()
	preview := func(path, body string) (int, map[string]any) {
		t.Helper()
		res, ok := router.Preview(ctx, base, arm.Call{Method: "PUT", Path: path + regVersion, Body: []byte(body)})
		if !ok {
			t.Fatal("the registry PUT offers no preview")
		}
		var m map[string]any
		json.Unmarshal(res.Body, &m)
		return res.Status, m
	}

	// The template as first written leaves the policy out: still locked,
	// admin user back to its default, read-only properties as they are.
	code, after := preview(path, `{"location":"westus","sku":{"name":"Premium"}}`)
	if code != http.StatusOK || dig(after, "properties", "policies", "exportPolicy", "status") != "disabled" ||
		dig(after, "properties", "publicNetworkAccess") != "Disabled" || dig(after, "properties", "adminUserEnabled") != false ||
		dig(after, "properties", "creationDate") != dig(stored.body, "properties", "creationDate") ||
		dig(after, "properties", "loginServer") != dig(stored.body, "properties", "loginServer") {
		t.Fatalf("preview of a PUT that leaves the lock out: %d %v", code, after)
	}
	code, refused := preview(path, `{"location":"westus","sku":{"name":"Premium"},"properties":{"publicNetworkAccess":"Enabled"}}`)
	if code != http.StatusBadRequest || !strings.Contains(dig(refused, "error", "message").(string), "exports disabled") {
		t.Fatalf("preview of a refused PUT: %d %v", code, refused)
	}
	code, created := preview(regPath(sub, "preview", "previewed2"), `{"location":"westus","sku":{"name":"Basic"}}`)
	if code != http.StatusCreated || dig(created, "properties", "policies", "exportPolicy", "status") != "enabled" || dig(created, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("preview of a create: %d %v", code, created)
	}

	if n := rows(); n != before {
		t.Fatalf("previews wrote %d resources", n-before)
	}
	w.do("GET", regPath(sub, "preview", "previewed2")+regVersion, "").expect(t, http.StatusNotFound, "")
	now := w.do("GET", path+regVersion, "").expect(t, http.StatusOK, "")
	if now.raw != stored.raw {
		t.Fatalf("a preview changed the registry:\n%s\n%s", stored.raw, now.raw)
	}
}
