package acr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

// The export lock is sticky: once exports are disabled, no PUT at any
// api-version and no PATCH that leaves the policy out (or sends it as null
// or {}) turns them back on or opens public access; only an explicit
// status=enabled does.
func TestExportLockIsSticky(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "lock")
	path := regPath(sub, "lock", "locked1")
	w.do("PUT", path+regVersion, `{"location":"westus","sku":{"name":"Premium"}}`).expect(t, http.StatusCreated, "")
	lock := func() {
		t.Helper()
		w.do("PATCH", path+regVersion, `{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`).
			expect(t, http.StatusOK, "")
	}
	stillLocked := func(how string) {
		t.Helper()
		r := w.do("GET", path+regVersion, "").expect(t, http.StatusOK, "")
		if s := dig(r.body, "properties", "policies", "exportPolicy", "status"); s != "disabled" {
			t.Fatalf("%s: exports are %v", how, s)
		}
		if s := dig(r.body, "properties", "publicNetworkAccess"); s != "Disabled" {
			t.Fatalf("%s: public access is %v", how, s)
		}
	}
	lock()
	bodies := map[string]string{
		"as first written":            `{"location":"westus","sku":{"name":"Premium"}}`,
		"public access named":         `{"location":"westus","sku":{"name":"Premium"},"properties":{"publicNetworkAccess":"Disabled"}}`,
		"empty export policy":         `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{}}}}`,
		"null export policy":          `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":null}}}`,
		"null status":                 `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{"status":null}}}}`,
		"null policies and props":     `{"location":"westus","sku":{"name":"Premium"},"properties":null}`,
		"other policies only":         `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"quarantinePolicy":{"status":"enabled"}}}}`,
		"status disabled, public off": `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{"status":"Disabled"}}}}`,
	}
	for _, v := range acr.RegistryAPIVersions() {
		for how, body := range bodies {
			w.do("PUT", path+"?api-version="+v, body).expect(t, http.StatusOK, "")
			stillLocked("PUT " + v + " " + how)
		}
		// A PUT that names public access Enabled but not the policy is
		// refused, and changes nothing.
		r := w.do("PUT", path+"?api-version="+v, `{"location":"westus","sku":{"name":"Premium"},"properties":{"publicNetworkAccess":"Enabled"}}`)
		if knowsPublicAccess(v) {
			r.expect(t, http.StatusBadRequest, "BadRequest")
			if !strings.Contains(r.message(), "exports disabled") {
				t.Fatalf("PUT %s: %s", v, r.message())
			}
		}
		stillLocked("PUT " + v + " public access Enabled")
	}
	for how, body := range map[string]string{
		"tags only":           `{"tags":{"a":"b"}}`,
		"null policy":         `{"properties":{"policies":{"exportPolicy":null}}}`,
		"empty policy":        `{"properties":{"policies":{"exportPolicy":{}}}}`,
		"null status":         `{"properties":{"policies":{"exportPolicy":{"status":null}}}}`,
		"null policies":       `{"properties":{"policies":null}}`,
		"null properties":     `{"properties":null}`,
		"admin user":          `{"properties":{"adminUserEnabled":true}}`,
		"public access null":  `{"properties":{"publicNetworkAccess":null}}`,
		"sku stays Premium":   `{"sku":{"name":"Premium"}}`,
		"status Disabled too": `{"properties":{"policies":{"exportPolicy":{"Status":"DISABLED"}}}}`,
	} {
		for _, v := range []string{"2021-06-01-preview", "2023-07-01", "2025-11-01"} {
			w.do("PATCH", path+"?api-version="+v, body).expect(t, http.StatusOK, "")
			stillLocked("PATCH " + v + " " + how)
		}
	}
	w.do("PATCH", path+regVersion, `{"properties":{"publicNetworkAccess":"Enabled"}}`).expect(t, http.StatusBadRequest, "BadRequest")
	stillLocked("PATCH public access Enabled")

	// Only an explicit status=enabled unlocks; public access stays off
	// until named.
	w.do("PUT", path+regVersion, `{"location":"westus","sku":{"name":"Premium"},"properties":{"policies":{"exportPolicy":{"status":"Enabled"}}}}`).
		expect(t, http.StatusOK, "")
	r := w.do("GET", path+regVersion, "").expect(t, http.StatusOK, "")
	if dig(r.body, "properties", "policies", "exportPolicy", "status") != "enabled" || dig(r.body, "properties", "publicNetworkAccess") != "Disabled" {
		t.Fatalf("explicit enable: %s", r.raw)
	}
	// Unlocked, a full PUT behaves as plain ARM again.
	w.do("PUT", path+regVersion, `{"location":"westus","sku":{"name":"Premium"}}`).expect(t, http.StatusOK, "")
	r = w.do("GET", path+regVersion, "").expect(t, http.StatusOK, "")
	if dig(r.body, "properties", "publicNetworkAccess") != "Enabled" {
		t.Fatalf("unlocked PUT: %s", r.raw)
	}
	// PATCH re-enables both in one request, as before.
	lock()
	w.do("PATCH", path+regVersion, `{"properties":{"publicNetworkAccess":"Enabled","policies":{"exportPolicy":{"status":"enabled"}}}}`).
		expect(t, http.StatusOK, "")
}

// knowsPublicAccess reports whether api-version v defines
// publicNetworkAccess (older versions keep the stored value).
func knowsPublicAccess(v string) bool { return v[:10] >= "2019-12-01" }
