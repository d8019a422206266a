package acr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

// Bad input gets a clear 4xx, never a 5xx (world.do fails on any 5xx),
// and leaves nothing behind.
func TestNoServerFaultOnGarbage(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "rg1")
	w.mkRegistry(sub, "rg1", "target1")
	bodies := []string{
		`null`, `[]`, `"registry"`, `42`, `true`, `{}`, `{"location":null}`, `{"location":123}`, `{"location":{}}`,
		`{"location":"westus","sku":null}`, `{"location":"westus","sku":"Basic"}`, `{"location":"westus","sku":{"name":null}}`,
		`{"location":"westus","sku":{"name":7}}`, `{"location":"westus","sku":{"name":"Basic","tier":"Gold"}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":null}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":[]}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"networkRuleSet":null,"policies":null}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"policies":{"exportPolicy":null,"retentionPolicy":{"days":"x"}}}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"policies":{"retentionPolicy":{"days":99999999999}}}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"networkRuleSet":{"ipRules":[null,{"value":null}]}}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"publicNetworkAccess":"Disabled"}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`,
		`{"location":"westus","sku":{"name":"Basic"},"systemData":{"createdAt":"yesterday"}}`,
		`{"location":"westus","sku":{"name":"Basic"},"properties":{"creationDate":"not a date"}}`,
		`{"location":"westus","sku":{"name":"Basic"},"tags":{"a":null,"b":1}}`,
		`{"location":"westus","sku":{"name":"Basic"},"tags":"x"}`,
		`{"location":"` + strings.Repeat("x", 1000) + `","sku":{"name":"Basic"}}`,
		`{"location":"westus\u0000","sku":{"name":"Basic\u0000"}}`,
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		"\xef\xbb\xbf{}", "\x00\x01\x02", `{"location":"westus","sku":{"name":"Basic"}}{}`,
	}
	for _, b := range bodies {
		for _, path := range []string{
			regPath(sub, "rg1", "newreg1") + regVersion,
			regPath(sub, "rg1", "target1") + regVersion,
			groupPath(sub, "rg2") + rgVersion,
		} {
			r := w.do("PUT", path, b)
			if r.status >= 300 && (r.status < 400 || r.status >= 500) {
				t.Errorf("PUT %s %.60q: %d", path, b, r.status)
			}
		}
		w.do("PATCH", regPath(sub, "rg1", "target1")+regVersion, b)
	}
	// Garbage in paths and queries.
	for _, p := range []string{
		regPath(sub, "rg1", "%00") + regVersion, regPath(sub, "rg1", "..") + regVersion, regPath(sub, "rg1", "a%2Fb") + regVersion,
		regPath(sub, "%20", "newreg3") + regVersion, groupPath(sub, "%F0%9F%92%A5") + rgVersion, regPath(sub, "rg1", "newreg2") + "?api-version=%ff",
		regPath(sub, "rg1", "newreg2") + "?api-version=2025-11-01&api-version=2099-01-01",
	} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			w.do(m, p, `{"location":"westus","sku":{"name":"Basic"}}`)
		}
	}
	// The registry under attack is unharmed (a valid PATCH body above may
	// have changed it, but it is still there and well formed).
	w.do("GET", regPath(sub, "rg1", "target1")+regVersion, "").expect(t, http.StatusOK, "")
}
