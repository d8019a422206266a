package acr_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

func TestRegistryLifecycle(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "RG-One")
	path := regPath(sub, "RG-One", "MyRegistry1") + regVersion

	r := w.do("PUT", path, `{"location":"West US","sku":{"name":"Basic"},"tags":{"env":"test"}}`).expect(t, http.StatusCreated, "")
	if r.header.Get("Azure-AsyncOperation") == "" {
		t.Error("PUT answer without Azure-AsyncOperation")
	}
	host := strings.TrimPrefix(w.srv.URL, "http://")
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"id"}, "/subscriptions/" + sub + "/resourceGroups/RG-One/providers/Microsoft.ContainerRegistry/registries/MyRegistry1"},
		{[]string{"name"}, "MyRegistry1"},
		{[]string{"type"}, "Microsoft.ContainerRegistry/registries"},
		{[]string{"location"}, "westus"},
		{[]string{"tags", "env"}, "test"},
		{[]string{"sku", "name"}, "Basic"},
		{[]string{"sku", "tier"}, "Basic"},
		{[]string{"systemData", "createdBy"}, "app-a"},
		{[]string{"systemData", "createdByType"}, "Application"},
		{[]string{"systemData", "lastModifiedByType"}, "Application"},
		{[]string{"properties", "loginServer"}, host + "/myregistry1"},
		{[]string{"properties", "provisioningState"}, "Succeeded"},
		{[]string{"properties", "adminUserEnabled"}, false},
		{[]string{"properties", "anonymousPullEnabled"}, false},
		{[]string{"properties", "publicNetworkAccess"}, "Enabled"},
		{[]string{"properties", "zoneRedundancy"}, "Disabled"},
		{[]string{"properties", "networkRuleBypassOptions"}, "AzureServices"},
		{[]string{"properties", "networkRuleSet", "defaultAction"}, "Allow"},
		{[]string{"properties", "policies", "exportPolicy", "status"}, "enabled"},
		{[]string{"properties", "policies", "quarantinePolicy", "status"}, "disabled"},
		{[]string{"properties", "policies", "trustPolicy", "type"}, "Notary"},
		{[]string{"properties", "policies", "retentionPolicy", "days"}, float64(7)},
		{[]string{"properties", "encryption", "status"}, "disabled"},
	} {
		if got := dig(r.body, c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	created, err := time.Parse(time.RFC3339Nano, dig(r.body, "properties", "creationDate").(string))
	if err != nil || time.Since(created) > time.Minute {
		t.Errorf("creationDate %v: %v", dig(r.body, "properties", "creationDate"), err)
	}

	// The meta row: key, lower-case name and group, the id as sent.
	row, err := w.registryRow("MYREGISTRY1")
	if err != nil {
		t.Fatal(err)
	}
	if row.Key == "" || row.Name != "myregistry1" || row.ResourceGroup != "rg-one" || row.SubscriptionID != sub ||
		row.ResourceID != "/subscriptions/"+sub+"/resourceGroups/RG-One/providers/Microsoft.ContainerRegistry/registries/MyRegistry1" {
		t.Errorf("meta row: %+v", row)
	}
	if strings.Contains(string(row.Document), "loginServer") {
		t.Error("loginServer must be computed, not stored")
	}

	// GET in any casing.
	r = w.do("GET", "/subscriptions/"+sub+"/resourcegroups/rg-one/providers/microsoft.containerregistry/REGISTRIES/myregistry1"+regVersion, "").
		expect(t, http.StatusOK, "")
	if dig(r.body, "name") != "MyRegistry1" || dig(r.body, "properties", "loginServer") != host+"/myregistry1" {
		t.Errorf("GET: %s", r.raw)
	}

	// PUT again replaces: 200, creation facts kept.
	r = w.do("PUT", path, `{"location":"westus","sku":{"name":"Standard"},"properties":{"adminUserEnabled":true}}`).expect(t, http.StatusOK, "")
	if dig(r.body, "sku", "name") != "Standard" || dig(r.body, "sku", "tier") != "Standard" || dig(r.body, "properties", "adminUserEnabled") != true ||
		dig(r.body, "tags") != nil {
		t.Errorf("update: %s", r.raw)
	}
	if dig(r.body, "properties", "creationDate") != created.Format(time.RFC3339Nano) && !sameInstant(dig(r.body, "properties", "creationDate"), created) {
		t.Errorf("creationDate changed: %v", dig(r.body, "properties", "creationDate"))
	}
	w.do("PUT", path, `{"location":"eastus","sku":{"name":"Standard"}}`).expect(t, http.StatusBadRequest, "InvalidResourceLocation")

	// DELETE: 202 with a Location to poll, then 204.
	r = w.do("DELETE", path, "").expect(t, http.StatusAccepted, "")
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, w.srv.URL+"/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/locations/") {
		t.Errorf("Location %q", loc)
	} else {
		w.do("GET", loc, "").expect(t, http.StatusNoContent, "")
	}
	w.do("GET", path, "").expect(t, http.StatusNotFound, "ResourceNotFound")
	w.do("DELETE", path, "").expect(t, http.StatusNoContent, "")
	if _, err := w.registryRow("myregistry1"); err == nil {
		t.Error("meta row survived DELETE")
	}
}

func sameInstant(v any, t0 time.Time) bool {
	s, _ := v.(string)
	t1, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && t1.Equal(t0)
}

func TestRegistryBadInput(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "rg1")
	w.mkRegistry(sub, "rg1", "existing1")
	put := func(name string) string { return regPath(sub, "rg1", name) + regVersion }
	basic := `{"location":"westus","sku":{"name":"Basic"}}`
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code, inMessage          string
	}{
		{"name too short", "PUT", put("abcd"), basic, 400, "InvalidResourceName", "between 5 and 50"},
		{"name too long", "PUT", put(strings.Repeat("a", 51)), basic, 400, "InvalidResourceName", ""},
		{"name with a hyphen", "PUT", put("my-registry"), basic, 400, "InvalidResourceName", ""},
		{"name with an underscore", "PUT", put("my_registry"), basic, 400, "InvalidResourceName", ""},
		{"name with a period", "PUT", put("my.registry"), basic, 400, "InvalidResourceName", ""},
		{"non-ASCII name", "PUT", put(url.PathEscape("régistry1")), basic, 400, "InvalidResourceName", ""},
		{"missing resource group", "PUT", regPath(sub, "nosuchrg", "somereg1") + regVersion, basic, 404, "ResourceGroupNotFound", "nosuchrg"},
		{"unknown sku", "PUT", put("somereg1"), `{"location":"westus","sku":{"name":"Gold"}}`, 400, "InvalidRequestContent", "Basic, Classic, Premium, Standard"},
		{"classic sku", "PUT", put("somereg1"), `{"location":"westus","sku":{"name":"classic"}}`, 400, "SkuNotSupported", ""},
		{"no sku", "PUT", put("somereg1"), `{"location":"westus"}`, 400, "InvalidRequestContent", "sku"},
		{"sku without name", "PUT", put("somereg1"), `{"location":"westus","sku":{}}`, 400, "InvalidRequestContent", ""},
		{"no location", "PUT", put("somereg1"), `{"sku":{"name":"Basic"}}`, 400, "LocationRequired", ""},
		{"malformed json", "PUT", put("somereg1"), `{"location":"westus","sku":`, 400, "InvalidRequestContent", ""},
		{"empty body", "PUT", put("somereg1"), ``, 400, "InvalidRequestContent", ""},
		{"wrong property type", "PUT", put("somereg1"), `{"location":"westus","sku":{"name":"Basic"},"properties":{"adminUserEnabled":"yes"}}`, 400, "InvalidRequestContent", ""},
		{"unknown enum value", "PUT", put("somereg1"), `{"location":"westus","sku":{"name":"Basic"},"properties":{"publicNetworkAccess":"Sometimes"}}`, 400, "InvalidRequestContent", "Disabled, Enabled"},
		{"read-only loginServer changed", "PUT", put("existing1"), `{"location":"westus","sku":{"name":"Basic"},"properties":{"loginServer":"evil.example.com"}}`, 400, "ReadOnlyPropertyCannotBeChanged", ""},
		{"missing api-version", "GET", regPath(sub, "rg1", "existing1"), "", 400, "MissingApiVersionParameter", "api-version"},
		{"unknown api-version", "GET", regPath(sub, "rg1", "existing1") + "?api-version=2099-01-01", "", 400, "NoRegisteredProviderFound", "2025-11-01"},
		{"group api-version on a registry", "GET", regPath(sub, "rg1", "existing1") + "?api-version=2024-03-01", "", 400, "NoRegisteredProviderFound", ""},
		{"registry in another group", "GET", regPath(sub, "rg2", "existing1") + regVersion, "", 404, "ResourceNotFound", ""},
		{"unknown resource type", "GET", groupPath(sub, "rg1") + "/providers/Microsoft.ContainerRegistry/gadgets/x" + regVersion, "", 404, "InvalidResourceType", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.do(c.method, c.path, c.body).expect(t, c.status, c.code)
			if !strings.Contains(r.message(), c.inMessage) {
				t.Errorf("message %q lacks %q", r.message(), c.inMessage)
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		big := `{"location":"westus","sku":{"name":"Basic"},"tags":{"x":"` + strings.Repeat("a", 5<<20) + `"}}`
		w.do("PUT", put("somereg3"), big).expect(t, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	})
	// Nothing above created anything.
	r := w.do("GET", "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/registries"+regVersion, "").expect(t, http.StatusOK, "")
	if v, _ := dig(r.body, "value").([]any); len(v) != 1 {
		t.Errorf("bad input left state behind: %s", r.raw)
	}
	// Boundary names and the api-versions clients send are accepted.
	w.mkRegistry(sub, "rg1", "abcde")
	w.mkRegistry(sub, "rg1", strings.Repeat("Z9", 25))
	for _, v := range []string{"2019-05-01", "2021-06-01-preview", "2021-09-01", "2022-12-01", "2023-07-01", "2025-04-01", "2025-11-01", "2021-06-01-PREVIEW"} {
		w.do("GET", regPath(sub, "rg1", "existing1")+"?api-version="+v, "").expect(t, http.StatusOK, "")
	}
}
