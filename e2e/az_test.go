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

// TestAzureCLI drives a real `bulkhead serve --tls-self-signed` with the
// real az CLI (Debian azure-cli, installed by .ci/run): cloud registration,
// service-principal login, the seed's `az resource update` commands, and
// the az acr management commands.
func TestAzureCLI(t *testing.T) {
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
	type result struct {
		out, stderr string
		code        int
	}
	az := func(args ...string) result {
		t.Helper()
		cmd := exec.Command("az", args...)
		cmd.Env = env
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{so.String(), se.String(), code}
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		r := az(append(args, "-o", "json")...)
		if r.code != 0 {
			t.Fatalf("az %s: exit %d\n%s\nserver log:\n%s", strings.Join(args, " "), r.code, r.stderr, tail(srv.Logs(), 3000))
		}
		var m map[string]any
		json.Unmarshal([]byte(r.out), &m)
		return m
	}
	h := srv.URL
	if r := az("cloud", "register", "-n", "Bulkhead", "--endpoint-resource-manager", h+"/", "--endpoint-active-directory", h+"/adfs",
		"--endpoint-active-directory-resource-id", h+"/", "--endpoint-active-directory-graph-resource-id", h+"/graph/",
		"--endpoint-management", h+"/", "--suffix-acr-login-server-endpoint", ".cr.test"); r.code != 0 {
		t.Fatalf("cloud register: %s", r.stderr)
	}
	az("cloud", "set", "-n", "Bulkhead")
	if r := az("login", "--service-principal", "-u", srv.Boot.ClientID, "--password="+srv.Boot.ClientSecret, "--tenant", srv.Boot.TenantID, "-o", "none"); r.code != 0 {
		t.Fatalf("login: %s", r.stderr)
	}
	must("group", "create", "-n", "myResourceGroup", "-l", "westus")
	created := must("acr", "create", "-n", "myregistry", "-g", "myResourceGroup", "--sku", "Premium")
	if created["loginServer"] != srv.Addr+"/myregistry" || dig(created, "policies", "exportPolicy", "status") != "enabled" {
		t.Fatalf("acr create: %v", created)
	}

	// An image to import, and a target registry for it.
	if _, err := newPusher(srv).pushImage("myregistry/app", "v1", []byte("az import layer")); err != nil {
		t.Fatal(err)
	}
	must("acr", "create", "-n", "importtarget", "-g", "myResourceGroup", "--sku", "Basic")
	sourceID := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/myResourceGroup/providers/Microsoft.ContainerRegistry/registries/myregistry"

	seed := []string{"resource", "update", "--resource-group", "myResourceGroup", "--name", "myregistry",
		"--resource-type", "Microsoft.ContainerRegistry/registries", "--api-version", "2021-06-01-preview"}
	got := must(append(seed, "--set", "properties.policies.exportPolicy.status=disabled", "--set", "properties.publicNetworkAccess=disabled")...)
	if dig(got, "properties", "policies", "exportPolicy", "status") != "disabled" || dig(got, "properties", "publicNetworkAccess") != "Disabled" ||
		got["name"] != "myregistry" || dig(got, "sku", "name") != "Premium" || dig(got, "properties", "loginServer") == nil {
		t.Fatalf("seed update printed %v", got)
	}
	// az's GET-edit-PUT round trip of an unrelated change keeps the lock.
	got = must(append(seed, "--set", "tags.owner=platform")...)
	if dig(got, "properties", "policies", "exportPolicy", "status") != "disabled" || dig(got, "properties", "publicNetworkAccess") != "Disabled" ||
		dig(got, "tags", "owner") != "platform" {
		t.Fatalf("an unrelated az resource update printed %v", got)
	}
	// With exports disabled, az acr import fails by login server and by
	// resource id.
	for _, args := range [][]string{{"--source", srv.Addr + "/myregistry/app:v1"}, {"--source", "app:v1", "--registry", sourceID}} {
		r := az(append([]string{"acr", "import", "-n", "importtarget"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "ExportsDisabled") {
			t.Fatalf("az acr import %v from an export-disabled registry: exit %d %s", args, r.code, r.stderr)
		}
	}
	// An import inside the registry itself moves nothing out: allowed.
	if r := az("acr", "import", "-n", "myregistry", "--source", srv.Addr+"/myregistry/app:v1", "--image", "prod/app:v1"); r.code != 0 {
		t.Fatalf("az acr import within an export-disabled registry: exit %d %s", r.code, r.stderr)
	}
	r := az(append(seed, "--set", "properties.publicNetworkAccess=enabled")...)
	want := "(BadRequest) Enabling public network access is not supported because the registry 'myregistry' has exports disabled."
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("re-enabling public access: exit %d %s", r.code, r.stderr)
	}
	got = must(append(seed, "--set", "properties.policies.exportPolicy.status=enabled")...)
	if dig(got, "properties", "policies", "exportPolicy", "status") != "enabled" || dig(got, "properties", "publicNetworkAccess") != "Disabled" {
		t.Fatalf("re-enable exports printed %v", got)
	}

	if r := az("acr", "import", "-n", "importtarget", "--source", "app:v1", "--registry", sourceID, "--image", "copied/app:v1"); r.code != 0 {
		t.Fatalf("az acr import after exports are enabled: exit %d %s", r.code, r.stderr)
	}
	if resp, _, err := newPusher(srv).do("GET", "/v2/importtarget/copied/app/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("imported image: %v %v", err, resp)
	}
	if s := must("acr", "show", "-n", "myregistry"); s["name"] != "myregistry" {
		t.Fatalf("acr show: %v", s)
	}
	if r := az("acr", "list", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"myregistry"`) {
		t.Fatalf("acr list: %d %s", r.code, r.stderr)
	}
	if u := must("acr", "update", "-n", "myregistry", "--admin-enabled", "true"); u["adminUserEnabled"] != true {
		t.Fatalf("acr update: %v", u)
	}
	cred := must("acr", "credential", "show", "-n", "myregistry")
	if cred["username"] != "myregistry" || len(cred["passwords"].([]any)) != 2 {
		t.Fatalf("credential show: %v", cred)
	}
	if c := must("acr", "check-name", "-n", "myregistry"); c["nameAvailable"] != false || c["reason"] != "AlreadyExists" {
		t.Fatalf("check-name: %v", c)
	}
	if c := must("acr", "check-name", "-n", "freshname1"); c["nameAvailable"] != true {
		t.Fatalf("check-name: %v", c)
	}
	if s := must("resource", "show", "-g", "myResourceGroup", "-n", "myregistry", "--resource-type", "Microsoft.ContainerRegistry/registries"); s["name"] != "myregistry" {
		t.Fatalf("resource show: %v", s)
	}
	if r := az("resource", "list", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"myregistry"`) {
		t.Fatalf("resource list: %d %s", r.code, r.stderr)
	}
	// The same changes through ARM template deployments.
	tmpl := func(name string) string { abs, _ := filepath.Abs(filepath.Join("testdata", name)); return abs }
	dep := must("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl("registry.json"), "--parameters", "registryName=tmplreg01")
	if dig(dep, "properties", "provisioningState") != "Succeeded" || dig(dep, "properties", "outputs", "exportPolicy", "value") != "disabled" ||
		dig(dep, "properties", "outputs", "loginServer", "value") != srv.Addr+"/tmplreg01" {
		t.Fatalf("deployment: %v", dep["properties"])
	}
	if s := must("acr", "show", "-n", "tmplreg01"); s["publicNetworkAccess"] != "Disabled" || dig(s, "policies", "exportPolicy", "status") != "disabled" {
		t.Fatalf("deployed registry: %v", s)
	}
	r = az("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl("pipeline.json"), "--parameters", "registryName=tmplreg01")
	if r.code != 1 || !strings.Contains(r.stderr, "ExportsDisabled") || !strings.Contains(r.stderr, "exportPipelines/exportpipe1") {
		t.Fatalf("export pipeline on an export-disabled registry via template: exit %d %s", r.code, r.stderr)
	}
	dep = must("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl("registry.json"), "--parameters", "registryName=tmplreg01", "exports=enabled")
	if dig(dep, "properties", "outputs", "exportPolicy", "value") != "enabled" {
		t.Fatalf("re-enable via template: %v", dep["properties"])
	}
	must("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl("pipeline.json"), "--parameters", "registryName=tmplreg01")
	r = az("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl("broken.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "InvalidTemplateDeployment") || !strings.Contains(r.stderr, "resources[0]") {
		t.Fatalf("broken template: exit %d %s", r.code, r.stderr)
	}
	// Copy loops, conditions, reference() and listCredentials() through az.
	dep = must("deployment", "group", "create", "-g", "myResourceGroup", "--template-file", tmpl("fleet.json"), "--parameters", "prefix=azfleet", "count=2")
	if got := mustJSON(dig(dep, "properties", "outputs", "loginServers", "value")); got != `["`+srv.Addr+`/azfleet1","`+srv.Addr+`/azfleet2"]` ||
		dig(dep, "properties", "outputs", "adminUser", "value") != "azfleet1" {
		t.Fatalf("fleet deployment: %s %v", got, dep["properties"])
	}
	if s := must("acr", "show", "-n", "azfleet2"); s["sku"].(map[string]any)["name"] != "Standard" {
		t.Fatalf("fleet registry 2: %v", s)
	}
	if r := az("deployment", "group", "list", "-g", "myResourceGroup", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"pipeline"`) {
		t.Fatalf("deployment list: %d %s", r.code, r.stderr)
	}
	if d := must("deployment", "group", "show", "-g", "myResourceGroup", "-n", "registry"); dig(d, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("deployment show: %v", d)
	}

	// A repository-scoped token, as az makes it (scope map, token,
	// passwords), signs in on the data plane with what it was given.
	tokOut := must("acr", "token", "create", "-n", "ci-bot", "-r", "importtarget", "--repository", "copied/app", "content/read", "metadata/read")
	tokPasswords, _ := dig(tokOut, "credentials", "passwords").([]any)
	if len(tokPasswords) != 2 {
		t.Fatalf("az acr token create: %v", tokOut)
	}
	bot := &pusher{base: srv.URL, user: "ci-bot", pass: tokPasswords[0].(map[string]any)["value"].(string), client: srv.Client}
	if resp, _, err := bot.do("GET", "/v2/importtarget/copied/app/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("pull with the az-made token: %v %v", err, resp)
	}
	if resp, _, err := bot.do("POST", "/v2/importtarget/copied/app/blobs/uploads/", nil); err != nil || resp.StatusCode != 403 {
		t.Fatalf("push with a read-only token: %v %v", err, resp)
	}

	// A private endpoint to the registry through the generic resource
	// commands (Debian's az 2.45 cannot load its own network module).
	rgID := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/myResourceGroup"
	must("resource", "create", "-g", "myResourceGroup", "-n", "corp", "--resource-type", "Microsoft.Network/virtualNetworks", "--api-version", "2023-09-01",
		"--location", "westus", "--properties", `{"addressSpace":{"addressPrefixes":["127.0.0.0/8"]},"subnets":[{"name":"inside","properties":{"addressPrefix":"127.0.10.0/24"}}]}`)
	must("resource", "create", "-g", "myResourceGroup", "-n", "pe1", "--resource-type", "Microsoft.Network/privateEndpoints", "--api-version", "2023-09-01",
		"--location", "westus", "--properties", `{"subnet":{"id":"`+rgID+`/providers/Microsoft.Network/virtualNetworks/corp/subnets/inside"},"privateLinkServiceConnections":[{"name":"c1","properties":{"privateLinkServiceId":"`+sourceID+`","groupIds":["registry"]}}]}`)
	if r := az("acr", "show", "-n", "myregistry", "--query", "privateEndpointConnections[0].privateLinkServiceConnectionState.status", "-o", "tsv"); r.code != 0 || strings.TrimSpace(r.out) != "Approved" {
		t.Fatalf("private endpoint connection via az: %d %q %s", r.code, r.out, r.stderr)
	}
	if r := az("resource", "list", "-g", "myResourceGroup", "-o", "json"); r.code != 0 || !strings.Contains(r.out, "Microsoft.Network/privateEndpoints") {
		t.Fatalf("resource list misses the private endpoint: %d %s", r.code, r.stderr)
	}

	if r := az("acr", "delete", "-n", "myregistry", "--yes"); r.code != 0 {
		t.Fatalf("acr delete: %s", r.stderr)
	}
	if r := az("acr", "show", "-n", "myregistry", "-g", "myResourceGroup"); r.code != 3 {
		t.Fatalf("acr show after delete: exit %d", r.code)
	}
}
