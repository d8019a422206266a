package metatest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func testRegistryCRUD(t *testing.T, s meta.Store) {
	in := registry("k1", "Alpha1", "sub-1", "RG-One")
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(in) })
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("alpha1")
		wantNoErr(t, "RegistryByName", err)
		if r.Key != "k1" || r.Name != "alpha1" || r.ResourceGroup != "rg-one" || r.SubscriptionID != "sub-1" ||
			r.ResourceID != in.ResourceID || string(r.Document) != string(in.Document) ||
			!r.CreatedAt.Equal(in.CreatedAt) || !r.UpdatedAt.Equal(in.UpdatedAt) {
			t.Fatalf("RegistryByName: got %+v, want %+v with name and group lower-cased", r, in)
		}
		return nil
	})

	// UpdateRegistry replaces Document, Facts and UpdatedAt, nothing else.
	changed := in
	changed.Name, changed.ResourceID, changed.Document, changed.UpdatedAt = "renamed", "/x", []byte(`{"v":2}`), at(1)
	update(t, s, func(tx meta.Tx) error { return tx.UpdateRegistry(changed) })
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("alpha1")
		wantNoErr(t, "RegistryByName after update", err)
		if string(r.Document) != `{"v":2}` || !r.UpdatedAt.Equal(at(1)) || !r.CreatedAt.Equal(at(0)) ||
			r.Name != "alpha1" || r.ResourceID != in.ResourceID {
			t.Fatalf("after UpdateRegistry: %+v", r)
		}
		_, err = tx.RegistryByName("renamed")
		wantClass(t, "UpdateRegistry must not rename", err, errdef.ErrNotFound)
		return nil
	})
	wantClass(t, "UpdateRegistry of an unknown key", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.UpdateRegistry(registry("nokey", "x", "s", "r"))
	}), errdef.ErrNotFound)
	wantClass(t, "RegistryByName of an unknown name", s.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.RegistryByName("nope")
		return err
	}), errdef.ErrNotFound)

	update(t, s, func(tx meta.Tx) error { return tx.DeleteRegistry("k1") })
	wantClass(t, "RegistryByName after delete", s.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.RegistryByName("alpha1")
		return err
	}), errdef.ErrNotFound)
	wantClass(t, "DeleteRegistry twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteRegistry("k1")
	}), errdef.ErrNotFound)

	// The name is free again, under a new key.
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(registry("k2", "alpha1", "sub-1", "rg-one")) })
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.RegistryByName("ALPHA1")
		if err != nil || r.Key != "k2" {
			t.Fatalf("recreated registry: %+v %v", r, err)
		}
		return nil
	})
}

func testRegistryNames(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error { return tx.CreateRegistry(registry("k1", "myreg", "s1", "rg")) })
	for _, name := range []string{"myreg", "MYREG", "MyReg"} {
		wantClass(t, "CreateRegistry "+name, s.Update(t.Context(), func(tx meta.Tx) error {
			return tx.CreateRegistry(registry("other-"+name, name, "s2", "other"))
		}), errdef.ErrAlreadyExists)
	}
	wantClass(t, "CreateRegistry reusing a key", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.CreateRegistry(registry("k1", "different", "s1", "rg"))
	}), errdef.ErrAlreadyExists)
	view(t, s, func(tx meta.Tx) error {
		for _, name := range []string{"myreg", "MYREG", "mYrEg"} {
			r, err := tx.RegistryByName(name)
			if err != nil || r.Key != "k1" {
				t.Fatalf("RegistryByName(%q): %+v %v", name, r, err)
			}
		}
		rs, err := tx.ListRegistries("", "", meta.Page{})
		if err != nil || len(rs) != 1 {
			t.Fatalf("failed creates left rows: %+v %v", rs, err)
		}
		return nil
	})
}

func testRegistryPaging(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		for i := range 25 {
			// Created out of order, so the listing must sort.
			n := (i * 7) % 25
			r := registry(fmt.Sprint("k", n), fmt.Sprintf("reg%02d", n), "Sub-1", fmt.Sprint("RG", n%2))
			if err := tx.CreateRegistry(r); err != nil {
				return err
			}
		}
		return tx.CreateRegistry(registry("other", "aaother", "sub-2", "rg0"))
	})
	var names []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		var page []meta.Registry
		view(t, s, func(tx meta.Tx) (err error) {
			page, err = tx.ListRegistries("SUB-1", "", meta.Page{After: after, Limit: 10})
			return err
		})
		if len(page) > 10 {
			t.Fatalf("page of %d exceeds the limit", len(page))
		}
		for _, r := range page {
			names = append(names, r.Name)
		}
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].Name
	}
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("reg%02d", i))
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("paged list by subscription:\n got %v\nwant %v", names, want)
	}
	view(t, s, func(tx meta.Tx) error {
		odd, err := tx.ListRegistries("sub-1", "rg1", meta.Page{})
		if err != nil || len(odd) != 12 || odd[0].Name != "reg01" {
			t.Fatalf("resource group filter (case-insensitive): %d %v", len(odd), err)
		}
		rg0, err := tx.ListRegistries("", "Rg0", meta.Page{})
		if err != nil || len(rg0) != 14 || rg0[0].Name != "aaother" {
			t.Fatalf("resource group filter across subscriptions: %d %v", len(rg0), err)
		}
		every, err := tx.ListRegistries("", "", meta.Page{})
		if err != nil || len(every) != 26 {
			t.Fatalf("unfiltered: %d %v", len(every), err)
		}
		none, err := tx.ListRegistries("sub-3", "", meta.Page{})
		if err != nil || len(none) != 0 {
			t.Fatalf("unknown subscription: %v %v", none, err)
		}
		tail, err := tx.ListRegistries("sub-1", "", meta.Page{After: "reg23"})
		if err != nil || len(tail) != 1 || tail[0].Name != "reg24" {
			t.Fatalf("After without Limit: %v %v", tail, err)
		}
		return nil
	})
}
