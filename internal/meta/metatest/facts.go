package metatest

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// sameFacts compares facts field by field; nil and empty prefix lists are
// the same fact.
func sameFacts(a, b meta.RegistryFacts) bool {
	return a.Version == b.Version && a.SKU == b.SKU && a.PublicAccessDisabled == b.PublicAccessDisabled &&
		a.ExportsDisabled == b.ExportsDisabled && a.AdminUserEnabled == b.AdminUserEnabled && a.DefaultDeny == b.DefaultDeny &&
		slices.Equal(a.IPRules, b.IPRules) && slices.Equal(a.PrivateSubnets, b.PrivateSubnets)
}

// wantFacts checks the facts of registry name through both readers.
func wantFacts(t *testing.T, s meta.Store, name string, want meta.RegistryFacts) {
	t.Helper()
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName(name)
		wantNoErr(t, "RegistryByName", err)
		if !sameFacts(r.Facts, want) {
			t.Fatalf("RegistryByName(%s).Facts:\n got %+v\nwant %+v", name, r.Facts, want)
		}
		all, err := tx.ListRegistries("", "", meta.Page{})
		wantNoErr(t, "ListRegistries", err)
		for _, x := range all {
			if x.Name == name && !sameFacts(x.Facts, want) {
				t.Fatalf("ListRegistries' %s.Facts:\n got %+v\nwant %+v", name, x.Facts, want)
			}
		}
		return nil
	})
}

// Facts are written with the document by CreateRegistry and UpdateRegistry
// and come back unchanged from RegistryByName and ListRegistries; a row
// written without facts reads back as Version 0 (unknown).
func testRegistryFacts(t *testing.T, s meta.Store) {
	full := meta.RegistryFacts{
		Version: 3, SKU: "Premium", PublicAccessDisabled: true, ExportsDisabled: true, AdminUserEnabled: true, DefaultDeny: true,
		IPRules:        prefixes("203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"),
		PrivateSubnets: prefixes("10.1.0.0/24", "10.2.0.0/16"),
	}
	in := registry("k1", "facts1", "s", "rg")
	in.Facts = full
	bare := registry("k2", "bare2", "s", "rg")
	update(t, s, func(tx meta.Tx) error {
		if err := tx.CreateRegistry(in); err != nil {
			return err
		}
		return tx.CreateRegistry(bare)
	})
	wantFacts(t, s, "facts1", full)
	wantFacts(t, s, "bare2", meta.RegistryFacts{})

	// Every fact follows UpdateRegistry, including back to zero values.
	next := meta.RegistryFacts{Version: 4, SKU: "Basic", IPRules: prefixes("192.0.2.1/32")}
	changed := in
	changed.Facts, changed.Document, changed.UpdatedAt = next, []byte(`{"v":2}`), at(1)
	update(t, s, func(tx meta.Tx) error { return tx.UpdateRegistry(changed) })
	wantFacts(t, s, "facts1", next)
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("facts1")
		wantNoErr(t, "RegistryByName", err)
		if string(r.Document) != `{"v":2}` || !r.UpdatedAt.Equal(at(1)) {
			t.Fatalf("document and facts must change together: %+v", r)
		}
		return nil
	})
	wantFacts(t, s, "bare2", meta.RegistryFacts{})

	// A failed update leaves the old facts.
	wantClass(t, "UpdateRegistry of an unknown key", s.Update(t.Context(), func(tx meta.Tx) error {
		r := registry("nokey", "nokey", "s", "rg")
		r.Facts = full
		return tx.UpdateRegistry(r)
	}), errdef.ErrNotFound)
	wantFacts(t, s, "facts1", next)
}

// SetPrivateSubnets changes that fact alone: not the document, not the
// other facts, not UpdatedAt.
func testSetPrivateSubnets(t *testing.T, s meta.Store) {
	in := registry("k1", "subnets1", "s", "rg")
	in.Facts = meta.RegistryFacts{Version: 1, SKU: "Premium", PublicAccessDisabled: true, IPRules: prefixes("203.0.113.0/24")}
	other := registry("k2", "subnets2", "s", "rg")
	other.Facts = meta.RegistryFacts{Version: 1, SKU: "Premium", PrivateSubnets: prefixes("10.9.0.0/24")}
	update(t, s, func(tx meta.Tx) error {
		if err := tx.CreateRegistry(in); err != nil {
			return err
		}
		return tx.CreateRegistry(other)
	})
	want := in.Facts
	want.PrivateSubnets = prefixes("10.1.0.0/24", "10.3.0.0/24")
	update(t, s, func(tx meta.Tx) error { return tx.SetPrivateSubnets("k1", want.PrivateSubnets) })
	wantFacts(t, s, "subnets1", want)
	wantFacts(t, s, "subnets2", other.Facts)
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("subnets1")
		wantNoErr(t, "RegistryByName", err)
		if string(r.Document) != string(in.Document) || !r.UpdatedAt.Equal(in.UpdatedAt) {
			t.Fatalf("SetPrivateSubnets changed more than the subnets: %+v", r)
		}
		return nil
	})
	want.PrivateSubnets = nil
	update(t, s, func(tx meta.Tx) error { return tx.SetPrivateSubnets("k1", nil) })
	wantFacts(t, s, "subnets1", want)
	wantClass(t, "SetPrivateSubnets of an unknown key", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.SetPrivateSubnets("nokey", prefixes("10.0.0.0/8"))
	}), errdef.ErrNotFound)
}

func connection(key, name, pe string, status meta.ConnectionStatus) meta.PrivateEndpointConnection {
	return meta.PrivateEndpointConnection{
		RegistryKey: key, Name: name, PrivateEndpointID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/" + pe,
		Status: status, Description: "why " + name, ActionsRequired: "None", ProvisioningState: "Succeeded",
		CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func listNames(t *testing.T, tx meta.Tx, key string) []string {
	t.Helper()
	cs, err := tx.ListConnections(key)
	wantNoErr(t, "ListConnections "+key, err)
	var out []string
	for _, c := range cs {
		if c.RegistryKey != key {
			t.Fatalf("ListConnections(%s) returned a row of %s", key, c.RegistryKey)
		}
		out = append(out, c.Name)
	}
	return out
}

func testConnectionCRUD(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(registry("k1", "conns1", "s", "rg")) })
	view(t, s, func(tx meta.Tx) error {
		cs, err := tx.ListConnections("k1")
		if err != nil || len(cs) != 0 {
			t.Fatalf("a new registry has connections: %v %v", cs, err)
		}
		return nil
	})
	pe2 := connection("k1", "pe2.bbbb", "pe2", meta.ConnectionPending)
	update(t, s, func(tx meta.Tx) error {
		// Written out of order, so the listing must sort.
		for _, c := range []meta.PrivateEndpointConnection{pe2, connection("k1", "PE1.aaaa", "pe1", meta.ConnectionApproved)} {
			if err := tx.PutConnection(c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if got := listNames(t, tx, "k1"); !slices.Equal(got, []string{"PE1.aaaa", "pe2.bbbb"}) {
			t.Fatalf("ListConnections: %v", got)
		}
		c, err := tx.Connection("k1", "PE2.BBBB")
		wantNoErr(t, "Connection in another casing", err)
		if c != pe2 {
			t.Fatalf("Connection:\n got %+v\nwant %+v", c, pe2)
		}
		_, err = tx.Connection("k1", "nope")
		wantClass(t, "Connection of an unknown name", err, errdef.ErrNotFound)
		return nil
	})

	// A replace, in another casing, changes the state and keeps the name's
	// casing and CreatedAt.
	approved := pe2
	approved.Name, approved.Status, approved.Description, approved.CreatedAt, approved.UpdatedAt = "PE2.BBBB", meta.ConnectionApproved, "by the owner", at(5), at(1)
	update(t, s, func(tx meta.Tx) error { return tx.PutConnection(approved) })
	view(t, s, func(tx meta.Tx) error {
		c, err := tx.Connection("k1", "pe2.bbbb")
		wantNoErr(t, "Connection after replace", err)
		want := approved
		want.Name, want.CreatedAt = pe2.Name, pe2.CreatedAt
		if c != want {
			t.Fatalf("after replace:\n got %+v\nwant %+v", c, want)
		}
		if got := listNames(t, tx, "k1"); len(got) != 2 {
			t.Fatalf("a replace added a row: %v", got)
		}
		return nil
	})

	update(t, s, func(tx meta.Tx) error { return tx.DeleteConnection("k1", "Pe1.AAAA") })
	view(t, s, func(tx meta.Tx) error {
		if got := listNames(t, tx, "k1"); !slices.Equal(got, []string{"pe2.bbbb"}) {
			t.Fatalf("after delete: %v", got)
		}
		return nil
	})
	wantClass(t, "DeleteConnection twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteConnection("k1", "pe1.aaaa")
	}), errdef.ErrNotFound)
}

// Connections of one registry are invisible to another, even under the
// same name, and DeleteRegistry takes its own with it and no one else's.
func testConnectionIsolation(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for _, k := range []string{"A", "B"} {
			if err := tx.CreateRegistry(registry(k, "registry"+k, "s", "rg")); err != nil {
				return err
			}
		}
		for _, c := range []meta.PrivateEndpointConnection{
			connection("A", "same.0000", "pa", meta.ConnectionApproved),
			connection("A", "only-a.1111", "pa2", meta.ConnectionPending),
			connection("B", "same.0000", "pb", meta.ConnectionRejected),
		} {
			if err := tx.PutConnection(c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if got := listNames(t, tx, "B"); !slices.Equal(got, []string{"same.0000"}) {
			t.Fatalf("B's connections: %v", got)
		}
		if c, err := tx.Connection("B", "same.0000"); err != nil || c.Status != meta.ConnectionRejected {
			t.Fatalf("B's connection under a shared name: %+v %v", c, err)
		}
		if _, err := tx.Connection("B", "only-a.1111"); !isNotFound(err) {
			t.Fatalf("A's connection visible in B: %v", err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteConnection("B", "same.0000") })
	view(t, s, func(tx meta.Tx) error {
		if got := listNames(t, tx, "A"); !slices.Equal(got, []string{"only-a.1111", "same.0000"}) {
			t.Fatalf("B's delete touched A: %v", got)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		if err := tx.PutConnection(connection("B", "same.0000", "pb", meta.ConnectionApproved)); err != nil {
			return err
		}
		return tx.DeleteRegistry("A")
	})
	view(t, s, func(tx meta.Tx) error {
		if got := listNames(t, tx, "A"); len(got) != 0 {
			t.Fatalf("connections of A after DeleteRegistry: %v", got)
		}
		if got := listNames(t, tx, "B"); !slices.Equal(got, []string{"same.0000"}) {
			t.Fatalf("DeleteRegistry(A) touched B: %v", got)
		}
		return nil
	})
	// A registry recreated under A's name gets a new key and no connections.
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(registry("A2", "registryA", "s", "rg")) })
	view(t, s, func(tx meta.Tx) error {
		if got := listNames(t, tx, "A2"); len(got) != 0 {
			t.Fatalf("a recreated registry inherited connections: %v", got)
		}
		return nil
	})
}
