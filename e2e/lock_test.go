package e2e

import (
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// The export lock survives everything that leaves it out: a template that
// redeploys the registry as it was first written, and full PUTs at old and
// new api-versions. Afterwards importImage from the registry still fails
// and its content still cannot be pulled from outside.
func TestExportLockSurvivesRedeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	arm := newARM(t, srv)
	rg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/lockrg"
	if code, m := arm.do("PUT", rg+"?api-version=2024-03-01", `{"location":"westus"}`); code/100 != 2 {
		t.Fatalf("resource group: %d %v", code, m)
	}
	regs := rg + "/providers/Microsoft.ContainerRegistry/registries/"
	// The registry as first written: Premium, nothing about exports or
	// public access.
	const template = `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
	  "resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2023-07-01","name":"lockedreg","location":"westus",
	    "sku":{"name":"Premium"},"properties":{"adminUserEnabled":false}}]}`
	deploy := func(name string) {
		t.Helper()
		code, dep := arm.do("PUT", rg+"/providers/Microsoft.Resources/deployments/"+name+"?api-version=2024-03-01",
			`{"properties":{"mode":"Incremental","template":`+template+`}}`)
		if code/100 != 2 || dig(dep, "properties", "provisioningState") != "Succeeded" {
			t.Fatalf("deployment %s: %d %s", name, code, mustJSON(dep))
		}
	}
	deploy("first")
	srv.CreateRegistry(t, "lockrg", "locktarget", "Premium")
	p := newPusher(srv)
	if _, err := p.pushImage("lockedreg/app", "v1", []byte("secret layer")); err != nil {
		t.Fatal(err)
	}
	if code, m := arm.do("PATCH", regs+"lockedreg?api-version=2021-06-01-preview",
		`{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`); code != 200 {
		t.Fatalf("lock: %d %v", code, m)
	}
	locked := func(how string) {
		t.Helper()
		code, m := arm.do("GET", regs+"lockedreg?api-version=2025-11-01", "")
		if code != 200 || dig(m, "properties", "policies", "exportPolicy", "status") != "disabled" ||
			dig(m, "properties", "publicNetworkAccess") != "Disabled" {
			t.Fatalf("after %s the lock is gone: %d %s", how, code, mustJSON(m))
		}
		code, m = arm.do("POST", regs+"locktarget/importImage?api-version=2022-02-01-preview",
			`{"source":{"resourceId":"`+regs+`lockedreg","sourceImage":"app:v1"},"targetTags":["stolen:v1"]}`)
		if code != 400 || dig(m, "error", "code") != "ExportsDisabled" {
			t.Fatalf("after %s, import from the locked registry: %d %s", how, code, mustJSON(m))
		}
		resp, _, err := p.do("GET", "/v2/lockedreg/app/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 403 {
			t.Fatalf("after %s, a public pull answers %d", how, resp.StatusCode)
		}
	}
	locked("locking")
	deploy("again")
	locked("redeploying the original template")
	for _, v := range []string{"2019-05-01", "2021-06-01-preview", "2023-07-01", "2025-11-01"} {
		for _, body := range []string{
			`{"location":"westus","sku":{"name":"Premium"}}`,
			`{"location":"westus","sku":{"name":"Premium"},"properties":{"publicNetworkAccess":"Disabled"}}`,
			`{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{}}}}`,
		} {
			if code, m := arm.do("PUT", regs+"lockedreg?api-version="+v, body); code != 200 {
				t.Fatalf("PUT %s %s: %d %v", v, body, code, m)
			}
			locked("PUT " + v + " " + body)
		}
	}
}
