package arm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// gadgetTable is a provider whose PUT writes its document (and an
// operation record) in one transaction and previews itself by running on
// arm.PreviewStore; its DELETE offers no preview.
func gadgetTable(store meta.Store, deletes *int) arm.Table {
	const gadget = "/subscriptions/{sub}/providers/Test.Provider/gadgets/{name}"
	versions := arm.APIVersions("Test.Provider/gadgets", "2024-01-01")
	put := func(store meta.Store) arm.Handler {
		return func(ctx context.Context, q *arm.Request) (*arm.Response, error) {
			var in map[string]any
			if err := q.Decode(&in); err != nil {
				return nil, err
			}
			if in["color"] == "plaid" {
				return nil, arm.Errorf(http.StatusBadRequest, "NoPlaid", "gadgets are never plaid").WithCause(errdef.ErrInvalidArgument)
			}
			status, doc := http.StatusCreated, map[string]any{}
			err := store.Update(ctx, func(tx meta.Tx) error {
				if old, err := tx.GetResource(q.ID.String()); err == nil {
					status = http.StatusOK
					json.Unmarshal(old.Document, &doc)
				} else if !errors.Is(err, errdef.ErrNotFound) {
					return err
				}
				doc["id"], doc["color"] = q.ID.String(), in["color"]
				b, _ := json.Marshal(doc)
				now := time.Now().UTC()
				if _, err := arm.RecordOperation(tx, q.ID.Subscription, "Test.Provider", "westus", now, now, nil); err != nil {
					return err
				}
				return tx.PutResource(meta.Resource{ID: q.ID.String(), Type: "Test.Provider/gadgets", Document: b, CreatedAt: now, UpdatedAt: now})
			})
			if err != nil {
				return nil, err
			}
			return &arm.Response{Status: status, Body: doc, After: doc}, nil
		}
	}
	return arm.Table{Name: "Test.Provider", Routes: []arm.Route{
		{Method: "PUT", Pattern: gadget, Versions: versions, Action: "Test.Provider/gadgets/write", Egress: arm.MovesNoContent("a gadget is metadata"),
			Handle: put(store), Preview: put(arm.PreviewStore(store))},
		{Method: "DELETE", Pattern: gadget, Versions: versions, Action: "Test.Provider/gadgets/delete", Egress: arm.MovesNoContent("a gadget is metadata"),
			Handle: func(context.Context, *arm.Request) (*arm.Response, error) {
				*deletes++
				return &arm.Response{Status: http.StatusNoContent}, nil
			}},
	}}
}

// A preview answers as the route's handler would (status, body, errors,
// authorization of the route's own action) and writes nothing: no
// document, no operation record, no write event. A route without a
// preview is reported as such and its handler never runs.
func TestPreview(t *testing.T) {
	var deletes, writes int
	w := newRouterWorld(t, arm.Table{Name: "empty"}) // for its store and roles
	router, err := arm.NewRouter(arm.RouterOptions{Store: w.store, Authenticate: func(*http.Request) (authz.Caller, error) {
		return authz.Caller{}, errdef.ErrUnauthenticated
	}, OnWrite: func(context.Context, arm.WriteEvent) { writes++ }}, gadgetTable(w.store, &deletes))
	if err != nil {
		t.Fatal(err)
	}
	path := "/subscriptions/" + testSub + "/providers/Test.Provider/gadgets/g1?api-version=2024-01-01"
	base := httptest.NewRequest(http.MethodPost, "https://bulkhead.test/", nil)
	as := func(oid string) context.Context {
		return authz.WithPrincipal(t.Context(), authz.Caller{ObjectID: oid, ClientID: "app", TenantID: "t"})
	}
	count := func() int {
		var n int
		err := w.store.View(t.Context(), func(tx meta.Tx) error {
			all, err := tx.ListResources("/subscriptions/"+testSub+"/providers/Test.Provider", "", meta.Page{})
			n = len(all)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	res, ok := router.Preview(as(ownerOID), base, arm.Call{Method: "PUT", Path: path, Body: []byte(`{"color":"red"}`)})
	if !ok || res.Status != http.StatusCreated || !strings.Contains(string(res.Body), `"color":"red"`) {
		t.Fatalf("preview of a create: %v %d %s", ok, res.Status, res.Body)
	}
	if n := count(); n != before {
		t.Fatalf("a preview wrote %d resources", n-before)
	}
	res, ok = router.Preview(as(ownerOID), base, arm.Call{Method: "PUT", Path: path, Body: []byte(`{"color":"plaid"}`)})
	if !ok || res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "NoPlaid") {
		t.Fatalf("preview of a refused write: %v %d %s", ok, res.Status, res.Body)
	}
	res, ok = router.Preview(as(readerOID), base, arm.Call{Method: "PUT", Path: path, Body: []byte(`{"color":"red"}`)})
	if !ok || res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), "AuthorizationFailed") {
		t.Fatalf("preview by a reader: %v %d %s", ok, res.Status, res.Body)
	}
	if res, ok = router.Preview(as(ownerOID), base, arm.Call{Method: "DELETE", Path: path}); ok || res.Status != 0 || deletes != 0 {
		t.Fatalf("preview of a route without one: %v %d, handler ran %d times", ok, res.Status, deletes)
	}
	res, ok = router.Preview(as(ownerOID), base, arm.Call{Method: "PUT", Path: "/subscriptions/" + testSub + "/providers/Test.Provider/nothings/x?api-version=1"})
	if !ok || res.Status != http.StatusNotFound {
		t.Fatalf("preview of no route: %v %d %s", ok, res.Status, res.Body)
	}

	if writes != 0 {
		t.Fatalf("previews reached the write hook %d times", writes)
	}
	// The same write for real is written, and a preview now sees it.
	if res := router.Call(as(ownerOID), base, arm.Call{Method: "PUT", Path: path, Body: []byte(`{"color":"red"}`)}); res.Status != http.StatusCreated {
		t.Fatalf("write: %d %s", res.Status, res.Body)
	}
	if n := count(); n != before+2 || writes != 1 {
		t.Fatalf("the write made %d resources, want a gadget and an operation", n-before)
	}
	res, ok = router.Preview(as(ownerOID), base, arm.Call{Method: "PUT", Path: path, Body: []byte(`{"color":"blue"}`)})
	if !ok || res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"color":"blue"`) || count() != before+2 {
		t.Fatalf("preview of a replace: %v %d %s", ok, res.Status, res.Body)
	}
}

// PreviewStore returns fn's own error, and rolls back a success.
func TestPreviewStore(t *testing.T) {
	w := newRouterWorld(t, arm.Table{Name: "empty"})
	dry := arm.PreviewStore(w.store)
	put := func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: "/subscriptions/" + testSub + "/x", Type: "T/x", Document: []byte(`{}`)})
	}
	if err := dry.Update(t.Context(), put); err != nil {
		t.Fatalf("a previewed success: %v", err)
	}
	boom := errors.New("boom")
	if err := dry.Update(t.Context(), func(tx meta.Tx) error { put(tx); return boom }); !errors.Is(err, boom) {
		t.Fatalf("a previewed failure: %v", err)
	}
	err := w.store.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.GetResource("/subscriptions/" + testSub + "/x")
		return err
	})
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("a previewed write was committed: %v", err)
	}
	if err := dry.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.store.View(t.Context(), func(meta.Tx) error { return nil }); err != nil {
		t.Fatalf("closing the preview closed the store: %v", err)
	}
}
