package acr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

func TestAuthorization(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "rg1")
	w.mkGroup(sub, "scoped")
	w.mkRegistry(sub, "rg1", "ownedreg1")
	as := func(oid string) []string { return []string{callerHeader, oid} }
	denied := func(t *testing.T, r resp, oid, action, scope string) {
		t.Helper()
		r.expect(t, http.StatusForbidden, "AuthorizationFailed")
		for _, s := range []string{"'" + oid + "'", "'" + action + "'", "'" + scope + "'"} {
			if !strings.Contains(r.message(), s) {
				t.Errorf("message %q lacks %s", r.message(), s)
			}
		}
	}
	reg := regPath(sub, "rg1", "ownedreg1")
	body := `{"location":"westus","sku":{"name":"Basic"}}`

	t.Run("no role", func(t *testing.T) {
		h := as(nobody)
		denied(t, w.do("PUT", groupPath(sub, "newrg")+rgVersion, `{"location":"westus"}`, h...), nobody,
			"Microsoft.Resources/subscriptions/resourceGroups/write", groupPath(sub, "newrg"))
		denied(t, w.do("GET", groupPath(sub, "rg1")+rgVersion, "", h...), nobody,
			"Microsoft.Resources/subscriptions/resourceGroups/read", groupPath(sub, "rg1"))
		denied(t, w.do("DELETE", groupPath(sub, "rg1")+rgVersion, "", h...), nobody,
			"Microsoft.Resources/subscriptions/resourceGroups/delete", groupPath(sub, "rg1"))
		denied(t, w.do("PUT", regPath(sub, "rg1", "newreg1")+regVersion, body, h...), nobody,
			"Microsoft.ContainerRegistry/registries/write", regPath(sub, "rg1", "newreg1"))
		denied(t, w.do("GET", reg+regVersion, "", h...), nobody, "Microsoft.ContainerRegistry/registries/read", reg)
		denied(t, w.do("DELETE", reg+regVersion, "", h...), nobody, "Microsoft.ContainerRegistry/registries/delete", reg)
		w.do("HEAD", groupPath(sub, "rg1")+rgVersion, "", h...).expect(t, http.StatusForbidden, "")
		// Lists leave out what the caller may not read.
		for _, p := range []string{
			"/subscriptions/" + sub + "/providers/Microsoft.ContainerRegistry/registries" + regVersion,
			"/subscriptions/" + sub + "/resourceGroups" + rgVersion,
		} {
			r := w.do("GET", p, "", h...).expect(t, http.StatusOK, "")
			if v, _ := dig(r.body, "value").([]any); len(v) != 0 {
				t.Errorf("%s shows %d items to a caller without a role", p, len(v))
			}
		}
	})

	t.Run("reader", func(t *testing.T) {
		h := as(reader)
		w.do("GET", reg+regVersion, "", h...).expect(t, http.StatusOK, "")
		w.do("GET", groupPath(sub, "rg1")+rgVersion, "", h...).expect(t, http.StatusOK, "")
		denied(t, w.do("PUT", reg+regVersion, body, h...), reader, "Microsoft.ContainerRegistry/registries/write", reg)
		denied(t, w.do("DELETE", reg+regVersion, "", h...), reader, "Microsoft.ContainerRegistry/registries/delete", reg)
	})

	t.Run("contributor on one group", func(t *testing.T) {
		h := as(groupOnly)
		w.do("PUT", regPath(sub, "scoped", "scopedreg1")+regVersion, body, h...).expect(t, http.StatusCreated, "")
		w.do("PUT", groupPath(sub, "scoped")+rgVersion, `{"location":"westus","tags":{"a":"b"}}`, h...).expect(t, http.StatusOK, "")
		denied(t, w.do("PUT", regPath(sub, "rg1", "sneakyreg1")+regVersion, body, h...), groupOnly,
			"Microsoft.ContainerRegistry/registries/write", regPath(sub, "rg1", "sneakyreg1"))
		r := w.do("GET", "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/registries"+regVersion, "", h...).expect(t, http.StatusOK, "")
		if v, _ := dig(r.body, "value").([]any); len(v) != 1 || dig(v[0], "name") != "scopedreg1" {
			t.Errorf("subscription list for a group-scoped caller: %s", r.raw)
		}
	})

	// Refused writes changed nothing.
	w.do("GET", groupPath(sub, "newrg")+rgVersion, "").expect(t, http.StatusNotFound, "ResourceGroupNotFound")
	w.do("GET", regPath(sub, "rg1", "newreg1")+regVersion, "").expect(t, http.StatusNotFound, "ResourceNotFound")
	w.do("GET", regPath(sub, "rg1", "sneakyreg1")+regVersion, "").expect(t, http.StatusNotFound, "ResourceNotFound")
	w.do("GET", reg+regVersion, "").expect(t, http.StatusOK, "")
}
