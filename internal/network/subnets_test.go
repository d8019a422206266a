package network

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

// PrivateSubnets follows the connection rows: approved ones only, each
// subnet once, and an endpoint or subnet that is gone lets nobody in.
func TestPrivateSubnets(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const rg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
	vnet := `{"properties":{"subnets":[{"name":"a","properties":{"addressPrefix":"10.1.0.0/24"}},{"name":"B","properties":{"addressPrefixes":["10.2.0.0/24","10.3.0.0/24"]}}]}}`
	endpoint := func(subnet string) []byte {
		var pe PrivateEndpoint
		pe.Properties.Subnet.ID = rg + "/virtualNetworks/v/subnets/" + subnet
		b, _ := json.Marshal(pe)
		return b
	}
	conn := func(name, pe string, status meta.ConnectionStatus) meta.PrivateEndpointConnection {
		return meta.PrivateEndpointConnection{RegistryKey: "k", Name: name, PrivateEndpointID: rg + "/privateEndpoints/" + pe, Status: status}
	}
	var got []netip.Prefix
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.CreateRegistry(meta.Registry{Key: "k", Name: "reg", Facts: meta.RegistryFacts{Version: 1}}); err != nil {
			return err
		}
		for _, r := range []meta.Resource{
			{ID: rg + "/virtualNetworks/v", Type: VirtualNetworkType, Document: []byte(vnet)},
			{ID: rg + "/privateEndpoints/pa", Type: PrivateEndpointType, Document: endpoint("a")},
			{ID: rg + "/privateEndpoints/pa2", Type: PrivateEndpointType, Document: endpoint("A")},
			{ID: rg + "/privateEndpoints/pb", Type: PrivateEndpointType, Document: endpoint("b")},
			{ID: rg + "/privateEndpoints/gone-subnet", Type: PrivateEndpointType, Document: endpoint("c")},
		} {
			if err := tx.PutResource(r); err != nil {
				return err
			}
		}
		for _, c := range []meta.PrivateEndpointConnection{
			conn("1", "pa", meta.ConnectionApproved),
			conn("2", "pa2", meta.ConnectionApproved), // the same subnet again
			conn("3", "pb", meta.ConnectionPending),
			conn("4", "gone-subnet", meta.ConnectionApproved),
			conn("5", "gone-endpoint", meta.ConnectionApproved),
		} {
			if err := tx.PutConnection(c); err != nil {
				return err
			}
		}
		if err := RefreshPrivateSubnets(tx, "k"); err != nil {
			return err
		}
		reg, err := tx.RegistryByName("reg")
		got = reg.Facts.PrivateSubnets
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}; !slices.Equal(got, want) {
		t.Fatalf("private subnets %v, want %v", got, want)
	}
	// Approving the pending connection adds both its ranges.
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.PutConnection(conn("3", "pb", meta.ConnectionApproved)); err != nil {
			return err
		}
		got, err = PrivateSubnets(tx, "k")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].String() != "10.2.0.0/24" || got[2].String() != "10.3.0.0/24" {
		t.Fatalf("after approval: %v", got)
	}
}
