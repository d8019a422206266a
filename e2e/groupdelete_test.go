package e2e

import (
	"net/http"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// Deleting the resource group that holds a registry's virtual network and
// private endpoint closes the registry to that network at once: the
// connection leaves the registry and its subnet stops being private.
func TestGroupDeletionClosesPrivateAccess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "regs", "keptreg", "Premium")
	arm := newARM(t, srv)
	sub := "/subscriptions/" + srv.Boot.SubscriptionID
	if code, m := arm.do("PUT", sub+"/resourceGroups/nets?api-version=2024-03-01", `{"location":"westus"}`); code != 201 {
		t.Fatalf("group: %d %v", code, m)
	}
	regID := sub + "/resourceGroups/regs/providers/Microsoft.ContainerRegistry/registries/keptreg"
	nets := sub + "/resourceGroups/nets/providers/Microsoft.Network"
	const nv = "?api-version=2023-09-01"
	if _, err := newPusher(srv).pushImage("keptreg/app", "v1", []byte("layer")); err != nil {
		t.Fatal(err)
	}
	if code, m := arm.do("PUT", nets+"/virtualNetworks/corp"+nv, `{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["127.0.0.0/8"]},
		"subnets":[{"name":"inside","properties":{"addressPrefix":"127.0.10.0/24"}}]}}`); code != 201 {
		t.Fatalf("vnet: %d %v", code, m)
	}
	if code, m := arm.do("PUT", nets+"/privateEndpoints/pe1"+nv, `{"location":"westus","properties":{"subnet":{"id":"`+nets+`/virtualNetworks/corp/subnets/inside"},
		"privateLinkServiceConnections":[{"name":"c1","properties":{"privateLinkServiceId":"`+regID+`","groupIds":["registry"]}}]}}`); code != 201 {
		t.Fatalf("private endpoint: %d %v", code, m)
	}
	if code, m := arm.do("PATCH", regID+"?api-version=2025-11-01", `{"properties":{"publicNetworkAccess":"Disabled"}}`); code != 200 {
		t.Fatalf("disable public access: %d %v", code, m)
	}
	pull := func(ip string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/v2/keptreg/app/manifests/v1", nil)
		req.SetBasicAuth(srv.Boot.ClientID, srv.Boot.ClientSecret)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := from(srv, ip).client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := pull("127.0.10.5"); c != 200 {
		t.Fatalf("inside the endpoint's subnet: %d", c)
	}
	if code, _ := arm.do("DELETE", sub+"/resourceGroups/nets?api-version=2024-03-01", ""); code != 200 {
		t.Fatalf("delete group: %d", code)
	}
	if c := pull("127.0.10.5"); c != 403 {
		t.Fatalf("after its network's group is gone, the old subnet still gets in: %d", c)
	}
	code, m := arm.do("GET", regID+"/privateEndpointConnections?api-version=2025-11-01", "")
	if conns, _ := m["value"].([]any); code != 200 || len(conns) != 0 {
		t.Fatalf("connections after the endpoint's group is gone: %d %v", code, m)
	}
}
