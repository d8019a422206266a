package acr_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

// Enum values arrive in any casing and leave in the declared one
// (acr-api.md §4.3).
func TestEnumCasingOverHTTP(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "rg1")
	r := w.do("PUT", regPath(sub, "rg1", "premiumreg1")+regVersion, `{"location":"westus","sku":{"name":"premium"},
		"properties":{"publicNetworkAccess":"disabled","zoneRedundancy":"ENABLED","networkRuleBypassOptions":"none",
		"networkRuleSet":{"defaultAction":"deny","ipRules":[{"action":"ALLOW","value":"10.0.0.0/8"}]},
		"policies":{"exportPolicy":{"Status":"DISABLED"},"quarantinePolicy":{"status":"Enabled"},"trustPolicy":{"type":"notary","status":"ENABLED"}}}}`).
		expect(t, http.StatusCreated, "")
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"sku", "name"}, "Premium"},
		{[]string{"sku", "tier"}, "Premium"},
		{[]string{"properties", "publicNetworkAccess"}, "Disabled"},
		{[]string{"properties", "zoneRedundancy"}, "Enabled"},
		{[]string{"properties", "networkRuleBypassOptions"}, "None"},
		{[]string{"properties", "networkRuleSet", "defaultAction"}, "Deny"},
		{[]string{"properties", "policies", "exportPolicy", "status"}, "disabled"},
		{[]string{"properties", "policies", "quarantinePolicy", "status"}, "enabled"},
		{[]string{"properties", "policies", "trustPolicy", "type"}, "Notary"},
		{[]string{"properties", "policies", "trustPolicy", "status"}, "enabled"},
	} {
		if got := dig(r.body, c.path...); got != c.want {
			t.Errorf("%s = %v, want %s", strings.Join(c.path, "."), got, c.want)
		}
	}
	rules, _ := dig(r.body, "properties", "networkRuleSet", "ipRules").([]any)
	if len(rules) != 1 || dig(rules[0], "action") != "Allow" {
		t.Errorf("ipRules: %v", rules)
	}
	// Stored canonical too: a GET agrees.
	g := w.do("GET", regPath(sub, "rg1", "premiumreg1")+regVersion, "").expect(t, http.StatusOK, "")
	if dig(g.body, "sku", "name") != "Premium" || dig(g.body, "properties", "policies", "exportPolicy", "status") != "disabled" {
		t.Errorf("GET: %s", g.raw)
	}
}

func TestEnumUnmarshal(t *testing.T) {
	type enum interface{ UnmarshalText([]byte) error }
	for _, c := range []struct {
		v       enum
		in, out string
	}{
		{new(acr.SKUName), "STANDARD", "Standard"},
		{new(acr.SKUTier), "basic", "Basic"},
		{new(acr.PolicyStatus), "Enabled", "enabled"},
		{new(acr.ExportPolicyStatus), "Disabled", "disabled"},
		{new(acr.EncryptionStatus), "ENABLED", "enabled"},
		{new(acr.PublicNetworkAccess), "enabled", "Enabled"},
		{new(acr.DefaultAction), "ALLOW", "Allow"},
		{new(acr.Action), "allow", "Allow"},
		{new(acr.NetworkRuleBypassOptions), "azureservices", "AzureServices"},
		{new(acr.ZoneRedundancy), "disabled", "Disabled"},
		{new(acr.TrustPolicyType), "NOTARY", "Notary"},
		{new(acr.ProvisioningState), "succeeded", "Succeeded"},
	} {
		if err := json.Unmarshal([]byte(`"`+c.in+`"`), c.v); err != nil {
			t.Errorf("%T %q: %v", c.v, c.in, err)
			continue
		}
		if b, _ := json.Marshal(c.v); string(b) != `"`+c.out+`"` {
			t.Errorf("%T %q became %s, want %q", c.v, c.in, b, c.out)
		}
		err := json.Unmarshal([]byte(`"bogus"`), c.v)
		if err == nil || !strings.Contains(err.Error(), "allowed values are") || !strings.Contains(err.Error(), c.out) {
			t.Errorf("%T: a wrong value must be refused with the allowed values: %v", c.v, err)
		}
	}
	if len(acr.PossibleSKUNameValues()) != 4 || len(acr.PossibleProvisioningStateValues()) != 6 {
		t.Error("Possible*Values")
	}
}
