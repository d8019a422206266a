package arm

import (
	"errors"
	"slices"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

func TestParseID(t *testing.T) {
	for _, c := range []struct {
		in, canonical, typ, name string
		want                     ID
	}{
		{"/subscriptions/S1", "/subscriptions/S1", "Microsoft.Resources/subscriptions", "S1", ID{Subscription: "S1"}},
		{"/SUBSCRIPTIONS/s1/resourcegroups/MyRG/", "/subscriptions/s1/resourceGroups/MyRG", "Microsoft.Resources/resourceGroups", "MyRG",
			ID{Subscription: "s1", ResourceGroup: "MyRG"}},
		{"/subscriptions/s1/resourceGroups/rg/providers/microsoft.containerregistry/registries/Reg1",
			"/subscriptions/s1/resourceGroups/rg/providers/microsoft.containerregistry/registries/Reg1",
			"microsoft.containerregistry/registries", "Reg1",
			ID{Subscription: "s1", ResourceGroup: "rg", Provider: "microsoft.containerregistry", Types: []string{"registries"}, Names: []string{"Reg1"}}},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1/exportPipelines/p1",
			"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1/exportPipelines/p1",
			"Microsoft.ContainerRegistry/registries/exportPipelines", "p1",
			ID{Subscription: "s1", ResourceGroup: "rg", Provider: "Microsoft.ContainerRegistry", Types: []string{"registries", "exportPipelines"}, Names: []string{"reg1", "p1"}}},
		{"/subscriptions/s1/providers/Microsoft.ContainerRegistry/locations/westus/operationStatuses/op1",
			"/subscriptions/s1/providers/Microsoft.ContainerRegistry/locations/westus/operationStatuses/op1",
			"Microsoft.ContainerRegistry/locations/operationStatuses", "op1",
			ID{Subscription: "s1", Provider: "Microsoft.ContainerRegistry", Types: []string{"locations", "operationStatuses"}, Names: []string{"westus", "op1"}}},
		{"/providers/Microsoft.Management/managementGroups/mg1", "/providers/Microsoft.Management/managementGroups/mg1",
			"Microsoft.Management/managementGroups", "mg1",
			ID{Provider: "Microsoft.Management", Types: []string{"managementGroups"}, Names: []string{"mg1"}}},
		// A resource group may be called "providers".
		{"/subscriptions/s1/resourceGroups/providers", "/subscriptions/s1/resourceGroups/providers", "Microsoft.Resources/resourceGroups", "providers",
			ID{Subscription: "s1", ResourceGroup: "providers"}},
	} {
		got, err := ParseID(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got.Subscription != c.want.Subscription || got.ResourceGroup != c.want.ResourceGroup || got.Provider != c.want.Provider ||
			!slices.Equal(got.Types, c.want.Types) || !slices.Equal(got.Names, c.want.Names) {
			t.Errorf("%s: got %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.canonical || got.ResourceType() != c.typ || got.Name() != c.name {
			t.Errorf("%s: String %q ResourceType %q Name %q", c.in, got.String(), got.ResourceType(), got.Name())
		}
		again, err := ParseID(got.String())
		if err != nil || !again.Equal(got) {
			t.Errorf("%s: does not round-trip: %v", c.in, err)
		}
	}
}

func TestParseIDRejects(t *testing.T) {
	for _, in := range []string{
		"", "/", "subscriptions/s1", "/subscriptions", "/subscriptions//resourceGroups/rg", "/subscriptions/s1/resourceGroups",
		"/subscriptions/s1/resourceGroups/rg/registries/r", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry",
		"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries",
		"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/exportPipelines",
		"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/roleAssignments/x",
		"/tenants/t1",
	} {
		_, err := ParseID(in)
		if err == nil {
			t.Errorf("%q: accepted", in)
			continue
		}
		if ae := ToError(err); ae.Status != 400 || ae.Code != "InvalidResourceId" || !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("%q: %d %s", in, ae.Status, ae.Code)
		}
	}
}

func TestIDNavigation(t *testing.T) {
	rg := ResourceGroupID("s1", "RG")
	reg := rg.Resource("Microsoft.ContainerRegistry", "registries", "reg1")
	pipe := reg.Child("exportPipelines", "p1")
	if pipe.String() != "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/reg1/exportPipelines/p1" {
		t.Fatalf("child: %s", pipe)
	}
	if len(reg.Types) != 1 {
		t.Fatal("Child must not modify its parent")
	}
	up, ok := pipe.Parent()
	if !ok || !up.Equal(reg) {
		t.Fatalf("parent of pipeline: %s", up)
	}
	if up, ok = reg.Parent(); !ok || !up.Equal(rg) {
		t.Fatalf("parent of registry: %s", up)
	}
	if up, ok = rg.Parent(); !ok || !up.Equal(SubscriptionID("s1")) {
		t.Fatalf("parent of group: %s", up)
	}
	if _, ok = SubscriptionID("s1").Parent(); ok {
		t.Fatal("a subscription has no parent")
	}
	other, _ := ParseID("/SUBSCRIPTIONS/S1/RESOURCEGROUPS/rg/PROVIDERS/microsoft.containerregistry/REGISTRIES/REG1")
	if !other.Equal(reg) || !rg.Contains(other) || !SubscriptionID("S1").Contains(pipe) {
		t.Fatal("ids compare case-insensitively")
	}
	if ResourceGroupID("s1", "rg2").Contains(reg) || ResourceGroupID("s1", "R").Contains(reg) {
		t.Fatal("Contains must match whole segments")
	}
}

func TestParseExtensionID(t *testing.T) {
	const reg = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/Reg1"
	in := "/SUBSCRIPTIONS/s1/resourcegroups/rg/providers/Microsoft.ContainerRegistry/registries/Reg1/PROVIDERS/microsoft.insights/diagnosticSettings/S1"
	if _, err := ParseID(in); err == nil {
		t.Fatal("ParseID accepted an extension resource")
	}
	id, err := ParseExtensionID(in)
	if err != nil {
		t.Fatal(err)
	}
	if id.Extends == nil || id.Extends.String() != reg || id.Subscription != "s1" || id.ResourceGroup != "rg" {
		t.Fatalf("extends %v, sub %q, rg %q", id.Extends, id.Subscription, id.ResourceGroup)
	}
	if id.String() != reg+"/providers/microsoft.insights/diagnosticSettings/S1" || id.ResourceType() != "microsoft.insights/diagnosticSettings" || id.Name() != "S1" {
		t.Fatalf("String %q ResourceType %q Name %q", id.String(), id.ResourceType(), id.Name())
	}
	if up, ok := id.Parent(); !ok || up.String() != reg {
		t.Fatalf("parent %s", up)
	}
	again, err := ParseExtensionID(id.String())
	if err != nil || !again.Equal(id) {
		t.Fatalf("does not round-trip: %v", err)
	}
	regID, _ := ParseID(reg)
	if !regID.Contains(id) {
		t.Fatal("a registry contains its extension resources")
	}
	// A child of an extension resource stays under it.
	child := id.Child("items", "x")
	if up, ok := child.Parent(); !ok || !up.Equal(id) {
		t.Fatalf("parent of a child: %s", up)
	}
	// Plain ids parse the same as with ParseID.
	if plain, err := ParseExtensionID(reg); err != nil || plain.Extends != nil || plain.String() != reg {
		t.Fatalf("plain id: %v %v", plain, err)
	}
	for _, bad := range []string{
		reg + "/providers/Microsoft.Insights/diagnosticSettings",
		reg + "/providers/Microsoft.Insights",
		reg + "/providers/Microsoft.Insights/diagnosticSettings/s1/providers/Microsoft.Authorization/locks/l1",
	} {
		if _, err := ParseExtensionID(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}
