package keyvault_test

import (
	"net/http"
	"strings"
	"testing"
)

// A vault is created with Azure's defaults and read-only fields, replaced,
// patched, listed by group, subscription and in the generic list, and
// deleted.
func TestVaultLifecycle(t *testing.T) {
	w := newWorld(t, nil)
	r := w.do(owner, "PUT", vaultPath("one", "Corp-Vault1")+kv, vaultBody).expect(t, http.StatusCreated, "")
	for path, want := range map[string]any{
		"id":                                      vaultPath("one", "Corp-Vault1"),
		"name":                                    "Corp-Vault1",
		"type":                                    "Microsoft.KeyVault/vaults",
		"location":                                "westus",
		"properties/vaultUri":                     "https://corp-vault1.vault.azure.net/",
		"properties/tenantId":                     tenant,
		"properties/sku/family":                   "A",
		"properties/sku/name":                     "standard",
		"properties/enableSoftDelete":             true,
		"properties/softDeleteRetentionInDays":    float64(90),
		"properties/enableRbacAuthorization":      false,
		"properties/publicNetworkAccess":          "Enabled",
		"properties/provisioningState":            "Succeeded",
		"systemData/createdBy":                    "app-a",
		"systemData/createdByType":                "Application",
		"properties/enabledForTemplateDeployment": false,
	} {
		if got := dig(r.body, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if ap, ok := dig(r.body, "properties", "accessPolicies").([]any); !ok || len(ap) != 0 {
		t.Errorf("accessPolicies = %v, want []", dig(r.body, "properties", "accessPolicies"))
	}

	// Replace: enum casing is folded, access policies and RBAC echoed.
	body := `{"location":"westus","tags":{"env":"test"},"properties":{"tenantId":"` + tenant + `","sku":{"name":"PREMIUM"},
		"enableRbacAuthorization":true,"accessPolicies":[{"tenantId":"` + tenant + `","objectId":"` + owner + `","permissions":{"secrets":["get","list"]}}]}}`
	r = w.do(owner, "PUT", vaultPath("one", "corp-vault1")+kv, body).expect(t, http.StatusOK, "")
	if dig(r.body, "properties", "sku", "name") != "premium" || dig(r.body, "properties", "enableRbacAuthorization") != true ||
		dig(r.body, "name") != "Corp-Vault1" || dig(r.body, "tags", "env") != "test" {
		t.Errorf("replace: %s", r.raw)
	}
	if ap, _ := dig(r.body, "properties", "accessPolicies").([]any); len(ap) != 1 || dig(ap[0], "permissions", "secrets") == nil {
		t.Errorf("access policies not echoed: %s", r.raw)
	}

	// Patch: present fields replace, the rest stays.
	r = w.do(owner, "PATCH", vaultPath("one", "Corp-Vault1")+kv, `{"tags":{"env":"prod"},"properties":{"enablePurgeProtection":true}}`).expect(t, http.StatusOK, "")
	if dig(r.body, "tags", "env") != "prod" || dig(r.body, "properties", "enablePurgeProtection") != true || dig(r.body, "properties", "sku", "name") != "premium" {
		t.Errorf("patch: %s", r.raw)
	}
	w.do(owner, "PATCH", vaultPath("one", "Corp-Vault1")+kv, `{"properties":{"enablePurgeProtection":false}}`).expect(t, http.StatusBadRequest, "BadRequest")
	w.do(owner, "PATCH", vaultPath("one", "nosuch")+kv, `{"tags":{}}`).expect(t, http.StatusNotFound, "ResourceNotFound")

	w.mkVault("two", "other-vault")
	for path, want := range map[string]int{
		rgPath + "one/providers/Microsoft.KeyVault/vaults" + kv:                                                               1,
		"/subscriptions/" + sub + "/providers/Microsoft.KeyVault/vaults" + kv:                                                 2,
		"/subscriptions/" + sub + "/resources?api-version=2021-04-01":                                                         2,
		"/subscriptions/" + sub + "/resources?api-version=2021-04-01&$filter=resourceType%20eq%20'Microsoft.KeyVault/vaults'": 2,
	} {
		r := w.do(reader, "GET", path, "").expect(t, http.StatusOK, "")
		if got := len(r.body["value"].([]any)); got != want {
			t.Errorf("GET %s: %d vaults, want %d: %s", path, got, want, r.raw)
		}
	}
	r = w.do(nobody, "GET", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/vaults"+kv, "").expect(t, http.StatusOK, "")
	if len(r.body["value"].([]any)) != 0 {
		t.Errorf("a caller without a role sees vaults: %s", r.raw)
	}
	w.do(owner, "GET", rgPath+"nosuch/providers/Microsoft.KeyVault/vaults"+kv, "").expect(t, http.StatusNotFound, "ResourceGroupNotFound")

	// RBAC: Reader reads, cannot write.
	w.do(reader, "GET", vaultPath("one", "Corp-Vault1")+kv, "").expect(t, http.StatusOK, "")
	w.do(reader, "PUT", vaultPath("one", "Corp-Vault1")+kv, vaultBody).expect(t, http.StatusForbidden, "AuthorizationFailed")
	w.do(reader, "DELETE", vaultPath("one", "Corp-Vault1")+kv, "").expect(t, http.StatusForbidden, "AuthorizationFailed")

	w.do(owner, "DELETE", vaultPath("one", "Corp-Vault1")+kv, "").expect(t, http.StatusOK, "")
	w.do(owner, "DELETE", vaultPath("one", "Corp-Vault1")+kv, "").expect(t, http.StatusNoContent, "")
	w.do(owner, "GET", vaultPath("one", "Corp-Vault1")+kv, "").expect(t, http.StatusNotFound, "ResourceNotFound")
}

// Vault PUTs Azure refuses are 400s with the ARM envelope.
func TestVaultValidation(t *testing.T) {
	w := newWorld(t, nil)
	for name, c := range map[string]struct{ vault, body, code string }{
		"too short":          {"ab", vaultBody, "VaultNameNotValid"},
		"too long":           {"a234567890123456789012345", vaultBody, "VaultNameNotValid"},
		"starts with digit":  {"1vault", vaultBody, "VaultNameNotValid"},
		"ends with hyphen":   {"vault-", vaultBody, "VaultNameNotValid"},
		"double hyphen":      {"va--ult", vaultBody, "VaultNameNotValid"},
		"underscore":         {"va_ult", vaultBody, "VaultNameNotValid"},
		"no location":        {"goodvault", `{"properties":{"tenantId":"` + tenant + `","sku":{"name":"standard"}}}`, "LocationRequired"},
		"no properties":      {"goodvault", `{"location":"westus"}`, "BadRequest"},
		"no tenant":          {"goodvault", `{"location":"westus","properties":{"sku":{"name":"standard"}}}`, "BadRequest"},
		"bad tenant":         {"goodvault", `{"location":"westus","properties":{"tenantId":"nope","sku":{"name":"standard"}}}`, "BadRequest"},
		"no sku":             {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `"}}`, "BadRequest"},
		"no sku name":        {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"family":"A"}}}`, "BadRequest"},
		"bad sku name":       {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"name":"gold"}}}`, "InvalidRequestContent"},
		"bad sku family":     {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"family":"B","name":"standard"}}}`, "InvalidRequestContent"},
		"bad retention":      {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"name":"standard"},"softDeleteRetentionInDays":3}}`, "BadRequest"},
		"policy w/o object":  {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"name":"standard"},"accessPolicies":[{"tenantId":"` + tenant + `"}]}}`, "BadRequest"},
		"bad network access": {"goodvault", `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"name":"standard"},"publicNetworkAccess":"sometimes"}}`, "BadRequest"},
		"malformed":          {"goodvault", `{"location":`, "InvalidRequestContent"},
	} {
		t.Run(name, func(t *testing.T) {
			w.do(owner, "PUT", vaultPath("one", c.vault)+kv, c.body).expect(t, http.StatusBadRequest, c.code)
		})
	}
	w.do(owner, "PUT", vaultPath("nosuch", "goodvault")+kv, vaultBody).expect(t, http.StatusNotFound, "ResourceGroupNotFound")
	w.mkVault("one", "goodvault")
	w.do(owner, "PUT", vaultPath("one", "goodvault")+kv, strings.Replace(vaultBody, "West US", "eastus", 1)).expect(t, http.StatusBadRequest, "InvalidResourceLocation")
}

// Vault names are global, as their DNS names are: a name taken in another
// group or subscription, in any casing, is 409 VaultAlreadyExists, and
// checkNameAvailability says so.
func TestVaultNameCollision(t *testing.T) {
	w := newWorld(t, nil)
	w.mkVault("one", "shared-vault")
	w.do(owner, "PUT", vaultPath("two", "Shared-Vault")+kv, vaultBody).expect(t, http.StatusConflict, "VaultAlreadyExists")
	w.do(owner, "PUT", "/subscriptions/"+sub2+"/resourceGroups/three/providers/Microsoft.KeyVault/vaults/SHARED-VAULT"+kv, vaultBody).
		expect(t, http.StatusConflict, "VaultAlreadyExists")
	// The same vault, addressed in another casing, is a replace.
	w.do(owner, "PUT", rgPath+"ONE/providers/microsoft.keyvault/VAULTS/SHARED-vault"+kv, vaultBody).expect(t, http.StatusOK, "")

	check := "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/checkNameAvailability" + kv
	for name, want := range map[string]any{"Shared-Vault": false, "free-vault": true, "x": false} {
		r := w.do(owner, "POST", check, `{"name":"`+name+`","type":"Microsoft.KeyVault/vaults"}`).expect(t, http.StatusOK, "")
		if r.body["nameAvailable"] != want {
			t.Errorf("checkNameAvailability %s: %s", name, r.raw)
		}
	}
	w.do(owner, "POST", check, `{"name":"a","type":"Microsoft.Storage/storageAccounts"}`).expect(t, http.StatusBadRequest, "BadRequest")

	// Once deleted, the name is free again (Bulkhead keeps no soft-deleted vaults).
	w.do(owner, "DELETE", vaultPath("one", "shared-vault")+kv, "").expect(t, http.StatusOK, "")
	w.do(owner, "PUT", vaultPath("two", "Shared-Vault")+kv, vaultBody).expect(t, http.StatusCreated, "")
}

// The api-version gate: unknown and missing versions are refused as ARM
// refuses them for provider types.
func TestAPIVersions(t *testing.T) {
	w := newWorld(t, nil)
	w.do(owner, "PUT", vaultPath("one", "goodvault")+"?api-version=2099-01-01", vaultBody).expect(t, http.StatusBadRequest, "NoRegisteredProviderFound")
	w.do(owner, "GET", secretPath("one", "goodvault", "s")+"?api-version=2014-01-01", "").expect(t, http.StatusBadRequest, "NoRegisteredProviderFound")
	w.do(owner, "GET", vaultPath("one", "goodvault"), "").expect(t, http.StatusBadRequest, "MissingApiVersionParameter")
	for _, v := range []string{"2016-10-01", "2019-09-01", "2021-06-01-PREVIEW", "2022-07-01", "2023-02-01", "2024-11-01", "2025-05-01"} {
		w.do(owner, "GET", vaultPath("one", "goodvault")+"?api-version="+v, "").expect(t, http.StatusNotFound, "ResourceNotFound")
	}
	r := w.do(owner, "GET", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault?api-version=2021-04-01", "").expect(t, http.StatusOK, "")
	if r.body["namespace"] != "Microsoft.KeyVault" {
		t.Errorf("provider metadata: %s", r.raw)
	}
}
