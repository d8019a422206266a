package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// A template with copy loops (resource, property, output), a condition,
// dependsOn a loop name, reference() and listCredentials() deploys as ARM
// deploys it; template errors carry their path.
func TestDeploymentTemplateFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
	arm := newARM(t, srv)
	rg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/fleetrg"
	if code, m := arm.do("PUT", rg+"?api-version=2024-03-01", `{"location":"westus"}`); code/100 != 2 {
		t.Fatalf("resource group: %d %v", code, m)
	}
	tmpl, err := os.ReadFile("testdata/fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(name, params string) (int, map[string]any) {
		t.Helper()
		body := `{"properties":{"mode":"Incremental","template":` + string(tmpl) + `,"parameters":` + params + `}}`
		return arm.do("PUT", rg+"/providers/Microsoft.Resources/deployments/"+name+"?api-version=2024-03-01", body)
	}
	code, dep := deploy("fleet", `{}`)
	if code != 201 || dig(dep, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("deployment: %d %s", code, mustJSON(dep))
	}
	outputs := func(dep map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range dig(dep, "properties", "outputs").(map[string]any) {
			out[k] = v.(map[string]any)["value"]
		}
		return out
	}
	out := outputs(dep)
	if got := mustJSON(out["loginServers"]); got != `["fleet1.cr.test","fleet2.cr.test","fleet3.cr.test"]` {
		t.Errorf("loginServers output %s", got)
	}
	if out["adminUser"] != "fleet1" || out["adminPasswordLength"].(float64) < 20 || out["firstSku"] != "Premium" {
		t.Errorf("outputs %v", out)
	}
	if _, ok := out["exportPipeline"]; ok {
		t.Error("an output whose condition is false was returned")
	}

	get := func(path string) (int, map[string]any) {
		t.Helper()
		return arm.do("GET", rg+"/providers/Microsoft.ContainerRegistry/registries/"+path, "")
	}
	_, first := get("fleet1?api-version=2023-07-01")
	if dig(first, "sku", "name") != "Premium" || dig(first, "properties", "adminUserEnabled") != true ||
		mustJSON(dig(first, "properties", "networkRuleSet", "ipRules")) != `[{"action":"Allow","value":"10.1.0.0/16"},{"action":"Allow","value":"10.2.0.0/16"}]` {
		t.Errorf("fleet1: %s", mustJSON(first))
	}
	_, third := get("fleet3?api-version=2023-07-01")
	if dig(third, "sku", "name") != "Standard" || dig(third, "properties", "adminUserEnabled") != false || dig(third, "tags", "position") != "3" {
		t.Errorf("fleet3: %s", mustJSON(third))
	}
	_, imp := get("fleet1/importPipelines/import?api-version=2021-06-01-preview")
	if dig(imp, "properties", "source", "uri") != "https://fleet1.blob.core.windows.net/import" {
		t.Errorf("import pipeline: %s", mustJSON(imp))
	}
	if code, _ := get("fleet1/exportPipelines/export?api-version=2021-06-01-preview"); code != 404 {
		t.Errorf("export pipeline with a false condition: %d", code)
	}

	// The condition turned on, incrementally: the export pipeline appears.
	code, dep = deploy("fleet2", `{"withExportPipeline":{"value":true},"count":{"value":1}}`)
	if code != 201 || dig(dep, "properties", "provisioningState") != "Succeeded" || outputs(dep)["exportPipeline"] != "created" {
		t.Fatalf("second deployment: %d %s", code, mustJSON(dep))
	}
	if code, _ := get("fleet1/exportPipelines/export?api-version=2021-06-01-preview"); code != 200 {
		t.Errorf("export pipeline with a true condition: %d", code)
	}

	// Template errors: 400 with the path of the fault, nothing deployed.
	for _, c := range []struct{ name, template, target string }{
		{"count over the limit", `{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"[concat('big', copyIndex())]","location":"westus","sku":{"name":"Basic"},"copy":{"name":"l","count":801}}]}`, "resources[0].copy"},
		{"copyIndex outside a loop", `{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"[concat('bad', copyIndex())]","location":"westus","sku":{"name":"Basic"}}]}`, "resources[0].name"},
		{"bad function in a looped body", `{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"[concat('loopbad', copyIndex())]","location":"westus","sku":{"name":"[nosuch()]"},"copy":{"name":"l","count":2}}]}`, "resources[0][copy 0].sku"},
		{"reference in a name", `{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"[reference('fleet1').loginServer]","location":"westus","sku":{"name":"Basic"}}]}`, "resources[0].name"},
	} {
		for _, action := range []string{"validate", "put"} {
			body := `{"properties":{"mode":"Incremental","template":` + c.template + `}}`
			path := rg + "/providers/Microsoft.Resources/deployments/broken"
			method := "PUT"
			if action == "validate" {
				path, method = path+"/validate", "POST"
			}
			code, m := arm.do(method, path+"?api-version=2024-03-01", body)
			if code != 400 || dig(m, "error", "code") != "InvalidTemplateDeployment" || !strings.HasPrefix(dig(m, "error", "target").(string), c.target) {
				t.Errorf("%s (%s): %d %s", c.name, action, code, mustJSON(m))
			}
		}
	}
	if code, _ := get("loopbad0?api-version=2023-07-01"); code != 404 {
		t.Errorf("a refused template deployed a resource: %d", code)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
