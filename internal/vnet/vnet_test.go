package vnet_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/vnet"
)

// The table as built: every route with the Azure action it checks, how,
// and that none moves content. A route added without a row here fails.
func TestTable(t *testing.T) {
	table := vnet.New(vnet.Options{}).Table()
	if err := arm.CheckRoutes(table); err != nil {
		t.Fatal(err)
	}
	const rg = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
	const ops = "/subscriptions/{sub}/providers/Microsoft.Network/locations/{location}/"
	want := map[string]string{
		"GET " + rg + "/virtualNetworks":                         "Microsoft.Network/virtualNetworks/read at scope",
		"GET " + rg + "/virtualNetworks/{name}":                  "Microsoft.Network/virtualNetworks/read at scope",
		"PUT " + rg + "/virtualNetworks/{name}":                  "Microsoft.Network/virtualNetworks/write at scope",
		"DELETE " + rg + "/virtualNetworks/{name}":               "Microsoft.Network/virtualNetworks/delete at scope",
		"GET " + rg + "/virtualNetworks/{name}/subnets":          "Microsoft.Network/virtualNetworks/subnets/read at scope",
		"GET " + rg + "/virtualNetworks/{name}/subnets/{subnet}": "Microsoft.Network/virtualNetworks/subnets/read at scope",
		"GET " + rg + "/privateEndpoints":                        "Microsoft.Network/privateEndpoints/read at scope",
		"GET " + rg + "/privateEndpoints/{name}":                 "Microsoft.Network/privateEndpoints/read at scope",
		"PUT " + rg + "/privateEndpoints/{name}":                 "Microsoft.Network/privateEndpoints/write at scope",
		"DELETE " + rg + "/privateEndpoints/{name}":              "Microsoft.Network/privateEndpoints/delete at scope",
		"GET /subscriptions/{sub}/providers/Microsoft.Network":   " any caller",
		"GET " + ops + "operationStatuses/{id}":                  " any caller",
		"GET " + ops + "operationResults/{id}":                   " any caller",
	}
	if len(table.Routes) != len(want) {
		t.Errorf("%d routes, want %d", len(table.Routes), len(want))
	}
	for _, r := range table.Routes {
		key := r.Method + " " + r.Pattern
		got := r.Action + " " + r.Access.String()
		w, ok := want[key]
		if !ok {
			t.Errorf("undeclared route %s", key)
			continue
		}
		if !strings.HasPrefix(got, w) {
			t.Errorf("%s: %q, want %q", key, got, w)
		}
		if r.Egress.Channel() != "" || !strings.HasPrefix(r.Egress.String(), "no content: ") {
			t.Errorf("%s moves content: %s", key, r.Egress)
		}
	}
}

// A virtual network's life: create (201 with an async operation that has
// succeeded), read, list, subnets, replace (200), a refused move, delete
// (202 with a Location that answers 204), delete again (204). The write
// hook sees each write with its documents.
func TestVirtualNetworkLifecycle(t *testing.T) {
	w := newWorld(t)
	r := w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("a=10.0.1.0/24", "b=10.0.2.0/24")).expect(t, http.StatusCreated, "")
	if dig(r.body, "properties", "provisioningState") != "Succeeded" || r.body["id"] != vnetPath("corp") ||
		r.body["type"] != "Microsoft.Network/virtualNetworks" || r.body["location"] != "westus" {
		t.Fatalf("created: %s", r.raw)
	}
	async := r.header.Get("Azure-AsyncOperation")
	if !strings.Contains(async, "/providers/Microsoft.Network/locations/westus/operationStatuses/") || !strings.Contains(async, "api-version=2023-09-01") {
		t.Fatalf("Azure-AsyncOperation %q", async)
	}
	if op := w.do(reader, "GET", pathOf(t, async), "").expect(t, 200, ""); op.body["status"] != "Succeeded" {
		t.Fatalf("operation: %s", op.raw)
	}

	w.do(reader, "GET", vnetPath("corp")+nv, "").expect(t, 200, "")
	// Any casing of the literal segments, as az and the SDKs send them.
	w.do(reader, "GET", strings.Replace(vnetPath("corp"), "Microsoft.Network/virtualNetworks", "microsoft.network/VIRTUALNETWORKS", 1)+nv, "").expect(t, 200, "")
	if l := w.do(reader, "GET", netPath+"/virtualNetworks"+nv, "").expect(t, 200, ""); len(l.body["value"].([]any)) != 1 {
		t.Fatalf("list: %s", l.raw)
	}
	if l := w.do(reader, "GET", vnetPath("corp")+"/subnets"+nv, "").expect(t, 200, ""); len(l.body["value"].([]any)) != 2 {
		t.Fatalf("subnets: %s", l.raw)
	}
	s := w.do(reader, "GET", vnetPath("corp")+"/subnets/B"+nv, "").expect(t, 200, "")
	if s.body["id"] != vnetPath("corp")+"/subnets/b" || dig(s.body, "properties", "addressPrefix") != "10.0.2.0/24" {
		t.Fatalf("subnet: %s", s.raw)
	}
	w.do(reader, "GET", vnetPath("corp")+"/subnets/zz"+nv, "").expect(t, 404, "ResourceNotFound")

	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("a=10.0.1.0/24")).expect(t, http.StatusOK, "")
	w.do(owner, "PUT", vnetPath("corp")+nv, strings.Replace(vnetBody(), "westus", "eastus", 1)).expect(t, 400, "InvalidResourceLocation")

	d := w.do(owner, "DELETE", vnetPath("corp")+nv, "").expect(t, http.StatusAccepted, "")
	loc := d.header.Get("Location")
	if !strings.Contains(loc, "/operationResults/") {
		t.Fatalf("Location %q", loc)
	}
	w.do(owner, "GET", pathOf(t, loc), "").expect(t, http.StatusNoContent, "")
	w.do(owner, "DELETE", vnetPath("corp")+nv, "").expect(t, http.StatusNoContent, "")
	w.do(owner, "GET", vnetPath("corp")+nv, "").expect(t, 404, "ResourceNotFound")

	var created, replaced, deleted, refused int
	for _, e := range w.writeEvents() {
		switch {
		case e.Error != nil:
			refused++
		case e.Method == "PUT" && e.Status == 201 && e.Before == nil && e.After != nil && e.Action == "Microsoft.Network/virtualNetworks/write":
			created++
		case e.Method == "PUT" && e.Status == 200 && e.Before != nil && e.After != nil:
			replaced++
		case e.Method == "DELETE" && e.Status == 202 && e.Before != nil && e.After == nil && e.ResourceID == vnetPath("corp"):
			deleted++
		}
	}
	if created != 1 || replaced != 1 || deleted != 1 || refused != 1 {
		t.Fatalf("write hook: %d created, %d replaced, %d deleted, %d refused", created, replaced, deleted, refused)
	}
}

// Roles decide: a Reader reads but cannot write, a caller without a role
// reads nothing, and the provider metadata answers every caller.
func TestAccess(t *testing.T) {
	w := newWorld(t)
	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("a=10.0.1.0/24")).expect(t, 201, "")
	w.do(reader, "PUT", vnetPath("corp")+nv, vnetBody("a=10.0.1.0/24")).expect(t, 403, "AuthorizationFailed")
	w.do(reader, "DELETE", vnetPath("corp")+nv, "").expect(t, 403, "AuthorizationFailed")
	w.do(reader, "PUT", pePath("pe")+nv, peBody("a", premReg, "privateLinkServiceConnections")).expect(t, 403, "AuthorizationFailed")
	for _, p := range []string{netPath + "/virtualNetworks", vnetPath("corp"), vnetPath("corp") + "/subnets", vnetPath("corp") + "/subnets/a",
		netPath + "/privateEndpoints", pePath("pe")} {
		w.do(nobody, "GET", p+nv, "").expect(t, 403, "AuthorizationFailed")
	}
	m := w.do(nobody, "GET", "/subscriptions/"+sub+"/providers/Microsoft.Network?api-version=2022-09-01", "").expect(t, 200, "")
	if m.body["namespace"] != "Microsoft.Network" || m.body["registrationState"] != "Registered" || len(m.body["resourceTypes"].([]any)) != 4 {
		t.Fatalf("provider metadata: %s", m.raw)
	}
	w.do("", "GET", "/subscriptions/"+sub+"/providers/Microsoft.Network", "").expect(t, 401, "AuthenticationFailed")
}
