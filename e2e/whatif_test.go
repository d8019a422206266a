package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// whatIfTemplate deploys a Premium registry (its admin user a parameter,
// its export policy and public access left out) and a second, new one.
const whatIfTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  // az splices this file into the request verbatim, comments and all.
  "parameters": {
    "name": { "type": "string" },
    "admin": { "type": "bool", "defaultValue": true }
  },
  "resources": [
    {
      "type": "Microsoft.ContainerRegistry/registries",
      "apiVersion": "2023-07-01",
      "name": "[parameters('name')]",
      "location": "[resourceGroup().location]",
      "sku": { "name": "Premium" },
      "properties": { "adminUserEnabled": "[parameters('admin')]" }
    },
    {
      "type": "Microsoft.ContainerRegistry/registries",
      "apiVersion": "2023-07-01",
      "name": "[concat(parameters('name'), 'copy')]",
      "location": "[resourceGroup().location]",
      "sku": { "name": "Basic" }
    }
  ]
}
`

// TestWhatIfAzureCLI runs the real `az deployment group what-if` against
// a real server: a template that turns on the admin user of an
// export-locked registry (and leaves the lock out) shows one Modify of
// that property and the lock untouched, plus a Create; --no-pretty-print
// prints the same as JSON; a template that would open public access is a
// failed what-if; nothing is deployed by any of them.
func TestWhatIfAzureCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real az CLI")
	}
	testserver.RequireTool(t, "az", "apt-get install -y azure-cli")
	srv := testserver.Start(t, testserver.Options{TLS: true})
	cfg := t.TempDir()
	// Stop az's first-run version probe (no internet here).
	os.WriteFile(filepath.Join(cfg, "versionCheck.json"), []byte(`{"versions":{},"update_time":"2099-01-01 00:00:00.000000"}`), 0o600)
	env := append(os.Environ(), "AZURE_CONFIG_DIR="+cfg, "REQUESTS_CA_BUNDLE="+filepath.Join(srv.DataDir, "tls", "ca.pem"),
		"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_NO_COLOR=true")
	az := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command("az", args...)
		cmd.Env = env
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return so.String(), se.String(), code
	}
	must := func(args ...string) string {
		t.Helper()
		out, stderr, code := az(args...)
		if code != 0 {
			t.Fatalf("az %s: exit %d\n%s\nserver log:\n%s", strings.Join(args, " "), code, stderr, tail(srv.Logs(), 3000))
		}
		return out
	}
	h := srv.URL
	must("cloud", "register", "-n", "Bulkhead", "--endpoint-resource-manager", h+"/", "--endpoint-active-directory", h+"/adfs",
		"--endpoint-active-directory-resource-id", h+"/", "--endpoint-active-directory-graph-resource-id", h+"/graph/",
		"--endpoint-management", h+"/", "--suffix-acr-login-server-endpoint", ".cr.test")
	must("cloud", "set", "-n", "Bulkhead")
	must("login", "--service-principal", "-u", srv.Boot.ClientID, "--password="+srv.Boot.ClientSecret, "--tenant", srv.Boot.TenantID, "-o", "none")
	must("group", "create", "-n", "wiGroup", "-l", "westus", "-o", "none")
	must("acr", "create", "-n", "whatifreg", "-g", "wiGroup", "--sku", "Premium", "-o", "none")
	must("resource", "update", "-g", "wiGroup", "-n", "whatifreg", "--resource-type", "Microsoft.ContainerRegistry/registries",
		"--api-version", "2021-06-01-preview", "--set", "properties.policies.exportPolicy.status=disabled", "--set", "properties.publicNetworkAccess=disabled", "-o", "none")

	file := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(file, []byte(whatIfTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	out := must("deployment", "group", "what-if", "-g", "wiGroup", "--template-file", file, "--parameters", "name=whatifreg")
	for _, want := range []string{
		"~ Microsoft.ContainerRegistry/registries/whatifreg [2023-07-01]",
		"~ properties.adminUserEnabled: false => true",
		"+ Microsoft.ContainerRegistry/registries/whatifregcopy [2023-07-01]",
		"Resource changes: 1 to create, 1 to modify.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("what-if output lacks %q:\n%s", want, out)
		}
	}
	if _, modify, _ := strings.Cut(out, "~ Microsoft.ContainerRegistry/registries/whatifreg "); strings.Contains(modify, "exportPolicy") || strings.Contains(modify, "publicNetworkAccess") {
		t.Errorf("what-if shows the lock changing:\n%s", out)
	}

	out = must("deployment", "group", "what-if", "-g", "wiGroup", "--template-file", file, "--parameters", "name=whatifreg", "--no-pretty-print")
	var result struct {
		Status  string
		Changes []struct {
			ResourceID string
			ChangeType string
			After      map[string]any
			Delta      []struct {
				Path               string
				PropertyChangeType string
				Before, After      any
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &result); err != nil {
		t.Fatalf("--no-pretty-print printed no JSON: %v\n%s", err, out)
	}
	byName := map[string]int{}
	for i, c := range result.Changes {
		byName[c.ResourceID[strings.LastIndex(c.ResourceID, "/")+1:]] = i
	}
	mod := result.Changes[byName["whatifreg"]]
	if mod.ChangeType != "Modify" || len(mod.Delta) != 1 || mod.Delta[0].Path != "properties.adminUserEnabled" ||
		mod.Delta[0].PropertyChangeType != "Modify" || mod.Delta[0].Before != false || mod.Delta[0].After != true ||
		dig(mod.After, "properties", "policies", "exportPolicy", "status") != "disabled" || dig(mod.After, "properties", "publicNetworkAccess") != "Disabled" {
		t.Fatalf("--no-pretty-print modify: %s", out)
	}
	if c := result.Changes[byName["whatifregcopy"]]; c.ChangeType != "Create" || dig(c.After, "properties", "loginServer") != srv.Addr+"/whatifregcopy" {
		t.Fatalf("--no-pretty-print create: %s", out)
	}

	opens := strings.Replace(whatIfTemplate, `"properties": {`, `"properties": { "publicNetworkAccess": "Enabled",`, 1)
	if err := os.WriteFile(file, []byte(opens), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := az("deployment", "group", "what-if", "-g", "wiGroup", "--template-file", file, "--parameters", "name=whatifreg")
	if code != 1 || !strings.Contains(stderr, "InvalidTemplateDeployment") || !strings.Contains(stderr, "exports disabled") {
		t.Fatalf("what-if of a refused change: exit %d %s", code, stderr)
	}
	broken := strings.Replace(whatIfTemplate, `"[concat(parameters('name'), 'copy')]"`, `"[nosuch(parameters('name'))]"`, 1)
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = az("deployment", "group", "what-if", "-g", "wiGroup", "--template-file", file, "--parameters", "name=whatifreg")
	if code != 1 || !strings.Contains(stderr, "InvalidTemplateDeployment") || !strings.Contains(stderr, "resources[1]") {
		t.Fatalf("what-if of a broken template: exit %d %s", code, stderr)
	}

	// Nothing was deployed.
	show := must("acr", "show", "-n", "whatifreg", "-o", "json")
	var reg map[string]any
	json.Unmarshal([]byte(show), &reg)
	if reg["adminUserEnabled"] != false || dig(reg, "policies", "exportPolicy", "status") != "disabled" {
		t.Fatalf("a what-if changed the registry: %s", show)
	}
	if _, _, code := az("acr", "show", "-n", "whatifregcopy", "-g", "wiGroup"); code != 3 {
		t.Fatalf("a what-if created a registry: exit %d", code)
	}
	if list := must("deployment", "group", "list", "-g", "wiGroup", "-o", "json"); strings.TrimSpace(list) != "[]" {
		t.Fatalf("a what-if left a deployment: %s", list)
	}
}
