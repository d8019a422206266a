package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

type armError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// The foundation's management plane: authentication, registry CRUD and its
// rules, each refusal a 4xx in the ARM envelope.
func TestManagementPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
	sub := "/subscriptions/" + srv.Boot.SubscriptionID
	token := srv.Token(t)
	send := func(t *testing.T, method, path, body string, hdr ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i+1] == "" {
				req.Header.Del(hdr[i])
			} else {
				req.Header.Set(hdr[i], hdr[i+1])
			}
		}
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	expect := func(t *testing.T, code int, b []byte, wantCode int, wantErr string) {
		t.Helper()
		if code != wantCode {
			t.Fatalf("status %d, want %d: %s", code, wantCode, b)
		}
		if wantErr != "" {
			var e armError
			if json.Unmarshal(b, &e) != nil || e.Error.Code != wantErr || e.Error.Message == "" {
				t.Fatalf("want ARM error %s, got %s", wantErr, b)
			}
		}
	}
	reg := func(rg, name string) string {
		return sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/" + name + "?api-version=2025-11-01"
	}
	code, b := send(t, "PUT", sub+"/resourceGroups/rg1?api-version=2024-03-01", `{"location":"westus"}`)
	expect(t, code, b, 201, "")
	code, b = send(t, "PUT", sub+"/resourceGroups/rg2?api-version=2024-03-01", `{"location":"westus"}`)
	expect(t, code, b, 201, "")

	t.Run("authentication", func(t *testing.T) {
		for _, h := range []string{"", "Bearer nonsense", "Basic abc", "Bearer " + strings.Repeat("a", 20000)} {
			code, b := send(t, "GET", reg("rg1", "whatever1"), "", "Authorization", h)
			expect(t, code, b, 401, "")
			var e armError
			if json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
				t.Fatalf("401 without ARM envelope: %s", b)
			}
		}
	})
	t.Run("create, enum casing, host-mode login server", func(t *testing.T) {
		code, b := send(t, "PUT", reg("rg1", "MyRegistry1"), `{"location":"West US","sku":{"name":"premium"}}`)
		expect(t, code, b, 201, "")
		var r struct {
			Name     string
			Location string
			SKU      struct{ Name, Tier string }
			Props    map[string]any `json:"properties"`
		}
		json.Unmarshal(b, &r)
		if r.SKU.Name != "Premium" || r.SKU.Tier != "Premium" || r.Location != "westus" || r.Props["loginServer"] != "myregistry1.cr.test" {
			t.Fatalf("got %s", b)
		}
		pol := r.Props["policies"].(map[string]any)["exportPolicy"].(map[string]any)["status"]
		if pol != "enabled" || r.Props["publicNetworkAccess"] != "Enabled" {
			t.Fatalf("defaults: %s", b)
		}
		code, b = send(t, "PUT", reg("rg1", "MyRegistry1"), `{"location":"westus","sku":{"name":"Standard"}}`)
		expect(t, code, b, 200, "")
	})
	t.Run("name rules", func(t *testing.T) {
		for _, n := range []string{"abcd", strings.Repeat("a", 51), "bad-name", "bad_name1"} {
			code, b := send(t, "PUT", reg("rg1", n), `{"location":"westus","sku":{"name":"Basic"}}`)
			expect(t, code, b, 400, "InvalidResourceName")
		}
	})
	t.Run("name unique across the service, case-insensitively", func(t *testing.T) {
		code, b := send(t, "PUT", reg("rg2", "MYREGISTRY1"), `{"location":"westus","sku":{"name":"Basic"}}`)
		expect(t, code, b, 409, "AlreadyInUse")
		code, b = send(t, "POST", sub+"/providers/Microsoft.ContainerRegistry/checkNameAvailability?api-version=2025-11-01", `{"name":"myREGISTRY1","type":"Microsoft.ContainerRegistry/registries"}`)
		if code != 200 || !strings.Contains(string(b), `"nameAvailable":false`) || !strings.Contains(string(b), "AlreadyExists") {
			t.Fatalf("checkNameAvailability: %d %s", code, b)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"missing resource group", "PUT", reg("nosuchrg", "somereg1"), `{"location":"westus","sku":{"name":"Basic"}}`, 404, "ResourceGroupNotFound"},
			{"missing api-version", "GET", strings.TrimSuffix(reg("rg1", "myregistry1"), "?api-version=2025-11-01"), "", 400, "MissingApiVersionParameter"},
			{"unknown api-version", "GET", strings.Replace(reg("rg1", "myregistry1"), "2025-11-01", "2099-01-01", 1), "", 400, "NoRegisteredProviderFound"},
			{"bad sku", "PUT", reg("rg1", "somereg2"), `{"location":"westus","sku":{"name":"Gold"}}`, 400, "InvalidRequestContent"},
			{"classic sku", "PUT", reg("rg1", "somereg2"), `{"location":"westus","sku":{"name":"Classic"}}`, 400, "SkuNotSupported"},
			{"no location", "PUT", reg("rg1", "somereg2"), `{"sku":{"name":"Basic"}}`, 400, "LocationRequired"},
			{"no sku", "PUT", reg("rg1", "somereg2"), `{"location":"westus"}`, 400, "InvalidRequestContent"},
			{"malformed json", "PUT", reg("rg1", "somereg2"), `{"location":`, 400, "InvalidRequestContent"},
			{"empty body", "PUT", reg("rg1", "somereg2"), ``, 400, "InvalidRequestContent"},
			{"wrong enum", "PUT", reg("rg1", "somereg2"), `{"location":"westus","sku":{"name":"Basic"},"properties":{"publicNetworkAccess":"Sometimes"}}`, 400, "InvalidRequestContent"},
			{"location change", "PUT", reg("rg1", "myregistry1"), `{"location":"eastus","sku":{"name":"Basic"}}`, 400, "InvalidResourceLocation"},
			{"unknown resource type", "GET", sub + "/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/gadgets/x?api-version=2025-11-01", "", 404, "InvalidResourceType"},
			{"registry not found", "GET", reg("rg1", "nosuchreg1"), "", 404, "ResourceNotFound"},
			{"read-only property changed", "PUT", reg("rg1", "myregistry1"), `{"location":"westus","sku":{"name":"Basic"},"properties":{"loginServer":"evil.example.com"}}`, 400, "ReadOnlyPropertyCannotBeChanged"},
			{"wrong property type", "PUT", reg("rg1", "somereg2"), `{"location":"westus","sku":{"name":"Basic"},"properties":{"adminUserEnabled":"yes"}}`, 400, "InvalidRequestContent"},
			{"registry in another group", "GET", reg("rg2", "myregistry1"), "", 404, "ResourceNotFound"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, b := send(t, c.method, c.path, c.body)
				expect(t, code, b, c.status, c.code)
			})
		}
		big := `{"location":"westus","sku":{"name":"Basic"},"tags":{"x":"` + strings.Repeat("a", 5<<20) + `"}}`
		code, b := send(t, "PUT", reg("rg1", "somereg3"), big)
		if code != 413 {
			t.Fatalf("oversized body: %d %.200s", code, b)
		}
	})
	t.Run("list and delete", func(t *testing.T) {
		code, b := send(t, "PUT", reg("rg2", "otherreg1"), `{"location":"westus","sku":{"name":"Basic"}}`)
		expect(t, code, b, 201, "")
		names := func(path string) string {
			code, b := send(t, "GET", path, "")
			expect(t, code, b, 200, "")
			var l struct{ Value []struct{ Name string } }
			json.Unmarshal(b, &l)
			var out []string
			for _, v := range l.Value {
				out = append(out, v.Name)
			}
			return strings.Join(out, ",")
		}
		if got := names(sub + "/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01"); got != "MyRegistry1,otherreg1" {
			t.Fatalf("subscription list: %s", got)
		}
		if got := names(sub + "/resourceGroups/rg2/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01"); got != "otherreg1" {
			t.Fatalf("group list: %s", got)
		}
		// az sends lower-case segments and a double slash.
		code, b = send(t, "GET", sub+"/resourcegroups/rg2/providers/microsoft.containerregistry//registries/otherreg1?api-version=2021-06-01-preview", "")
		expect(t, code, b, 200, "")
		code, b = send(t, "DELETE", reg("rg2", "otherreg1"), "")
		expect(t, code, b, 202, "")
		code, b = send(t, "DELETE", reg("rg2", "otherreg1"), "")
		expect(t, code, b, 204, "")
		// Deleting a group deletes its registries.
		code, b = send(t, "DELETE", sub+"/resourceGroups/rg1?api-version=2024-03-01", "")
		expect(t, code, b, 200, "")
		if got := names(sub + "/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01"); got != "" {
			t.Fatalf("after group delete: %s", got)
		}
	})
	t.Run("long-running operations", func(t *testing.T) {
		call := func(method, url, body string) *http.Response {
			req, _ := http.NewRequest(method, url, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		send(t, "PUT", sub+"/resourceGroups/lro?api-version=2024-03-01", `{"location":"westus"}`)
		resp := call("PUT", srv.URL+reg("lro", "lroreg01"), `{"location":"westus","sku":{"name":"Basic"}}`)
		async := resp.Header.Get("Azure-AsyncOperation")
		if resp.StatusCode != 201 || !strings.HasPrefix(async, srv.URL+"/subscriptions/") || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("create: %d, Azure-AsyncOperation %q", resp.StatusCode, async)
		}
		req, _ := http.NewRequest("GET", async, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		sresp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var op struct{ Status, Name string }
		json.NewDecoder(sresp.Body).Decode(&op)
		sresp.Body.Close()
		if sresp.StatusCode != 200 || op.Status != "Succeeded" {
			t.Fatalf("operation status: %d %+v", sresp.StatusCode, op)
		}
		resp = call("PATCH", srv.URL+reg("lro", "lroreg01"), `{"tags":{"a":"b"}}`)
		if resp.StatusCode != 200 || resp.Header.Get("Azure-AsyncOperation") == "" {
			t.Fatalf("patch: %d", resp.StatusCode)
		}
		resp = call("DELETE", srv.URL+reg("lro", "lroreg01"), "")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 202 || loc == "" {
			t.Fatalf("delete: %d %q", resp.StatusCode, loc)
		}
		if resp := call("GET", loc, ""); resp.StatusCode != 204 {
			t.Fatalf("delete result: %d", resp.StatusCode)
		}
		if resp := call("GET", strings.Replace(async, op.Name, "00000000-0000-0000-0000-000000000000", 1), ""); resp.StatusCode != 404 {
			t.Fatalf("unknown operation: %d", resp.StatusCode)
		}
	})
	t.Run("tenants and operations", func(t *testing.T) {
		code, b := send(t, "GET", "/tenants?api-version=2020-01-01", "")
		if code != 200 || !bytes.Contains(b, []byte(srv.Boot.TenantID)) {
			t.Fatalf("tenants: %d %s", code, b)
		}
		code, b = send(t, "GET", "/providers/Microsoft.ContainerRegistry/operations?api-version=2025-11-01", "")
		if code != 200 || !bytes.Contains(b, []byte("Microsoft.ContainerRegistry/registries/write")) {
			t.Fatalf("operations: %d %s", code, b)
		}
		code, b = send(t, "GET", sub+"?api-version=2022-12-01", "")
		if code != 200 || !bytes.Contains(b, []byte(`"subscriptionId"`)) {
			t.Fatalf("subscription: %d %s", code, b)
		}
	})
	t.Run("subscriptions", func(t *testing.T) {
		code, b := send(t, "GET", "/subscriptions?api-version=2019-11-01", "")
		if code != 200 || !bytes.Contains(b, []byte(srv.Boot.SubscriptionID)) || !bytes.Contains(b, []byte(`"state":"Enabled"`)) {
			t.Fatalf("%d %s", code, b)
		}
	})
}
