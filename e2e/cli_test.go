package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestBulkheadCLI runs the az-style client commands of the bulkhead binary
// against a real server over HTTPS, the seed's commands included, and, when
// az is installed, checks that both print the same JSON.
func TestBulkheadCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{TLS: true})
	bin := testserver.Binary(t)
	env := append(os.Environ(), "BULKHEAD_CONFIG_DIR="+t.TempDir())
	type result struct {
		out, stderr string
		code        int
	}
	run := func(args ...string) result {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{so.String(), se.String(), code}
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		r := run(args...)
		if r.code != 0 {
			t.Fatalf("bulkhead %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		var m map[string]any
		json.Unmarshal([]byte(r.out), &m)
		return m
	}
	if r := run("login", "--endpoint", srv.URL, "--bootstrap", srv.DataDir, "-o", "tsv", "--query", "[0].subscriptionId"); r.code != 0 || strings.TrimSpace(r.out) != srv.Boot.SubscriptionID {
		t.Fatalf("login: %d %q %s", r.code, r.out, r.stderr)
	}
	srv.ARM(t, "PUT", "/subscriptions/"+srv.Boot.SubscriptionID+"/resourceGroups/myResourceGroup?api-version=2024-03-01", map[string]any{"location": "westus"})
	if c := must("acr", "create", "-n", "myregistry", "-g", "myResourceGroup", "--sku", "Premium"); c["loginServer"] != srv.Addr+"/myregistry" || c["resourceGroup"] != "myResourceGroup" {
		t.Fatalf("acr create: %v", c)
	}
	seed := []string{"resource", "update", "--resource-group", "myResourceGroup", "--name", "myregistry",
		"--resource-type", "Microsoft.ContainerRegistry/registries", "--api-version", "2021-06-01-preview"}
	got := must(append(seed, "--set", "properties.policies.exportPolicy.status=disabled", "--set", "properties.publicNetworkAccess=disabled")...)
	if dig(got, "properties", "policies", "exportPolicy", "status") != "disabled" || dig(got, "properties", "publicNetworkAccess") != "Disabled" || got["resourceGroup"] != "myResourceGroup" {
		t.Fatalf("seed update: %v", got)
	}
	r := run(append(seed, "--set", "properties.publicNetworkAccess=enabled")...)
	if r.code != 1 || !strings.Contains(r.stderr, "ERROR: (BadRequest) Enabling public network access is not supported because the registry 'myregistry' has exports disabled.") {
		t.Fatalf("refusal: %d %s", r.code, r.stderr)
	}
	if r := run(append(seed, "--set", "properties.nosuch.x=1")...); r.code != 1 || !strings.Contains(r.stderr, "couldn't find 'nosuch'") {
		t.Fatalf("--set on a missing intermediate: %d %s", r.code, r.stderr)
	}
	// --add and --remove with list indices and JSON values.
	must("acr", "update", "-n", "myregistry", "--allow-exports", "true")
	must("acr", "update", "-n", "myregistry", "--public-network-enabled", "true")
	must(append(seed, "--add", "properties.networkRuleSet.ipRules value=10.0.0.1 action=Allow")...)
	got = must(append(seed, "--add", `properties.networkRuleSet.ipRules {"value":"10.0.0.2","action":"Allow"}`)...)
	if n := len(dig(got, "properties", "networkRuleSet", "ipRules").([]any)); n != 2 {
		t.Fatalf("--add: %d rules", n)
	}
	got = must(append(seed, "--set", "properties.networkRuleSet.ipRules[1].value=10.0.0.3", "--remove", "properties.networkRuleSet.ipRules 0")...)
	rules := dig(got, "properties", "networkRuleSet", "ipRules").([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["value"] != "10.0.0.3" {
		t.Fatalf("--set [1] and --remove 0: %v", rules)
	}

	if s := must("acr", "show", "-n", "myregistry"); s["name"] != "myregistry" {
		t.Fatalf("acr show: %v", s)
	}
	if r := run("acr", "list", "-o", "table"); r.code != 0 || !strings.Contains(r.out, "myregistry") || !strings.Contains(r.out, "LoginServer") {
		t.Fatalf("acr list -o table: %s %s", r.out, r.stderr)
	}
	if r := run("acr", "list", "--query", "[].name", "-o", "tsv"); strings.TrimSpace(r.out) != "myregistry" {
		t.Fatalf("acr list --query: %q", r.out)
	}
	must("acr", "update", "-n", "myregistry", "--admin-enabled", "true")
	if c := must("acr", "credential", "show", "-n", "myregistry"); c["username"] != "myregistry" {
		t.Fatalf("credential show: %v", c)
	}
	if c := must("acr", "check-name", "-n", "myregistry"); c["nameAvailable"] != false {
		t.Fatalf("check-name: %v", c)
	}
	tmpl, _ := filepath.Abs(filepath.Join("testdata", "registry.json"))
	d := must("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl, "-p", "registryName=clitmpl01")
	if dig(d, "properties", "outputs", "exportPolicy", "value") != "disabled" {
		t.Fatalf("deployment: %v", d)
	}
	if r := run("deployment", "group", "list", "-g", "myResourceGroup", "--query", "[].name", "-o", "tsv"); strings.TrimSpace(r.out) != "registry" {
		t.Fatalf("deployment list: %q %s", r.out, r.stderr)
	}
	if d := must("deployment", "group", "show", "-g", "myResourceGroup", "-n", "registry"); dig(d, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("deployment show: %v", d)
	}
	if r := run("resource", "list", "-o", "none"); r.code != 0 || r.out != "" {
		t.Fatalf("resource list -o none: %d %q", r.code, r.out)
	}
	if r := run("acr", "delete", "-n", "clitmpl01", "--yes"); r.code != 0 {
		t.Fatalf("acr delete: %s", r.stderr)
	}
	if r := run("acr", "show", "-n", "clitmpl01", "-g", "myResourceGroup"); r.code != 3 {
		t.Fatalf("show after delete: exit %d", r.code)
	}
	if r := run("acr", "show", "-n", "x", "-o", "yaml"); r.code == 0 {
		t.Fatal("unknown output format accepted")
	}

	// Same JSON as the real az for the seed's command.
	testserver.RequireTool(t, "az", "apt-get install -y azure-cli")
	ours := run(append(seed, "--set", "properties.adminUserEnabled=false")...)
	cfg := t.TempDir()
	os.WriteFile(filepath.Join(cfg, "versionCheck.json"), []byte(`{"versions":{},"update_time":"2099-01-01 00:00:00.000000"}`), 0o600)
	azEnv := append(os.Environ(), "AZURE_CONFIG_DIR="+cfg, "REQUESTS_CA_BUNDLE="+filepath.Join(srv.DataDir, "tls", "ca.pem"))
	azRun := func(args ...string) string {
		cmd := exec.Command("az", args...)
		cmd.Env = azEnv
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("az %v: %v", args, err)
		}
		return string(out)
	}
	h := srv.URL
	azRun("cloud", "register", "-n", "Bulkhead", "--endpoint-resource-manager", h+"/", "--endpoint-active-directory", h+"/adfs",
		"--endpoint-active-directory-resource-id", h+"/", "--endpoint-active-directory-graph-resource-id", h+"/graph/", "--endpoint-management", h+"/")
	azRun("cloud", "set", "-n", "Bulkhead")
	azRun("login", "--service-principal", "-u", srv.Boot.ClientID, "--password="+srv.Boot.ClientSecret, "--tenant", srv.Boot.TenantID, "-o", "none")
	theirs := azRun(append([]string{"resource", "update", "--resource-group", "myResourceGroup", "--name", "myregistry",
		"--resource-type", "Microsoft.ContainerRegistry/registries", "--api-version", "2021-06-01-preview"}, "--set", "properties.adminUserEnabled=false", "-o", "json")...)
	norm := func(s string) string {
		var m map[string]any
		json.Unmarshal([]byte(s), &m)
		delete(m, "systemData")
		b, _ := json.Marshal(m)
		return string(b)
	}
	if a, b := norm(ours.out), norm(theirs); a != b {
		t.Fatalf("bulkhead and az print different JSON:\nbulkhead: %s\naz:       %s", a, b)
	}
}
