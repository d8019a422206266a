package deployments_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A template whose resources depend on each other: reference() to a
// registry the template creates sees its predicted document; a child the
// registry's provider offers no preview for is predicted from the
// template (a new one) or laid over the current document (an existing
// one, whose server-set properties stay); a body that needs list*()
// cannot be predicted (what-if runs no actions), so an existing resource
// is Deploy and a new one a Create without properties.
func TestWhatIfReferencesAndChildren(t *testing.T) {
	w := newWorld(t)
	w.mkGroup("refs")
	w.do("PUT", regPath("refs", "refsold01")+regVersion, `{"location":"westus","sku":{"name":"Basic"},"properties":{"adminUserEnabled":true}}`).
		expect(t, http.StatusCreated, "")
	w.do("PUT", regPath("refs", "refsold01")+"/scopeMaps/readers"+regVersion, `{"properties":{"description":"pull","actions":["repositories/app/content/read"]}}`).
		expect(t, http.StatusCreated, "")
	const tmpl = `{
  "resources": [
    { "type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "refsnew01", "location": "westus",
      "sku": { "name": "Standard" } },
    { "type": "Microsoft.ContainerRegistry/registries/scopeMaps", "apiVersion": "2023-07-01", "name": "refsnew01/pullers",
      "dependsOn": ["refsnew01"],
      "properties": { "actions": ["repositories/app/content/read"] } },
    { "type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "refsnew02", "location": "westus",
      "dependsOn": ["refsnew01"],
      "sku": { "name": "Basic" },
      "tags": { "peer": "[reference('refsnew01').loginServer]" } },
    { "type": "Microsoft.ContainerRegistry/registries/scopeMaps", "apiVersion": "2023-07-01", "name": "refsold01/readers",
      "properties": { "actions": ["repositories/app/content/read", "repositories/app/metadata/read"] } },
    { "type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "refsold01", "location": "westus",
      "sku": { "name": "Basic" },
      "tags": { "user": "[listCredentials(resourceId('Microsoft.ContainerRegistry/registries', 'refsold01'), '2023-07-01').username]" } },
    { "type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "refsnew03", "location": "westus",
      "sku": { "name": "Basic" },
      "tags": { "user": "[listCredentials(resourceId('Microsoft.ContainerRegistry/registries', 'refsold01'), '2023-07-01').username]" } }
  ]
}`
	got := changes(t, w.whatIf("refs", tmpl, "", ""))
	if c := got["refsnew02"]; c["changeType"] != "Create" || !strings.HasSuffix(dig(c, "after", "tags", "peer").(string), "/refsnew01") {
		t.Fatalf("reference() to a predicted registry: %v", c["after"])
	}
	if c := got["pullers"]; c["changeType"] != "Create" || dig(c, "after", "type") != "Microsoft.ContainerRegistry/registries/scopeMaps" ||
		dig(c, "after", "properties", "actions") == nil {
		t.Fatalf("a child of a new registry: %v", c)
	}
	c := got["readers"]
	if c["changeType"] != "Modify" || !slices.Equal(paths(c), []string{"Array properties.actions", "Create properties.actions/1"}) ||
		dig(c, "after", "properties", "description") != "pull" || dig(c, "after", "properties", "type") != "UserDefined" {
		t.Fatalf("an existing scope map: %v %v", paths(c), c["after"])
	}
	if c := got["refsold01"]; c["changeType"] != "Deploy" || c["before"] == nil || c["after"] != nil {
		t.Fatalf("an existing registry whose body needs listCredentials(): %v", c)
	}
	if c := got["refsnew03"]; c["changeType"] != "Create" || dig(c, "after", "properties") != nil || dig(c, "after", "name") != "refsnew03" {
		t.Fatalf("a new registry whose body needs listCredentials(): %v", c)
	}
	if len(got) != 6 {
		t.Fatalf("%d changes: %v", len(got), got)
	}
	for _, name := range []string{"refsnew01", "refsnew02", "refsnew03"} {
		w.do("GET", regPath("refs", name)+regVersion, "").expect(t, http.StatusNotFound, "")
	}
	sm := w.do("GET", regPath("refs", "refsold01")+"/scopeMaps/readers"+regVersion, "").expect(t, http.StatusOK, "")
	if a, _ := dig(sm.body, "properties", "actions").([]any); len(a) != 1 {
		t.Fatalf("a what-if changed the scope map: %s", sm.raw)
	}
}
