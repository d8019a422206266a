package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// FuzzManagement sends arbitrary requests (method, path, api-version and
// body) as the subscription's Owner to the management plane as serve
// builds it, and checks that each gets an answer below 500, in ARM's error
// envelope when it is an error, and in bounded time: request decoding,
// resource ids, api-versions and every provider's body handling.
func FuzzManagement(f *testing.F) {
	const reg = "/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/fuzzreg1"
	for _, seed := range []struct{ method, path, version, body string }{
		{"PUT", reg, "2025-11-01", `{"location":"westus","sku":{"name":"Premium"}}`},
		{"PUT", reg, "2025-11-01", `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":[]}}}`},
		{"PATCH", reg, "2023-07-01", `{"properties":{"publicNetworkAccess":7,"policies":{"exportPolicy":{"status":"disabled"}}}}`},
		{"PATCH", reg, "2023-07-01", `{"properties":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`},
		{"PUT", reg, "2025-11-01", `{"location":"westus","sku":{"name":"Premium"},"tags":{"` + strings.Repeat("k", 600) + `":"v"}}`},
		{"PUT", reg, "2025-11-01", "\xff\xfe{"},
		{"PUT", reg, "2025-11-01", `{"location":"westus","sku":{"name":"Premium"}}{"trailing":1}`},
		{"POST", reg + "/importImage", "2025-11-01", `{"source":{"resourceId":"/subscriptions/x/../../reg","sourceImage":"a:b"},"targetTags":["x:y"]}`},
		{"PUT", reg + "/scopeMaps/fuzzmap", "2025-11-01", `{"properties":{"actions":["repositories/*/content/read","x"]}}`},
		{"PUT", reg + "/tokens/fuzztoken", "2025-11-01", `{"properties":{"scopeMapId":"` + strings.Repeat("/a", 300) + `"}}`},
		{"PUT", reg + "/exportPipelines/fuzzpipe", "2021-06-01-preview", `{"location":"westus","identity":{"type":"SystemAssigned"},"properties":{"target":{"type":"AzureStorageBlobContainer","uri":"x"}}}`},
		{"POST", "/providers/Microsoft.ContainerRegistry/checkNameAvailability", "2025-11-01", `{"name":null,"type":{}}`},
		{"PUT", "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v", "2023-09-01", `{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["300.1.1.1/99"]}}}`},
		{"PUT", "/resourceGroups/rg/providers/Microsoft.Resources/deployments/d", "2022-09-01", `{"properties":{"mode":"Incremental","template":{"resources":[{"copy":{"count":1e300}}]}}}`},
		{"POST", "/resourceGroups/rg/providers/Microsoft.Resources/deployments/d/validate", "2022-09-01", `{"properties":{"template":{"variables":{"a":"[variables('a')]"},"outputs":{"o":{"type":"string","value":"[variables('a')]"}}}}}`},
		{"GET", "/resourceGroups/rg/resources", "2021-04-01", ""},
		{"GET", "/resources?$filter=" + url.QueryEscape("resourceType eq 'x' and name eq '") + "&$top=-1", "2021-04-01", ""},
		{"DELETE", "/resourceGroups/%2e%2e", "2021-04-01", ""},
		{"GET", reg + "/../../..", "", ""},
		{"PUT", "/resourceGroups/" + strings.Repeat("g", 100), "2024-03-01", `{"location":"` + strings.Repeat("w", 10000) + `"}`},
	} {
		f.Add(seed.method, seed.path, seed.version, seed.body)
	}
	router, boot := managementWithOwner(f)
	ts := httptest.NewServer(router)
	f.Cleanup(ts.Close)
	sub := "/subscriptions/" + boot.SubscriptionID
	for _, put := range []struct{ path, body string }{ // in order: the group first
		{"/resourceGroups/rg?api-version=2024-03-01", `{"location":"westus"}`},
		{reg + "?api-version=2025-11-01", `{"location":"westus","sku":{"name":"Premium"}}`},
	} {
		path := put.path
		req, _ := http.NewRequest("PUT", ts.URL+sub+path, strings.NewReader(put.body))
		req.Header.Set("Authorization", "Bearer "+boot.token)
		if resp, err := ts.Client().Do(req); err != nil || resp.StatusCode >= 300 {
			f.Fatalf("setup %s: %v %v", path, resp, err)
		}
	}
	methods := map[string]bool{"GET": true, "PUT": true, "PATCH": true, "POST": true, "DELETE": true, "HEAD": true}
	f.Fuzz(func(t *testing.T, method, path, version, body string) {
		if !methods[method] || strings.ContainsAny(path, "?#") || len(body) > 1<<20 {
			return
		}
		u, err := url.Parse(ts.URL + sub + path)
		if err != nil || !strings.HasPrefix(path, "/") {
			return
		}
		if version != "" {
			u.RawQuery = "api-version=" + url.QueryEscape(version)
		}
		req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+boot.token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var e struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		decodeErr := json.NewDecoder(resp.Body).Decode(&e)
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("%s %s %q: %d %+v", method, path, body, resp.StatusCode, e.Error)
		case resp.StatusCode >= 400 && method != "HEAD" && (decodeErr != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == ""):
			t.Fatalf("%s %s %q: %d without ARM's error envelope (%v)", method, path, body, resp.StatusCode, decodeErr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s %s: took %v", method, path, d)
		}
	})
}

// owner is the bootstrap principal with a management token.
type owner struct {
	SubscriptionID string
	token          string
}

// managementWithOwner builds the management plane on a fresh store with a
// bootstrap principal that is Owner of its subscription, as serve does.
func managementWithOwner(t testing.TB) (http.Handler, owner) {
	t.Helper()
	router, store, ids := managementParts(t)
	boot, err := ids.Bootstrap(t.Context(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(t.Context(), func(tx meta.Tx) error {
		return tx.PutResource(authz.NewAssignment("00000000-0000-0000-0000-0000000b0075", "/subscriptions/"+boot.SubscriptionID, authz.OwnerRoleID, boot.ObjectID))
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(router)
	defer ts.Close()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {boot.ClientID}, "client_secret": {boot.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}
	resp, err := ts.Client().PostForm(ts.URL+"/"+boot.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return router, owner{SubscriptionID: boot.SubscriptionID, token: tok.AccessToken}
}
