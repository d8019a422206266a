package acr_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

func prefixStrings(ps []netip.Prefix) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, ",")
}

// Every registry write stores the facts of the document it stores: create,
// PATCH and PUT. The stored document never holds connections.
func TestFactsFollowDocument(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "rg1")
	path := regPath(sub, "rg1", "factsreg1") + regVersion
	w.do("PUT", path, `{"location":"westus","sku":{"name":"premium"},"properties":{"adminUserEnabled":true,
		"publicNetworkAccess":"disabled","policies":{"exportPolicy":{"status":"disabled"}},
		"networkRuleSet":{"defaultAction":"deny","ipRules":[{"value":"203.0.113.0/24"},{"value":"198.51.100.7"},{"value":"nonsense"}]}}}`).
		expect(t, http.StatusCreated, "")
	want := func(stage, sku string, publicOff, exportsOff, admin, deny bool, ips string) {
		t.Helper()
		row, err := w.registryRow("factsreg1")
		if err != nil {
			t.Fatal(err)
		}
		f := row.Facts
		if f.Version == 0 || f.SKU != sku || f.PublicAccessDisabled != publicOff || f.ExportsDisabled != exportsOff ||
			f.AdminUserEnabled != admin || f.DefaultDeny != deny || prefixStrings(f.IPRules) != ips || len(f.PrivateSubnets) != 0 {
			t.Fatalf("%s: facts %+v", stage, f)
		}
		if strings.Contains(string(row.Document), "privateEndpointConnections\":[") {
			t.Fatalf("%s: the stored document holds connections: %s", stage, row.Document)
		}
	}
	want("create", "Premium", true, true, true, true, "203.0.113.0/24,198.51.100.7/32")

	w.do("PATCH", path, `{"properties":{"adminUserEnabled":false,"policies":{"exportPolicy":{"status":"enabled"}},
		"networkRuleSet":{"defaultAction":"Allow","ipRules":[]}}}`).expect(t, http.StatusOK, "")
	want("patch", "Premium", true, false, false, false, "")

	w.do("PUT", path, `{"location":"westus","sku":{"name":"Standard"},"properties":{"adminUserEnabled":true}}`).expect(t, http.StatusOK, "")
	want("put", "Standard", false, false, true, false, "")

	// A refused write leaves the facts as they were.
	w.do("PATCH", path, `{"properties":{"publicNetworkAccess":"Disabled"}}`).expect(t, http.StatusBadRequest, "DisablingPublicNetworkAccessNotSupported")
	want("refused patch", "Standard", false, false, true, false, "")
}

// Rows written before facts existed are derived once at start: facts from
// the document, connections out of the document into rows, the private
// subnets from the approved ones, and the old network view resource gone.
func TestDeriveFactsOfOldRows(t *testing.T) {
	w := newWorld(t, acr.Options{})
	ctx := context.Background()
	w.mkGroup(sub, "rg1")
	id := regPath(sub, "rg1", "oldreg1")
	netRG := groupPath(sub, "rg1") + "/providers/Microsoft.Network"
	peID := func(n string) string { return netRG + "/privateEndpoints/" + n }
	conn := func(name, pe, status string) string {
		return `{"id":"` + id + `/privateEndpointConnections/` + name + `","name":"` + name + `","type":"Microsoft.ContainerRegistry/registries/privateEndpointConnections",
			"properties":{"privateEndpoint":{"id":"` + peID(pe) + `"},"privateLinkServiceConnectionState":{"status":"` + status + `","description":"d","actionsRequired":"None"},"provisioningState":"Succeeded"}}`
	}
	doc := `{"id":"` + id + `","name":"oldreg1","type":"Microsoft.ContainerRegistry/registries","location":"westus",
		"sku":{"name":"Premium","tier":"Premium"},"properties":{"adminUserEnabled":true,"publicNetworkAccess":"Disabled",
		"networkRuleSet":{"defaultAction":"Deny","ipRules":[{"action":"Allow","value":"203.0.113.9"}]},
		"policies":{"exportPolicy":{"status":"disabled"}},
		"privateEndpointConnections":[` + conn("pe1.aaaa", "pe1", "Approved") + `,` + conn("pe2.bbbb", "pe2", "Pending") + `]}}`
	updated := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := w.store.Update(ctx, func(tx meta.Tx) error {
		for _, r := range []meta.Resource{
			{ID: netRG + "/virtualNetworks/v", Type: network.VirtualNetworkType,
				Document: []byte(`{"properties":{"subnets":[{"name":"a","properties":{"addressPrefix":"127.0.10.0/24"}},{"name":"b","properties":{"addressPrefix":"127.0.20.0/24"}}]}}`)},
			{ID: peID("pe1"), Type: network.PrivateEndpointType, Document: []byte(`{"properties":{"subnet":{"id":"` + netRG + `/virtualNetworks/v/subnets/a"}}}`)},
			{ID: peID("pe2"), Type: network.PrivateEndpointType, Document: []byte(`{"properties":{"subnet":{"id":"` + netRG + `/virtualNetworks/v/subnets/b"}}}`)},
			{ID: id + "/networkAccess/default", Type: "Microsoft.ContainerRegistry/registries/networkAccess", Document: []byte(`{"privateSubnets":["127.0.10.0/24"]}`)},
		} {
			if err := tx.PutResource(r); err != nil {
				return err
			}
		}
		return tx.CreateRegistry(meta.Registry{Key: "old-key", Name: "oldreg1", ResourceID: id, SubscriptionID: sub, ResourceGroup: "rg1",
			Document: []byte(doc), CreatedAt: updated, UpdatedAt: updated})
	})
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := w.registryRow("oldreg1"); row.Facts.Version != 0 {
		t.Fatalf("an old row starts with facts: %+v", row.Facts)
	}
	for range 2 { // the second run finds nothing to do
		if err := acr.DeriveFacts(ctx, w.store); err != nil {
			t.Fatal(err)
		}
	}
	row, err := w.registryRow("oldreg1")
	if err != nil {
		t.Fatal(err)
	}
	f := row.Facts
	if f.Version == 0 || f.SKU != "Premium" || !f.PublicAccessDisabled || !f.ExportsDisabled || !f.AdminUserEnabled || !f.DefaultDeny ||
		prefixStrings(f.IPRules) != "203.0.113.9/32" || prefixStrings(f.PrivateSubnets) != "127.0.10.0/24" {
		t.Fatalf("derived facts: %+v", f)
	}
	if !row.UpdatedAt.Equal(updated) || strings.Contains(string(row.Document), "pe1.aaaa") {
		t.Fatalf("derived row: updated %s, document %s", row.UpdatedAt, row.Document)
	}
	err = w.store.View(ctx, func(tx meta.Tx) error {
		cs, err := tx.ListConnections("old-key")
		if err != nil {
			return err
		}
		if len(cs) != 2 || cs[0].Name != "pe1.aaaa" || cs[0].Status != meta.ConnectionApproved || cs[0].PrivateEndpointID != peID("pe1") ||
			cs[1].Status != meta.ConnectionPending || cs[1].Description != "d" || cs[1].ActionsRequired != "None" {
			t.Fatalf("connection rows: %+v", cs)
		}
		if _, err := tx.GetResource(id + "/networkAccess/default"); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("the old network view is still there: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The wire shape is what it was: connections inside the registry.
	r := w.do("GET", id+regVersion, "").expect(t, http.StatusOK, "")
	conns, _ := dig(r.body, "properties", "privateEndpointConnections").([]any)
	if len(conns) != 2 || dig(conns[0], "name") != "pe1.aaaa" || dig(conns[0], "id") != id+"/privateEndpointConnections/pe1.aaaa" ||
		dig(conns[0], "properties", "privateLinkServiceConnectionState", "status") != "Approved" ||
		dig(conns[1], "properties", "privateEndpoint", "id") != peID("pe2") {
		t.Fatalf("GET shows connections %v", conns)
	}
	l := w.do("GET", id+"/privateEndpointConnections"+regVersion, "").expect(t, http.StatusOK, "")
	if vs, _ := l.body["value"].([]any); len(vs) != 2 || !slices.ContainsFunc(vs, func(v any) bool { return dig(v, "name") == "pe2.bbbb" }) {
		t.Fatalf("connection list: %s", l.raw)
	}
}
