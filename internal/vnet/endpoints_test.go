package vnet_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// connState is the connection state of the one connection in list.
func connState(r resp, list string) any {
	conns, _ := dig(r.body, "properties", list).([]any)
	if len(conns) != 1 {
		return nil
	}
	return dig(conns[0], "properties", "privateLinkServiceConnectionState", "status")
}

// A private endpoint's life: created Approved by a caller who may approve
// (Pending when manual), seen from the registry's side, keeping the
// subnet it is in from going away or changing, and taking its connection
// with it when deleted.
func TestPrivateEndpointLifecycle(t *testing.T) {
	w := newWorld(t)
	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("inside=10.0.1.0/24", "other=10.0.2.0/24")).expect(t, 201, "")

	r := w.do(owner, "PUT", pePath("pe1")+nv, peBody("inside", premReg, "privateLinkServiceConnections")).expect(t, http.StatusCreated, "")
	if connState(r, "privateLinkServiceConnections") != "Approved" || r.header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("created: %s", r.raw)
	}
	if conns := w.registryConnections("premreg"); len(conns) != 1 || conns[0].PrivateEndpointID != pePath("pe1") {
		t.Fatalf("registry connections: %v", conns)
	}
	m := w.do(owner, "PUT", pePath("pe2")+nv, peBody("other", premReg, "manualPrivateLinkServiceConnections")).expect(t, http.StatusCreated, "")
	if connState(m, "manualPrivateLinkServiceConnections") != "Pending" {
		t.Fatalf("manual: %s", m.raw)
	}
	if g := w.do(reader, "GET", pePath("pe1")+nv, "").expect(t, 200, ""); connState(g, "privateLinkServiceConnections") != "Approved" {
		t.Fatalf("get: %s", g.raw)
	}
	if l := w.do(reader, "GET", netPath+"/privateEndpoints"+nv, "").expect(t, 200, ""); len(l.body["value"].([]any)) != 2 {
		t.Fatalf("list: %s", l.raw)
	}
	// An update keeps the registry's decision; subnet and target are fixed.
	w.do(owner, "PUT", pePath("pe1")+nv, peBody("inside", premReg, "privateLinkServiceConnections")).expect(t, http.StatusOK, "")
	w.do(owner, "PUT", pePath("pe1")+nv, peBody("other", premReg, "privateLinkServiceConnections")).expect(t, 400, "PrivateEndpointCannotBeUpdated")

	// The subnets in use stay as they are.
	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("other=10.0.2.0/24")).expect(t, 400, "InUseSubnetCannotBeDeleted")
	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("inside=10.0.1.0/25", "other=10.0.2.0/24")).expect(t, 400, "InUseSubnetCannotBeUpdated")
	w.do(owner, "DELETE", vnetPath("corp")+nv, "").expect(t, 400, "InUseSubnetCannotBeDeleted")

	d := w.do(owner, "DELETE", pePath("pe1")+nv, "").expect(t, http.StatusAccepted, "")
	if !strings.Contains(d.header.Get("Location"), "/operationResults/") {
		t.Fatalf("Location %q", d.header.Get("Location"))
	}
	w.do(owner, "DELETE", pePath("pe1")+nv, "").expect(t, http.StatusNoContent, "")
	w.do(owner, "DELETE", pePath("pe2")+nv, "").expect(t, http.StatusAccepted, "")
	if conns := w.registryConnections("premreg"); len(conns) != 0 {
		t.Fatalf("registry connections after delete: %v", conns)
	}
	w.do(owner, "DELETE", vnetPath("corp")+nv, "").expect(t, http.StatusAccepted, "")

	var before int
	for _, e := range w.writeEvents() {
		if e.Method == "DELETE" && e.Status == 202 && e.Before != nil && strings.Contains(e.ResourceID, "/privateEndpoints/") {
			before++
		}
	}
	if before != 2 {
		t.Fatalf("write hook saw %d endpoint deletes with their documents, want 2", before)
	}
}

// A connection the registry no longer has reads as Disconnected.
func TestEndpointDisconnected(t *testing.T) {
	w := newWorld(t)
	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("inside=10.0.1.0/24")).expect(t, 201, "")
	w.do(owner, "PUT", pePath("pe1")+nv, peBody("inside", premReg, "privateLinkServiceConnections")).expect(t, 201, "")
	err := w.store.Update(context.Background(), func(tx meta.Tx) error { return tx.DeleteRegistry("k1") })
	if err != nil {
		t.Fatal(err)
	}
	if g := w.do(owner, "GET", pePath("pe1")+nv, "").expect(t, 200, ""); connState(g, "privateLinkServiceConnections") != "Disconnected" {
		t.Fatalf("get: %s", g.raw)
	}
}
