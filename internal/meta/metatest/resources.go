package metatest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const rgID = "/subscriptions/s1/resourceGroups/RG"

func resource(id, typ string) meta.Resource {
	return meta.Resource{ID: id, Type: typ, Document: []byte(`{"id":"` + id + `"}`), CreatedAt: at(0), UpdatedAt: at(0)}
}

func ids(rs []meta.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testResourceCRUD(t *testing.T, s meta.Store) {
	in := resource(rgID, "Microsoft.Resources/resourceGroups")
	update(t, s, func(tx meta.Tx) error { return tx.PutResource(in) })
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.GetResource("/SUBSCRIPTIONS/s1/resourcegroups/rg")
		wantNoErr(t, "GetResource in other casing", err)
		if r.ID != rgID || r.Type != in.Type || string(r.Document) != string(in.Document) ||
			!r.CreatedAt.Equal(at(0)) || !r.UpdatedAt.Equal(at(0)) {
			t.Fatalf("GetResource: got %+v, want %+v", r, in)
		}
		return nil
	})
	repl := in
	repl.Document, repl.UpdatedAt = []byte(`{"v":2}`), at(1)
	update(t, s, func(tx meta.Tx) error { return tx.PutResource(repl) })
	view(t, s, func(tx meta.Tx) error {
		r, err := tx.GetResource(rgID)
		if err != nil || string(r.Document) != `{"v":2}` || !r.UpdatedAt.Equal(at(1)) {
			t.Fatalf("replace: %+v %v", r, err)
		}
		rs, err := tx.ListResources("/subscriptions/s1", "", meta.Page{})
		if err != nil || len(rs) != 1 {
			t.Fatalf("replace must not duplicate: %v %v", ids(rs), err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.DeleteResource("/subscriptions/S1/resourceGroups/rg") })
	wantClass(t, "DeleteResource twice", s.Update(t.Context(), func(tx meta.Tx) error {
		return tx.DeleteResource(rgID)
	}), errdef.ErrNotFound)
	wantClass(t, "GetResource after delete", s.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.GetResource(rgID)
		return err
	}), errdef.ErrNotFound)
}

func testResourceScope(t *testing.T, s meta.Store) {
	const things = "X.Provider/things"
	under := []string{
		rgID + "/providers/X.Provider/things/a%b", // LIKE metacharacters are literal
		rgID + "/providers/X.Provider/things/a_c",
		rgID + "/providers/X.Provider/things/B", // sorts after a* once lower-cased
		rgID + "/providers/X.Provider/things/a_c/children/x",
	}
	update(t, s, func(tx meta.Tx) error {
		for _, id := range under {
			if err := tx.PutResource(resource(id, things)); err != nil {
				return err
			}
		}
		for _, r := range []meta.Resource{
			resource(rgID, "Microsoft.Resources/resourceGroups"),     // the scope itself
			resource(rgID+"x/providers/X.Provider/things/q", things), // sibling group sharing a prefix
			resource(rgID+"_/providers/X.Provider/things/q", things), // '_' after the scope
			resource("/subscriptions/s1/resourceGroups/other", "Microsoft.Resources/resourceGroups"),
			resource(rgID+"/providers/X.Provider/widgets/w", "X.Provider/widgets"),
		} {
			if err := tx.PutResource(r); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.ListResources("/subscriptions/S1/resourcegroups/rg", "x.provider/THINGS", meta.Page{})
		wantNoErr(t, "ListResources", err)
		want := []string{under[0], under[1], under[3], under[2]} // by lower-cased id
		if !slices.Equal(ids(got), want) {
			t.Fatalf("scoped, typed list:\n got %q\nwant %q", ids(got), want)
		}
		every, err := tx.ListResources(rgID, "", meta.Page{})
		if err != nil || len(every) != 5 {
			t.Fatalf("all types under the group: %q %v", ids(every), err)
		}
		pct, err := tx.ListResources(rgID+"/providers/X.Provider/things/a%", "", meta.Page{})
		if err != nil || len(pct) != 0 {
			t.Fatalf("'%%' in a scope must be literal: %q %v", ids(pct), err)
		}
		child, err := tx.ListResources(under[1], "", meta.Page{})
		if err != nil || !slices.Equal(ids(child), []string{under[3]}) {
			t.Fatalf("children of a_c: %q %v", ids(child), err)
		}
		groups, err := tx.ListResources("/subscriptions/s1/resourceGroups", "Microsoft.Resources/resourceGroups", meta.Page{})
		if err != nil || len(groups) != 2 {
			t.Fatalf("resource groups of s1: %q %v", ids(groups), err)
		}
		return nil
	})
}

func testResourcePaging(t *testing.T, s meta.Store) {
	var want []string
	update(t, s, func(tx meta.Tx) error {
		for i := range 25 {
			id := fmt.Sprintf("%s/providers/X/things/T%02d", rgID, (i*7)%25)
			want = append(want, id)
			if err := tx.PutResource(resource(id, "X/things")); err != nil {
				return err
			}
		}
		return nil
	})
	slices.Sort(want)
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		var page []meta.Resource
		view(t, s, func(tx meta.Tx) (err error) {
			page, err = tx.ListResources(rgID, "X/things", meta.Page{After: after, Limit: 10})
			return err
		})
		if len(page) > 10 {
			t.Fatalf("page of %d exceeds the limit", len(page))
		}
		got = append(got, ids(page)...)
		if len(page) < 10 {
			break
		}
		after = strings.ToLower(page[len(page)-1].ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged resources:\n got %q\nwant %q", got, want)
	}
}
