package oci_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// A request that carries the importer's marker is judged by the egress
// gate as the source of an import before the network rules, with the
// gate's message; without the marker the same request meets the network
// rules as before. The marker only ever restricts.
func TestImportMarkerMeetsTheGate(t *testing.T) {
	p := newPlane(t)
	err := p.store.Update(t.Context(), func(tx meta.Tx) error {
		for _, r := range []meta.Registry{
			{Key: "k-closed", Name: "closed", Facts: meta.RegistryFacts{Version: 1, SKU: "Premium", ExportsDisabled: true, PublicAccessDisabled: true}},
			{Key: "k-open", Name: "open", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/open", SubscriptionID: "s", ResourceGroup: "g", Facts: meta.RegistryFacts{Version: 1, SKU: "Basic"}},
			{Key: "k-old", Name: "unknown", Facts: meta.RegistryFacts{SKU: "Premium"}},
		} {
			if err := tx.CreateRegistry(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, marker ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", p.srv.URL+path, nil)
		req.SetBasicAuth(p.boot.ClientID, p.boot.ClientSecret)
		for _, v := range marker {
			req.Header.Add(egress.MarkerHeader, v)
		}
		resp, err := p.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	for _, c := range []struct {
		name, path string
		marker     []string
		status     int
		want       string
	}{
		{"closed, marked", "/v2/closed/app/manifests/v1", []string{string(egress.ChannelImportSource)}, 403, "has exports disabled"},
		{"closed, marked with any value", "/v2/closed/app/blobs/sha256:" + strings.Repeat("a", 64), []string{""}, 403, "has exports disabled"},
		{"closed, marked, tags", "/v2/closed/app/tags/list", []string{"x"}, 403, "has exports disabled"},
		{"closed, unmarked", "/v2/closed/app/manifests/v1", nil, 403, "public network access disabled"},
		{"facts not derived, marked", "/v2/unknown/app/manifests/v1", []string{"importImage.source"}, 403, "not known yet"},
		{"open, marked: the gate allows, RBAC decides", "/v2/open/app/manifests/v1", []string{"importImage.source"}, 403, "requested access to the resource is denied"},
		{"open, unmarked", "/v2/open/app/manifests/v1", nil, 403, "requested access to the resource is denied"},
		{"catalog, marked", "/v2/_catalog", []string{"importImage.source"}, 403, "catalog"},
		{"catalog, unmarked", "/v2/_catalog", nil, 200, "repositories"},
		{"base, marked", "/v2/", []string{"importImage.source"}, 200, "{}"},
	} {
		status, body := get(c.path, c.marker...)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, status, body, c.status, c.want)
		}
		if status == 403 && !strings.Contains(body, "DENIED") {
			t.Errorf("%s: a refusal without DENIED: %s", c.name, body)
		}
	}
}
