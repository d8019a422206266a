package vnet_test

import (
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/vnet"
)

// Every route answers bad input with a 4xx in the ARM envelope, never a
// 5xx (w.do fails on those and on a missing envelope). Each case names
// the route it exercises, and every route of the table must have one.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	w.do(owner, "PUT", vnetPath("corp")+nv, vnetBody("inside=10.0.1.0/24")).expect(t, 201, "")

	const (
		rg       = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
		vnets    = "GET " + rg + "/virtualNetworks"
		getVNet  = "GET " + rg + "/virtualNetworks/{name}"
		putVNet  = "PUT " + rg + "/virtualNetworks/{name}"
		delVNet  = "DELETE " + rg + "/virtualNetworks/{name}"
		subnets  = "GET " + rg + "/virtualNetworks/{name}/subnets"
		subnet   = "GET " + rg + "/virtualNetworks/{name}/subnets/{subnet}"
		pes      = "GET " + rg + "/privateEndpoints"
		getPE    = "GET " + rg + "/privateEndpoints/{name}"
		putPE    = "PUT " + rg + "/privateEndpoints/{name}"
		delPE    = "DELETE " + rg + "/privateEndpoints/{name}"
		provider = "GET /subscriptions/{sub}/providers/Microsoft.Network"
		opStatus = "GET /subscriptions/{sub}/providers/Microsoft.Network/locations/{location}/operationStatuses/{id}"
		opResult = "GET /subscriptions/{sub}/providers/Microsoft.Network/locations/{location}/operationResults/{id}"
	)
	otherRG := "/subscriptions/" + sub + "/resourceGroups/nope/providers/Microsoft.Network"
	withSpace := func(space, subnets string) string {
		return `{"location":"westus","properties":{"addressSpace":{"addressPrefixes":[` + space + `]},"subnets":[` + subnets + `]}}`
	}
	sn := func(name, prefix string) string {
		return `{"name":"` + name + `","properties":{"addressPrefix":"` + prefix + `"}}`
	}
	pe := func(props string) string { return `{"location":"westus","properties":` + props + `}` }
	conn := func(target, groups string) string {
		return `{"name":"c","properties":{"privateLinkServiceId":"` + target + `","groupIds":` + groups + `}}`
	}
	subnetRef := `{"id":"` + vnetPath("corp") + `/subnets/inside"}`
	ops := "/subscriptions/" + sub + "/providers/Microsoft.Network/locations/westus/"

	cases := []struct {
		route, method, path, body string
		status                    int
		code                      string
	}{
		{vnets, "GET", netPath + "/virtualNetworks", "", 400, "MissingApiVersionParameter"},
		{vnets, "GET", netPath + "/virtualNetworks?api-version=1999-01-01", "", 400, "NoRegisteredProviderFound"},
		{vnets, "GET", otherRG + "/virtualNetworks" + nv, "", 404, "ResourceGroupNotFound"},
		{getVNet, "GET", vnetPath("nope") + nv, "", 404, "ResourceNotFound"},
		{getVNet, "GET", vnetPath("corp") + "?api-version=2019-01-01", "", 400, "NoRegisteredProviderFound"},
		{putVNet, "PUT", vnetPath("-bad") + nv, vnetBody(), 400, "InvalidResourceName"},
		{putVNet, "PUT", vnetPath(strings.Repeat("n", 81)) + nv, vnetBody(), 400, "InvalidResourceName"},
		{putVNet, "PUT", vnetPath("v") + nv, "", 400, "InvalidRequestContent"},
		{putVNet, "PUT", vnetPath("v") + nv, "{", 400, "InvalidRequestContent"},
		{putVNet, "PUT", vnetPath("v") + nv, `{"location":5}`, 400, "InvalidRequestContent"},
		{putVNet, "PUT", vnetPath("v") + nv, `{"location":"westus","pad":"` + strings.Repeat("x", arm.MaxBody) + `"}`, 413, "RequestEntityTooLarge"},
		{putVNet, "PUT", vnetPath("v") + nv, `{"properties":{}}`, 400, "LocationRequired"},
		{putVNet, "PUT", vnetPath("v") + nv, `{"location":"westus","properties":{}}`, 400, "InvalidAddressSpace"},
		{putVNet, "PUT", vnetPath("v") + nv, withSpace(`"10.0.0.0/33"`, ""), 400, "InvalidAddressPrefixFormat"},
		{putVNet, "PUT", vnetPath("v") + nv, withSpace(`"10.0.0.0/16"`, sn("a", "x")), 400, "InvalidAddressPrefixFormat"},
		{putVNet, "PUT", vnetPath("v") + nv, withSpace(`"10.0.0.0/16"`, sn("a", "10.1.0.0/24")), 400, "NetcfgSubnetRangeOutsideVnet"},
		{putVNet, "PUT", vnetPath("v") + nv, withSpace(`"10.0.0.0/16"`, sn("a", "10.0.0.0/24")+","+sn("b", "10.0.0.128/25")), 400, "NetcfgSubnetRangesOverlap"},
		{putVNet, "PUT", vnetPath("v") + nv, withSpace(`"10.0.0.0/16"`, sn("a", "10.0.0.0/24")+","+sn("A", "10.0.1.0/24")), 400, "DuplicateResourceName"},
		{putVNet, "PUT", vnetPath("v") + nv, withSpace(`"10.0.0.0/16"`, sn("a b", "10.0.0.0/24")), 400, "InvalidResourceName"},
		{putVNet, "PUT", otherRG + "/virtualNetworks/v" + nv, vnetBody(), 404, "ResourceGroupNotFound"},
		{delVNet, "DELETE", vnetPath("corp"), "", 400, "MissingApiVersionParameter"},
		{delVNet, "DELETE", vnetPath("corp") + "?api-version=bogus", "", 400, "NoRegisteredProviderFound"},
		{subnets, "GET", vnetPath("nope") + "/subnets" + nv, "", 404, "ResourceNotFound"},
		{subnet, "GET", vnetPath("corp") + "/subnets/nope" + nv, "", 404, "ResourceNotFound"},
		{subnet, "GET", vnetPath("nope") + "/subnets/inside" + nv, "", 404, "ResourceNotFound"},
		{pes, "GET", otherRG + "/privateEndpoints" + nv, "", 404, "ResourceGroupNotFound"},
		{pes, "GET", netPath + "/privateEndpoints?api-version=2010-01-01", "", 400, "NoRegisteredProviderFound"},
		{getPE, "GET", pePath("nope") + nv, "", 404, "ResourceNotFound"},
		{putPE, "PUT", pePath("-bad") + nv, pe(`{}`), 400, "InvalidResourceName"},
		{putPE, "PUT", pePath("p") + nv, "[]", 400, "InvalidRequestContent"},
		{putPE, "PUT", pePath("p") + nv, `{"properties":{}}`, 400, "LocationRequired"},
		{putPE, "PUT", pePath("p") + nv, pe(`{}`), 400, "InvalidRequestFormat"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":` + subnetRef + `}`), 400, "InvalidRequestFormat"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":` + subnetRef + `,"privateLinkServiceConnections":[` + conn(premReg, `["registry"]`) + `],"manualPrivateLinkServiceConnections":[` + conn(premReg, `["registry"]`) + `]}`), 400, "InvalidRequestFormat"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":` + subnetRef + `,"privateLinkServiceConnections":[` + conn(premReg, `["blob"]`) + `]}`), 400, "PrivateEndpointBadRequest"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":{"id":"` + vnetPath("corp") + `/subnets/nope"},"privateLinkServiceConnections":[` + conn(premReg, `["registry"]`) + `]}`), 400, "InvalidResourceReference"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":{"id":"not-an-id"},"privateLinkServiceConnections":[` + conn(premReg, `["registry"]`) + `]}`), 400, "InvalidResourceReference"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":` + subnetRef + `,"privateLinkServiceConnections":[` + conn(rgPath+"/providers/Microsoft.ContainerRegistry/registries/ghost", `["registry"]`) + `]}`), 400, "PrivateLinkServiceNotFound"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":` + subnetRef + `,"privateLinkServiceConnections":[` + conn("/garbage", `["registry"]`) + `]}`), 400, "PrivateLinkServiceNotFound"},
		{putPE, "PUT", pePath("p") + nv, pe(`{"subnet":` + subnetRef + `,"privateLinkServiceConnections":[` + conn(basicRg, `["registry"]`) + `]}`), 400, "PrivateEndpointNotSupported"},
		{putPE, "PUT", otherRG + "/privateEndpoints/p" + nv, pe(`{"subnet":` + subnetRef + `,"privateLinkServiceConnections":[` + conn(premReg, `["registry"]`) + `]}`), 404, "ResourceGroupNotFound"},
		{delPE, "DELETE", pePath("p"), "", 400, "MissingApiVersionParameter"},
		{delPE, "DELETE", pePath("p") + "?api-version=1.0", "", 400, "NoRegisteredProviderFound"},
		{provider, "GET", "/subscriptions/" + sub + "/providers/Microsoft.Network", "", 401, "AuthenticationFailed"},
		{opStatus, "GET", ops + "operationStatuses/00000000-0000-0000-0000-000000000000" + nv, "", 404, "OperationNotFound"},
		{opResult, "GET", ops + "operationResults/nope", "", 404, "OperationNotFound"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		who := owner
		if c.route == provider {
			who = ""
		}
		r := w.do(who, c.method, c.path, c.body)
		if r.status != c.status || r.code() != c.code {
			t.Errorf("%s %.120s: %d %s, want %d %s: %.300s", c.method, c.path, r.status, r.code(), c.status, c.code, r.raw)
		}
		covered[c.route] = true
	}
	for _, r := range vnet.New(vnet.Options{}).Table().Routes {
		if key := r.Method + " " + r.Pattern; !covered[key] {
			t.Errorf("no bad-input case for %s", key)
		}
	}
	// Nothing was created by the refused requests.
	if l := w.do(owner, "GET", netPath+"/privateEndpoints"+nv, "").expect(t, 200, ""); len(l.body["value"].([]any)) != 0 {
		t.Fatalf("refused requests left endpoints: %s", l.raw)
	}
	if l := w.do(owner, "GET", netPath+"/virtualNetworks"+nv, "").expect(t, 200, ""); len(l.body["value"].([]any)) != 1 {
		t.Fatalf("refused requests left networks: %s", l.raw)
	}
}
