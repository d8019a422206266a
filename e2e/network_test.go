package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// from returns a pusher whose connections leave from source address ip
// (any 127.0.0.0/8 address works on loopback), as a client inside or
// outside a virtual network.
func from(srv *testserver.Server, ip string) *pusher {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}, DisableKeepAlives: true}
	p := newPusher(srv)
	p.client = &http.Client{Transport: tr}
	return p
}

// Private endpoints, public network access and IP rules on the data
// plane (DESIGN.md "Network model"): with public access disabled only the
// subnets of approved private endpoints get in, whatever name the registry
// is addressed by, and forwarded headers are believed from trusted proxies
// only.
func TestPrivateEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test", "--trusted-proxy", "127.0.40.0/24"}})
	srv.CreateRegistry(t, "net", "netreg", "Premium")
	srv.CreateRegistry(t, "net", "basicreg", "Basic")
	arm := newARM(t, srv)
	rg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/net"
	regID := rg + "/providers/Microsoft.ContainerRegistry/registries/netreg"
	vnetID := rg + "/providers/Microsoft.Network/virtualNetworks/corp"
	const nv = "?api-version=2023-09-01"
	if _, err := newPusher(srv).pushImage("netreg/app", "v1", []byte("private layer")); err != nil {
		t.Fatal(err)
	}
	vnet := `{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["127.0.0.0/8"]},"subnets":[
		{"name":"inside","properties":{"addressPrefix":"127.0.10.0/24"}},{"name":"other","properties":{"addressPrefix":"127.0.20.0/24"}}]}}`
	if code, m := arm.do("PUT", vnetID+nv, vnet); code != 201 || dig(m, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("vnet: %d %v", code, m)
	}
	if code, m := arm.do("PATCH", regID+"?api-version=2025-11-01", `{"properties":{"publicNetworkAccess":"Disabled"}}`); code/100 != 2 {
		t.Fatalf("disable public access: %d %v", code, m)
	}
	manifest := "/v2/netreg/app/manifests/v1"
	pull := func(ip, path string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.SetBasicAuth(srv.Boot.ClientID, srv.Boot.ClientSecret)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				req.Host = hdr[i+1]
			} else {
				req.Header.Set(hdr[i], hdr[i+1])
			}
		}
		resp, err := from(srv, ip).client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	expect := func(what, ip, path string, want int, hdr ...string) {
		t.Helper()
		code, body := pull(ip, path, hdr...)
		if code != want {
			t.Errorf("%s: GET %s from %s: %d %s, want %d", what, path, ip, code, body, want)
		}
		if want == 403 && !strings.Contains(body, "DENIED") {
			t.Errorf("%s: refusal without DENIED: %s", what, body)
		}
	}
	expect("no private endpoint yet", "127.0.10.5", manifest, 403)
	expect("public", "127.0.0.1", manifest, 403)

	pe := func(name, subnet, list string) (int, map[string]any) {
		body := `{"location":"westus","properties":{"subnet":{"id":"` + vnetID + `/subnets/` + subnet + `"},"` + list + `":[
			{"name":"` + name + `conn","properties":{"privateLinkServiceId":"` + regID + `","groupIds":["registry"],"requestMessage":"please"}}]}}`
		return arm.do("PUT", rg+"/providers/Microsoft.Network/privateEndpoints/"+name+nv, body)
	}
	code, m := pe("pe1", "inside", "privateLinkServiceConnections")
	state := func(m map[string]any, list string) any {
		conns, _ := dig(m, "properties", list).([]any)
		if len(conns) != 1 {
			return nil
		}
		return dig(conns[0].(map[string]any), "properties", "privateLinkServiceConnectionState", "status")
	}
	if code != 201 || state(m, "privateLinkServiceConnections") != "Approved" {
		t.Fatalf("private endpoint: %d %v", code, m)
	}
	expect("inside an approved endpoint's subnet", "127.0.10.5", manifest, 200)
	expect("another subnet", "127.0.20.5", manifest, 403)
	expect("public", "127.0.0.1", manifest, 403)
	// Every name of the registry: path mode and host mode, any casing.
	for _, host := range []string{"netreg.cr.test", "NETREG.CR.TEST:" + strings.Split(srv.Addr, ":")[1]} {
		expect("host mode from outside", "127.0.0.1", "/v2/app/manifests/v1", 403, "Host", host)
		expect("host mode from inside", "127.0.10.5", "/v2/app/manifests/v1", 200, "Host", host)
	}
	// A forged X-Forwarded-For from an untrusted peer changes nothing; a
	// trusted proxy's is believed, up to the first hop it did not add.
	expect("spoofed forwarded-for", "127.0.0.1", manifest, 403, "X-Forwarded-For", "127.0.10.5")
	expect("trusted proxy", "127.0.40.1", manifest, 200, "X-Forwarded-For", "127.0.10.5")
	expect("spoof through a trusted proxy", "127.0.40.1", manifest, 403, "X-Forwarded-For", "127.0.10.5, 127.0.0.1")
	// The catalog and the token endpoint hide what the client cannot reach.
	if _, body := pull("127.0.0.1", "/v2/_catalog"); strings.Contains(body, "netreg/") {
		t.Errorf("public catalog lists the private registry: %s", body)
	}
	if _, body := pull("127.0.10.5", "/v2/_catalog"); !strings.Contains(body, "netreg/app") {
		t.Errorf("private catalog misses the registry: %s", body)
	}
	tokenFrom := func(ip string) string {
		resp, body, err := from(srv, ip).do("GET", "/oauth2/token?service="+srv.Addr+"&scope=repository:netreg/app:pull", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("token: %v %d", err, resp.StatusCode)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.Unmarshal(body, &tok)
		return tok.AccessToken
	}
	for ip, want := range map[string]int{"127.0.0.1": 403, "127.0.10.5": 200} {
		tok := tokenFrom(ip)
		req, _ := http.NewRequest("GET", srv.URL+manifest, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		p := from(srv, ip)
		resp, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("bearer pull from %s: %d, want %d", ip, resp.StatusCode, want)
		}
	}

	// A manual connection waits for approval; approval and rejection
	// take effect at once.
	code, m = pe("pe2", "other", "manualPrivateLinkServiceConnections")
	if code != 201 || state(m, "manualPrivateLinkServiceConnections") != "Pending" {
		t.Fatalf("manual private endpoint: %d %v", code, m)
	}
	expect("pending connection", "127.0.20.5", manifest, 403)
	code, m = arm.do("GET", regID+"/privateEndpointConnections?api-version=2025-11-01", "")
	conns, _ := m["value"].([]any)
	if code != 200 || len(conns) != 2 {
		t.Fatalf("connections: %d %v", code, m)
	}
	names := map[string]string{}
	for _, c := range conns {
		cm := c.(map[string]any)
		peID := dig(cm, "properties", "privateEndpoint", "id").(string)
		names[peID[strings.LastIndex(peID, "/")+1:]] = cm["name"].(string)
	}
	setState := func(pe, status string) (int, map[string]any) {
		return arm.do("PUT", regID+"/privateEndpointConnections/"+names[pe]+"?api-version=2025-11-01",
			`{"properties":{"privateLinkServiceConnectionState":{"status":"`+status+`","description":"by the owner"}}}`)
	}
	if code, m := setState("pe2", "approved"); code != 200 || dig(m, "properties", "privateLinkServiceConnectionState", "status") != "Approved" {
		t.Fatalf("approve: %d %v", code, m)
	}
	expect("approved manual connection", "127.0.20.5", manifest, 200)
	if code, _ := setState("pe1", "Rejected"); code != 200 {
		t.Fatalf("reject: %d", code)
	}
	expect("rejected connection", "127.0.10.5", manifest, 403)
	if code, m := setState("pe1", "Approved"); code != 400 {
		t.Errorf("approving a rejected connection: %d %v", code, m)
	}
	if code, _ := setState("pe2", "Sometimes"); code != 400 {
		t.Errorf("bad status: %d", code)
	}
	if _, reg := arm.do("GET", regID+"?api-version=2025-11-01", ""); len(dig(reg, "properties", "privateEndpointConnections").([]any)) != 2 {
		t.Errorf("registry shows %v", dig(reg, "properties", "privateEndpointConnections"))
	}
	// A registry PUT cannot forge a connection.
	forged := `{"location":"westus","sku":{"name":"Premium"},"properties":{"publicNetworkAccess":"Disabled","privateEndpointConnections":[
		{"properties":{"privateEndpoint":{"id":"` + rg + `/providers/Microsoft.Network/privateEndpoints/evil"},"privateLinkServiceConnectionState":{"status":"Approved"}}}]}}`
	if code, m := arm.do("PUT", regID+"?api-version=2025-11-01", forged); code/100 != 2 || len(dig(m, "properties", "privateEndpointConnections").([]any)) != 2 {
		t.Errorf("PUT with forged connections: %d %v", code, dig(m, "properties", "privateEndpointConnections"))
	}
	expect("rejected connection after a registry PUT", "127.0.10.5", manifest, 403)
	expect("approved connection after a registry PUT", "127.0.20.5", manifest, 200)

	// Subnets in use stay; the endpoint's removal closes its subnet.
	if code, m := arm.do("DELETE", vnetID+nv, ""); code != 400 || dig(m, "error", "code") != "InUseSubnetCannotBeDeleted" {
		t.Errorf("delete a vnet in use: %d %v", code, m)
	}
	moved := strings.Replace(vnet, "127.0.20.0/24", "127.0.21.0/24", 1)
	if code, m := arm.do("PUT", vnetID+nv, moved); code != 400 || dig(m, "error", "code") != "InUseSubnetCannotBeUpdated" {
		t.Errorf("re-range a subnet in use: %d %v", code, m)
	}
	if code, _ := arm.do("DELETE", rg+"/providers/Microsoft.Network/privateEndpoints/pe2"+nv, ""); code != 202 {
		t.Fatalf("delete endpoint: %d", code)
	}
	expect("deleted endpoint", "127.0.20.5", manifest, 403)

	// Bad input.
	for _, c := range []struct{ name, method, path, body, code string }{
		{"endpoint to a Basic registry", "PUT", rg + "/providers/Microsoft.Network/privateEndpoints/pe3" + nv,
			`{"location":"westus","properties":{"subnet":{"id":"` + vnetID + `/subnets/other"},"privateLinkServiceConnections":[{"name":"c","properties":{"privateLinkServiceId":"` + rg + `/providers/Microsoft.ContainerRegistry/registries/basicreg","groupIds":["registry"]}}]}}`, "PrivateEndpointNotSupported"},
		{"unknown subnet", "PUT", rg + "/providers/Microsoft.Network/privateEndpoints/pe3" + nv,
			`{"location":"westus","properties":{"subnet":{"id":"` + vnetID + `/subnets/nope"},"privateLinkServiceConnections":[{"name":"c","properties":{"privateLinkServiceId":"` + regID + `","groupIds":["registry"]}}]}}`, "InvalidResourceReference"},
		{"wrong group id", "PUT", rg + "/providers/Microsoft.Network/privateEndpoints/pe3" + nv,
			`{"location":"westus","properties":{"subnet":{"id":"` + vnetID + `/subnets/other"},"privateLinkServiceConnections":[{"name":"c","properties":{"privateLinkServiceId":"` + regID + `","groupIds":["blob"]}}]}}`, "PrivateEndpointBadRequest"},
		{"no connection", "PUT", rg + "/providers/Microsoft.Network/privateEndpoints/pe3" + nv,
			`{"location":"westus","properties":{"subnet":{"id":"` + vnetID + `/subnets/other"}}}`, "InvalidRequestFormat"},
		{"overlapping subnets", "PUT", rg + "/providers/Microsoft.Network/virtualNetworks/bad" + nv,
			`{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"a","properties":{"addressPrefix":"10.0.1.0/24"}},{"name":"b","properties":{"addressPrefix":"10.0.1.128/25"}}]}}`, "NetcfgSubnetRangesOverlap"},
		{"subnet outside the space", "PUT", rg + "/providers/Microsoft.Network/virtualNetworks/bad" + nv,
			`{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"a","properties":{"addressPrefix":"10.1.0.0/24"}}]}}`, "NetcfgSubnetRangeOutsideVnet"},
		{"bad cidr", "PUT", rg + "/providers/Microsoft.Network/virtualNetworks/bad" + nv,
			`{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["10.0.0.0/33"]}}}`, "InvalidAddressPrefixFormat"},
		{"unknown api-version", "GET", vnetID + "?api-version=1999-01-01", "", "NoRegisteredProviderFound"},
	} {
		if code, m := arm.do(c.method, c.path, c.body); code/100 != 4 || dig(m, "error", "code") != c.code {
			t.Errorf("%s: %d %v, want %s", c.name, code, m, c.code)
		}
	}

	// IP rules on a registry with public access: only listed addresses.
	srv.CreateRegistry(t, "net", "ipreg", "Premium")
	if _, err := newPusher(srv).pushImage("ipreg/app", "v1", []byte("ip layer")); err != nil {
		t.Fatal(err)
	}
	if code, m := arm.do("PATCH", rg+"/providers/Microsoft.ContainerRegistry/registries/ipreg?api-version=2025-11-01",
		`{"properties":{"networkRuleSet":{"defaultAction":"Deny","ipRules":[{"action":"Allow","value":"127.0.30.0/24"},{"action":"Allow","value":"127.0.31.7"}]}}}`); code/100 != 2 {
		t.Fatalf("ip rules: %d %v", code, m)
	}
	for ip, want := range map[string]int{"127.0.30.9": 200, "127.0.31.7": 200, "127.0.31.8": 403, "127.0.0.1": 403} {
		expect("ip rules", ip, "/v2/ipreg/app/manifests/v1", want)
	}
}
