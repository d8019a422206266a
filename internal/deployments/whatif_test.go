package deployments_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// registryTemplate deploys one Premium registry; its admin user is a
// parameter, and its policy and public access are left out (JSONC, as az
// sends the file).
const registryTemplate = `{
  // one registry
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "name": { "type": "string" },
    "admin": { "type": "bool", "defaultValue": false }
  },
  "resources": [{
    "type": "Microsoft.ContainerRegistry/registries",
    "apiVersion": "2023-07-01",
    "name": "[parameters('name')]",
    "location": "[resourceGroup().location]",
    "sku": { "name": "Premium" },
    "tags": { "team": "platform" },
    "properties": { "adminUserEnabled": "[parameters('admin')]" }
  }]
}`

// A new resource is Create, with the document the PUT would write
// (defaults filled); after the template is deployed the same what-if is
// NoChange, and a changed parameter is a Modify naming only that
// property. Resources the template does not deploy are Ignore.
// ResourceIdOnly gives ids and Create/Deploy only.
func TestWhatIfCreateModifyNoChange(t *testing.T) {
	w := newWorld(t)
	w.mkGroup("wi")
	w.do("PUT", regPath("wi", "bystander1")+regVersion, `{"location":"westus","sku":{"name":"Basic"}}`).expect(t, http.StatusCreated, "")

	got := changes(t, w.whatIf("wi", registryTemplate, `{"name":{"value":"wireg01"}}`, ""))
	c := got["wireg01"]
	if c["changeType"] != "Create" || c["before"] != nil || dig(c, "after", "apiVersion") != "2023-07-01" ||
		dig(c, "after", "properties", "policies", "exportPolicy", "status") != "enabled" || dig(c, "after", "properties", "adminUserEnabled") != false ||
		dig(c, "after", "tags", "team") != "platform" || dig(c, "after", "properties", "loginServer") == nil {
		t.Fatalf("create: %v", c)
	}
	if got["bystander1"]["changeType"] != "Ignore" || len(got) != 2 {
		t.Fatalf("the group's other registry: %v", got)
	}
	w.do("GET", regPath("wi", "wireg01")+regVersion, "").expect(t, http.StatusNotFound, "")

	dep := `{"properties":{"mode":"Incremental","parameters":{"name":{"value":"wireg01"}},"template":` + registryTemplate + `}}`
	w.do("PUT", deploymentPath("wi", "real")+depVersion, dep).expect(t, http.StatusCreated, "")
	got = changes(t, w.whatIf("wi", registryTemplate, `{"name":{"value":"wireg01"}}`, ""))
	if c := got["wireg01"]; c["changeType"] != "NoChange" || len(paths(c)) != 0 || c["before"] == nil || c["after"] == nil {
		t.Fatalf("redeploying as deployed: %v", c)
	}

	got = changes(t, w.whatIf("wi", registryTemplate, `{"name":{"value":"wireg01"},"admin":{"value":true}}`, ""))
	c = got["wireg01"]
	if c["changeType"] != "Modify" || !slices.Equal(paths(c), []string{"Modify properties.adminUserEnabled"}) {
		t.Fatalf("admin user on: %v %v", c["changeType"], paths(c))
	}
	d := c["delta"].([]any)[0].(map[string]any)
	if d["before"] != false || d["after"] != true {
		t.Fatalf("admin user delta: %v", d)
	}
	if dig(c, "before", "properties", "creationDate") != dig(c, "after", "properties", "creationDate") {
		t.Fatalf("read-only properties moved: %v", c)
	}

	got = changes(t, w.whatIf("wi", registryTemplate, `{"name":{"value":"wireg01"},"admin":{"value":true}}`, "resourceidonly"))
	if c := got["wireg01"]; c["changeType"] != "Deploy" || c["before"] != nil || c["after"] != nil || len(paths(c)) != 0 {
		t.Fatalf("ResourceIdOnly of an existing registry: %v", c)
	}
	got = changes(t, w.whatIf("wi", registryTemplate, `{"name":{"value":"wireg02"}}`, "ResourceIdOnly"))
	if c := got["wireg02"]; c["changeType"] != "Create" || c["after"] != nil {
		t.Fatalf("ResourceIdOnly of a new registry: %v", c)
	}
}

// The lock is sticky in the prediction as in the PUT: a template that
// leaves the export policy out of a locked registry keeps exports and
// public access off, so only its own change shows; one that opens public
// access without enabling exports is a failed what-if with the PUT's
// refusal inside; one that says enabled shows both changes.
func TestWhatIfStickyLock(t *testing.T) {
	w := newWorld(t)
	w.mkGroup("lock")
	path := regPath("lock", "locked01") + regVersion
	w.do("PUT", path, `{"location":"westus","sku":{"name":"Premium"},"tags":{"team":"platform"}}`).expect(t, http.StatusCreated, "")
	w.do("PATCH", path, `{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`).expect(t, http.StatusOK, "")

	c := changes(t, w.whatIf("lock", registryTemplate, `{"name":{"value":"locked01"},"admin":{"value":true}}`, ""))["locked01"]
	if c["changeType"] != "Modify" || !slices.Equal(paths(c), []string{"Modify properties.adminUserEnabled"}) ||
		dig(c, "after", "properties", "policies", "exportPolicy", "status") != "disabled" || dig(c, "after", "properties", "publicNetworkAccess") != "Disabled" {
		t.Fatalf("a template that leaves the lock out: %v %v", paths(c), c["after"])
	}

	opens := strings.Replace(registryTemplate, `"properties": {`, `"properties": { "publicNetworkAccess": "Enabled",`, 1)
	r := w.whatIf("lock", opens, `{"name":{"value":"locked01"}}`, "")
	inner, _ := dig(r.body, "error", "details").([]any)
	if r.status != http.StatusOK || r.body["status"] != "Failed" || dig(r.body, "error", "code") != "InvalidTemplateDeployment" || len(inner) != 1 ||
		!strings.Contains(dig(inner[0], "message").(string), "exports disabled") || !strings.HasSuffix(dig(inner[0], "target").(string), "/locked01") {
		t.Fatalf("opening public access while locked: %d %s", r.status, r.raw)
	}

	unlocks := strings.Replace(registryTemplate, `"properties": {`,
		`"properties": { "publicNetworkAccess": "Enabled", "policies": { "exportPolicy": { "status": "enabled" } },`, 1)
	c = changes(t, w.whatIf("lock", unlocks, `{"name":{"value":"locked01"}}`, ""))["locked01"]
	if want := []string{"Modify properties.policies.exportPolicy.status", "Modify properties.publicNetworkAccess"}; !slices.Equal(paths(c), want) {
		t.Fatalf("unlocking: %v", paths(c))
	}
	w.do("GET", path, "").expect(t, http.StatusOK, "")
	if s := dig(w.do("GET", path, "").body, "properties", "policies", "exportPolicy", "status"); s != "disabled" {
		t.Fatalf("a what-if unlocked the registry: %v", s)
	}
}

// Bad input is a clear 4xx in the ARM envelope, as create's validation
// gives it: a body that is not JSON, a template error (at its path), an
// unsupported mode or result format, a missing group, a caller who may not.
func TestWhatIfBadInput(t *testing.T) {
	w := newWorld(t)
	w.mkGroup("bad")
	post := func(rg, body string, caller ...string) resp {
		return w.do("POST", deploymentPath(rg, "wi")+"/whatIf"+depVersion, body, caller...)
	}
	post("bad", `{"properties":`, "").expect(t, http.StatusBadRequest, "InvalidTemplateDeployment")
	r := post("bad", deploymentBody(`{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"[nosuch()]"}]}`, "", ""))
	r.expect(t, http.StatusBadRequest, "InvalidTemplateDeployment")
	if target, _ := dig(r.body, "error", "target").(string); !strings.HasPrefix(target, "resources[0]") {
		t.Fatalf("template error target: %s", r.raw)
	}
	post("bad", deploymentBody(registryTemplate, "", ""), owner).expect(t, http.StatusBadRequest, "InvalidTemplateDeployment") // name is required
	post("bad", strings.Replace(deploymentBody(registryTemplate, `{"name":{"value":"x12345"}}`, ""), "Incremental", "Complete", 1)).
		expect(t, http.StatusBadRequest, "InvalidTemplateDeployment")
	post("bad", deploymentBody(registryTemplate, `{"name":{"value":"x12345"}}`, "Everything")).expect(t, http.StatusBadRequest, "InvalidRequestContent")
	post("nogroup", deploymentBody(registryTemplate, `{"name":{"value":"x12345"}}`, "")).expect(t, http.StatusNotFound, "ResourceGroupNotFound")
	post("bad", deploymentBody(registryTemplate, `{"name":{"value":"x12345"}}`, ""), reader).expect(t, http.StatusForbidden, "AuthorizationFailed")
	w.do("POST", deploymentPath("bad", "wi")+"/whatIf?api-version=1999-01-01", deploymentBody(registryTemplate, "", "")).expect(t, http.StatusBadRequest, "")

	// A resource the service cannot deploy fails the what-if as its PUT
	// would fail the deployment.
	r = w.whatIf("bad", `{"resources":[{"type":"Microsoft.Storage/storageAccounts","apiVersion":"2022-09-01","name":"acct","location":"westus"}]}`, "", "")
	if r.body["status"] != "Failed" || dig(r.body, "error", "details") == nil {
		t.Fatalf("an unknown resource type: %s", r.raw)
	}
}

// A what-if writes nothing: no deployment record, no resource, no change
// to what exists; only the operation record its poll reads.
func TestWhatIfWritesNothing(t *testing.T) {
	w := newWorld(t)
	w.mkGroup("quiet")
	w.do("PUT", regPath("quiet", "quiet01")+regVersion, `{"location":"westus","sku":{"name":"Premium"}}`).expect(t, http.StatusCreated, "")
	before := w.do("GET", regPath("quiet", "quiet01")+regVersion, "").raw
	snapshot := func() (rows []string, registries int) {
		err := w.store.View(context.Background(), func(tx meta.Tx) error {
			all, err := tx.ListResources("", "", meta.Page{})
			for _, r := range all {
				rows = append(rows, r.Type+" "+r.ID)
			}
			if err != nil {
				return err
			}
			regs, err := tx.ListRegistries(sub, "", meta.Page{})
			registries = len(regs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows, registries
	}
	rows, regs := snapshot()
	for _, params := range []string{`{"name":{"value":"quiet01"},"admin":{"value":true}}`, `{"name":{"value":"quiet02"}}`} {
		changes(t, w.whatIf("quiet", registryTemplate, params, ""))
	}
	w.whatIf("quiet", strings.Replace(registryTemplate, `"properties": {`, `"properties": { "zoneRedundancy": "Enabled",`, 1), `{"name":{"value":"quiet01"}}`, "")
	after, regsAfter := snapshot()
	var added []string
	for _, r := range after {
		if !slices.Contains(rows, r) {
			added = append(added, r)
		}
	}
	if regsAfter != regs || len(added) != 3 {
		t.Fatalf("what-ifs wrote %d registries and %v", regsAfter-regs, added)
	}
	for _, r := range added {
		if !strings.HasPrefix(r, "Microsoft.Resources/operationStatuses ") {
			t.Fatalf("a what-if wrote %s", r)
		}
	}
	if now := w.do("GET", regPath("quiet", "quiet01")+regVersion, "").raw; now != before {
		t.Fatalf("a what-if changed the registry:\n%s\n%s", before, now)
	}
	w.do("GET", deploymentPath("quiet", "wi")+depVersion, "").expect(t, http.StatusNotFound, "DeploymentNotFound")
}
