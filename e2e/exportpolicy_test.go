package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

type armClient struct {
	t     *testing.T
	srv   *testserver.Server
	token string
}

func newARM(t *testing.T, srv *testserver.Server) *armClient {
	return &armClient{t: t, srv: srv, token: srv.Token(t)}
}

func (a *armClient) do(method, path, body string) (int, map[string]any) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.srv.Client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		mm, _ := cur.(map[string]any)
		cur = mm[k]
	}
	return cur
}

// Every export-policy rule over HTTP, in both directions and in the
// same-request and earlier-request forms, with PUT and PATCH.
func TestExportPolicyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{})
	a := newARM(t, srv)
	sub := "/subscriptions/" + srv.Boot.SubscriptionID
	if code, _ := a.do("PUT", sub+"/resourceGroups/ep?api-version=2024-03-01", `{"location":"westus"}`); code != 201 {
		t.Fatal(code)
	}
	reg := func(name, v string) string {
		return sub + "/resourceGroups/ep/providers/Microsoft.ContainerRegistry/registries/" + name + "?api-version=" + v
	}
	const v = "2021-06-01-preview"
	create := func(name, sku string) {
		if code, m := a.do("PUT", reg(name, v), `{"location":"westus","sku":{"name":"`+sku+`"}}`); code != 201 {
			t.Fatalf("create %s: %d %v", name, code, m)
		}
	}
	type step struct {
		method, body string
		status       int
		code, msg    string
	}
	cases := []struct {
		name  string
		sku   string
		steps []step
	}{
		{"disable both in one PATCH, any casing", "Premium", []step{
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"Status":"DISABLED"}},"publicNetworkAccess":"disabled"}}`, 200, "", ""},
		}},
		{"disable public access earlier, then exports", "Premium", []step{
			{"PATCH", `{"properties":{"publicNetworkAccess":"Disabled"}}`, 200, "", ""},
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`, 200, "", ""},
		}},
		{"disable exports with public access enabled", "Premium", []step{
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`, 400, "BadRequest", "publicNetworkAccess=Disabled"},
		}},
		{"enable public access while exports disabled", "Premium", []step{
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`, 200, "", ""},
			{"PATCH", `{"properties":{"publicNetworkAccess":"Enabled"}}`, 400, "BadRequest", "Enabling public network access is not supported because the registry 'epreg4' has exports disabled."},
			// The other direction: enable exports, then public access.
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"enabled"}}}}`, 200, "", ""},
			{"PATCH", `{"properties":{"publicNetworkAccess":"Enabled"}}`, 200, "", ""},
		}},
		{"re-enable both in one request", "Premium", []step{
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`, 200, "", ""},
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"enabled"}},"publicNetworkAccess":"Enabled"}}`, 200, "", ""},
		}},
		{"disable public access below Premium", "Standard", []step{
			{"PATCH", `{"properties":{"publicNetworkAccess":"Disabled"}}`, 400, "DisablingPublicNetworkAccessNotSupported", "Disabling public network access is not supported for the SKU Standard."},
		}},
		{"disable exports below Premium", "Basic", []step{
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`, 400, "ExportPolicyNotSupported", "Premium"},
		}},
		{"downgrade an export-disabled registry", "Premium", []step{
			{"PATCH", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`, 200, "", ""},
			{"PATCH", `{"sku":{"name":"Standard"}}`, 400, "DisablingPublicNetworkAccessNotSupported", "SKU Standard"},
		}},
		{"SKU changes", "Premium", []step{
			{"PATCH", `{"sku":{"name":"Standard"}}`, 200, "", ""},
			{"PATCH", `{"sku":{"name":"Premium"},"properties":{"networkRuleSet":{"defaultAction":"Deny","ipRules":[{"action":"Allow","value":"10.0.0.1"}]}}}`, 200, "", ""},
			{"PATCH", `{"sku":{"name":"basic"}}`, 400, "SkuDowngradeNotSupported", "network rules"},
			{"PUT", `{"location":"westus","sku":{"name":"Premium"},"properties":{"zoneRedundancy":"Enabled"}}`, 400, "ZoneRedundancyCannotBeChanged", "Disabled"},
		}},
		{"PUT: disable both in one request", "Premium", []step{
			{"PUT", `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`, 200, "", ""},
			{"PUT", `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Enabled"}}`, 400, "BadRequest", "Enabling public network access is not supported"},
		}},
	}
	for i, c := range cases {
		name := fmt.Sprintf("epreg%d", i+1)
		t.Run(c.name, func(t *testing.T) {
			create(name, c.sku)
			for j, s := range c.steps {
				code, m := a.do(s.method, reg(name, v), s.body)
				if code != s.status {
					t.Fatalf("step %d: status %d, want %d: %v", j, code, s.status, m)
				}
				if s.code != "" {
					gotCode, _ := dig(m, "error", "code").(string)
					gotMsg, _ := dig(m, "error", "message").(string)
					if gotCode != s.code || !strings.Contains(gotMsg, s.msg) {
						t.Fatalf("step %d: got %s %q, want %s containing %q", j, gotCode, gotMsg, s.code, s.msg)
					}
				}
			}
		})
	}

	t.Run("pipelines", func(t *testing.T) {
		create("pipereg1", "Premium")
		pipe := strings.Replace(reg("pipereg1", v), "?", "/exportPipelines/export1?", 1)
		body := `{"location":"westus","identity":{"type":"SystemAssigned"},"properties":{"target":{"type":"AzureStorageBlobContainer","uri":"https://acct.blob.core.windows.net/c","keyVaultUri":"https://kv.vault.azure.net/secrets/sas"},"options":["overwriteblobs"]}}`
		if code, m := a.do("PUT", pipe, body); code != 201 || dig(m, "properties", "options").([]any)[0] != "OverwriteBlobs" {
			t.Fatalf("create pipeline: %d %v", code, m)
		}
		code, m := a.do("PATCH", reg("pipereg1", v), `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`)
		if code != 400 || !strings.Contains(dig(m, "error", "message").(string), "export pipeline") {
			t.Fatalf("disable with a pipeline: %d %v", code, m)
		}
		// The refused request left nothing behind: public access is still on.
		if _, m := a.do("GET", reg("pipereg1", v), ""); dig(m, "properties", "publicNetworkAccess") != "Enabled" {
			t.Fatalf("refused PATCH changed state: %v", m)
		}
		if code, _ := a.do("DELETE", pipe, ""); code != 200 {
			t.Fatalf("delete pipeline: %d", code)
		}
		if code, m := a.do("PATCH", reg("pipereg1", v), `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`); code != 200 {
			t.Fatalf("disable after pipeline delete: %d %v", code, m)
		}
		code, m = a.do("PUT", pipe, body)
		if code != 400 || dig(m, "error", "code") != "ExportsDisabled" || !strings.Contains(dig(m, "error", "message").(string), "pipereg1") {
			t.Fatalf("export pipeline on export-disabled registry: %d %v", code, m)
		}
		// Import pipelines bring content in; they are not an egress.
		imp := strings.Replace(reg("pipereg1", v), "?", "/importPipelines/import1?", 1)
		if code, m := a.do("PUT", imp, strings.Replace(body, `"target"`, `"source"`, 1)); code != 201 {
			t.Fatalf("import pipeline: %d %v", code, m)
		}
		// Pipelines need a preview api-version.
		if code, m := a.do("GET", strings.Replace(pipe, v, "2025-11-01", 1), ""); code != 400 {
			t.Fatalf("pipeline on a stable api-version: %d %v", code, m)
		}
	})

	t.Run("older api-versions neither show nor lose the policy", func(t *testing.T) {
		create("oldreg01", "Premium")
		a.do("PATCH", reg("oldreg01", v), `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"Disabled"}}`)
		_, m := a.do("GET", reg("oldreg01", "2020-11-01-preview"), "")
		if dig(m, "properties", "policies", "exportPolicy") != nil || dig(m, "properties", "anonymousPullEnabled") != nil {
			t.Fatalf("2020-11-01-preview shows fields it does not define: %v", m["properties"])
		}
		if code, m := a.do("PUT", reg("oldreg01", "2019-05-01"), `{"location":"westus","sku":{"name":"Premium"},"properties":{"adminUserEnabled":true}}`); code != 200 {
			t.Fatalf("old PUT: %d %v", code, m)
		}
		_, m = a.do("GET", reg("oldreg01", "2025-11-01"), "")
		if dig(m, "properties", "policies", "exportPolicy", "status") != "disabled" || dig(m, "properties", "publicNetworkAccess") != "Disabled" || dig(m, "properties", "adminUserEnabled") != true {
			t.Fatalf("an old client's PUT lost values: %v", m["properties"])
		}
	})

	t.Run("newer properties survive older writers", func(t *testing.T) {
		create("softreg01", "Premium")
		code, m := a.do("PATCH", reg("softreg01", "2023-07-01"), `{"identity":{"type":"SystemAssigned"},"properties":{"policies":{"softDeletePolicy":{"status":"Enabled","retentionDays":30}}}}`)
		if code != 200 || dig(m, "properties", "policies", "softDeletePolicy", "status") != "enabled" || dig(m, "identity", "type") != "SystemAssigned" {
			t.Fatalf("patch: %d %v", code, m)
		}
		if _, m := a.do("GET", reg("softreg01", v), ""); dig(m, "properties", "policies", "softDeletePolicy") != nil {
			t.Fatalf("2021-06-01-preview shows softDeletePolicy: %v", m)
		}
		a.do("PUT", reg("softreg01", v), `{"location":"westus","sku":{"name":"Premium"},"identity":{"type":"SystemAssigned"}}`)
		if _, m := a.do("GET", reg("softreg01", "2025-11-01"), ""); dig(m, "properties", "policies", "softDeletePolicy", "retentionDays") != float64(30) {
			t.Fatalf("a 2021-06-01-preview PUT lost softDeletePolicy: %v", dig(m, "properties", "policies"))
		}
	})
	t.Run("PATCH bad input", func(t *testing.T) {
		create("patchreg1", "Premium")
		for body, wantCode := range map[string]string{
			`{"location":"eastus"}`:                                         "InvalidRequestContent",
			`{"properties":{"loginServer":"evil.example"}}`:                 "InvalidRequestContent",
			`{"properties":{"publicNetworkAccess":"Maybe"}}`:                "InvalidRequestContent",
			`{"properties":{"adminUserEnabled":"yes"}}`:                     "InvalidRequestContent",
			`{"sku":{"name":"Classic"}}`:                                    "SkuNotSupported",
			`[1,2]`:                                                         "InvalidRequestContent",
			`{"properties":{"policies":{"exportPolicy":{"status":"off"}}}}`: "InvalidRequestContent",
		} {
			code, m := a.do("PATCH", reg("patchreg1", v), body)
			if code != 400 || dig(m, "error", "code") != wantCode {
				t.Errorf("%s: %d %v", body, code, m)
			}
		}
	})
}

// 50 export-pipeline creations race one request that disables exports: the
// registry never ends export-disabled with a pipeline.
func TestExportPipelineRace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{})
	a := newARM(t, srv)
	sub := "/subscriptions/" + srv.Boot.SubscriptionID
	a.do("PUT", sub+"/resourceGroups/race?api-version=2024-03-01", `{"location":"westus"}`)
	const v = "2021-06-01-preview"
	base := sub + "/resourceGroups/race/providers/Microsoft.ContainerRegistry/registries/racereg"
	for round := range 3 {
		if code, m := a.do("PUT", base+"?api-version="+v, `{"location":"westus","sku":{"name":"Premium"},"properties":{"publicNetworkAccess":"Disabled"}}`); code >= 300 {
			t.Fatalf("round %d create: %d %v", round, code, m)
		}
		body := `{"location":"westus","properties":{"target":{"uri":"https://a.blob.core.windows.net/c","keyVaultUri":"https://kv.vault.azure.net/secrets/s"}}}`
		var wg sync.WaitGroup
		var disabled int
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.do("PUT", fmt.Sprintf("%s/exportPipelines/pipe%05d?api-version=%s", base, i, v), body)
			}()
			if i == []int{0, 3, 25}[round] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, _ := a.do("PATCH", base+"?api-version="+v, `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`); code == 200 {
						disabled = 1
					}
				}()
			}
		}
		wg.Wait()
		_, reg := a.do("GET", base+"?api-version="+v, "")
		_, list := a.do("GET", base+"/exportPipelines?api-version="+v, "")
		n := len(list["value"].([]any))
		status := dig(reg, "properties", "policies", "exportPolicy", "status")
		if status == "disabled" && n != 0 {
			t.Fatalf("round %d: exports disabled with %d pipelines", round, n)
		}
		if (status == "disabled") != (disabled == 1) {
			t.Fatalf("round %d: PATCH answered %v but status is %v", round, disabled, status)
		}
		t.Logf("round %d: disable %s, %d pipelines", round, map[int]string{0: "refused", 1: "won"}[disabled], n)
		a.do("DELETE", base+"?api-version="+v, "")
	}
}
