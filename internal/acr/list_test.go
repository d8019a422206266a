package acr_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

// listAll follows nextLink from path and returns every name, checking
// that each nextLink is absolute, on the same host, and keeps the
// api-version.
func (w *world) listAll(t *testing.T, path string) (names []string, pages int) {
	t.Helper()
	for next := path; next != ""; {
		r := w.do("GET", next, "").expect(t, http.StatusOK, "")
		pages++
		v, ok := dig(r.body, "value").([]any)
		if !ok {
			t.Fatalf("no value array: %s", r.raw)
		}
		for _, x := range v {
			names = append(names, dig(x, "name").(string))
		}
		next, _ = dig(r.body, "nextLink").(string)
		if next != "" && (!strings.HasPrefix(next, w.srv.URL+"/subscriptions/") || !strings.Contains(next, "api-version=2025-11-01") ||
			!strings.Contains(next, "skipToken=")) {
			t.Fatalf("nextLink %q", next)
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	return names, pages
}

func TestRegistryListPaging(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "big")
	w.mkGroup(sub, "Small")
	w.mkGroup(otherSub, "elsewhere")
	var want []string
	for i := range 105 {
		name := fmt.Sprintf("reg%03d", i)
		w.mkRegistry(sub, "big", name)
		want = append(want, name)
	}
	for _, name := range []string{"SmallA1", "smallb1"} {
		w.mkRegistry(sub, "Small", name)
	}
	w.mkRegistry(otherSub, "elsewhere", "otherreg1")

	byGroup := func(rg string) string {
		return groupPath(sub, rg) + "/providers/Microsoft.ContainerRegistry/registries" + regVersion
	}
	names, pages := w.listAll(t, byGroup("big"))
	if pages != 2 || !slices.Equal(names, want) {
		t.Errorf("by group: %d pages, %d names %v", pages, len(names), names)
	}
	// The group filter compares case-insensitively.
	if names, _ = w.listAll(t, byGroup("SMALL")); !slices.Equal(names, []string{"SmallA1", "smallb1"}) {
		t.Errorf("by group (other casing): %v", names)
	}
	all, pages := w.listAll(t, "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/registries"+regVersion)
	if pages != 2 || len(all) != 107 || slices.Contains(all, "otherreg1") {
		t.Errorf("by subscription: %d pages, %d names", pages, len(all))
	}
	slices.SortFunc(all, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if len(slices.Compact(all)) != 107 {
		t.Error("a registry appears on two pages")
	}
	r := w.do("GET", "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/registries"+regVersion, "").expect(t, http.StatusOK, "")
	if v, _ := dig(r.body, "value").([]any); len(v) != 100 || dig(v[0], "properties", "loginServer") == nil {
		t.Errorf("first page: %d items", len(v))
	}
	if other, _ := w.listAll(t, "/subscriptions/"+otherSub+"/providers/Microsoft.ContainerRegistry/registries"+regVersion); !slices.Equal(other, []string{"otherreg1"}) {
		t.Errorf("other subscription: %v", other)
	}
	w.do("GET", byGroup("nosuchrg"), "").expect(t, http.StatusNotFound, "ResourceGroupNotFound")
	// A stale or garbage token is just a position, never an error.
	w.do("GET", byGroup("big")+"&$skipToken=zzzz", "").expect(t, http.StatusOK, "")
	w.do("GET", byGroup("big")+"&$skipToken=%00%ff", "").expect(t, http.StatusOK, "")
}
