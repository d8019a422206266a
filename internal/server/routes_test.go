package server_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/oci"
	"github.com/bulkhead-registry/bulkhead/internal/server"
)

// TestRoutes walks the route tables of both planes as the server builds
// them and fails on any route that declares no RBAC action (or a reason
// none applies) or no egress channel (or a reason it moves no content).
// With -v it prints every route with its action and channel.
func TestRoutes(t *testing.T) {
	router := management(t)
	known := map[string]bool{}
	for _, ch := range egress.Channels() {
		known[string(ch)] = true
	}
	egressOf := map[string]int{}
	mgmt := router.Routes()
	for _, r := range mgmt {
		t.Logf("management %-28s %-6s %-120s versions=%s | action=%q (%s) | egress: %s", r.Table, r.Method, r.Pattern, r.Versions, r.Action, r.Access, r.Egress)
		if r.Action == "" && !strings.HasPrefix(r.Access, "any caller: ") && !strings.HasPrefix(r.Access, "anonymous: ") {
			t.Errorf("management %s %s declares no action", r.Method, r.Pattern)
		}
		ch, isChannel := strings.CutPrefix(r.Egress, "channel ")
		switch {
		case isChannel && !known[ch]:
			t.Errorf("management %s %s: unknown egress channel %q", r.Method, r.Pattern, ch)
		case isChannel:
			egressOf[ch]++
		case !strings.HasPrefix(r.Egress, "no content: ") || strings.TrimSpace(strings.TrimPrefix(r.Egress, "no content: ")) == "":
			t.Errorf("management %s %s declares no egress channel and no reason", r.Method, r.Pattern)
		}
	}
	data := oci.Routes()
	for _, r := range data {
		t.Logf("data       %-6s %-50s | action=%q %s | egress: %s%s", r.Method, r.Pattern, r.Action, r.Access, r.Channel, r.NoContent)
		if r.Action == "" && r.Access == "" {
			t.Errorf("data %s %s declares no action", r.Method, r.Pattern)
		}
		switch {
		case r.Channel != "" && !known[r.Channel]:
			t.Errorf("data %s %s: unknown egress channel %q", r.Method, r.Pattern, r.Channel)
		case r.Channel != "":
			egressOf[r.Channel]++
		case strings.TrimSpace(r.NoContent) == "":
			t.Errorf("data %s %s declares no egress channel and no reason", r.Method, r.Pattern)
		}
	}
	// The channels that exist as routes today are each declared where
	// they are served.
	for _, ch := range []egress.Channel{egress.ChannelImportSource, egress.ChannelExportPipelineCreate, egress.ChannelCrossRegistryMount, egress.ChannelPublicPull} {
		if egressOf[string(ch)] == 0 {
			t.Errorf("no route declares the egress channel %s", ch)
		}
	}
	if len(mgmt) < 60 || len(data) < 15 {
		t.Errorf("only %d management and %d data routes: a table went missing", len(mgmt), len(data))
	}
	t.Logf("%d management routes, %d data routes", len(mgmt), len(data))
}

// The router canonicalises the literal segments its tables declare, in
// any casing, collapses the double slashes az sends, and leaves names
// (even ones that spell a keyword) as they are.
func TestCanonicalPath(t *testing.T) {
	router := management(t)
	for in, want := range map[string]string{
		"/subscriptions/S/resourcegroups/RG/providers/microsoft.containerregistry/registries/Reg":               "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/Reg",
		"/SUBSCRIPTIONS/s/resourceGroups/registries/providers/Microsoft.ContainerRegistry/REGISTRIES/providers": "/subscriptions/s/resourceGroups/registries/providers/Microsoft.ContainerRegistry/registries/providers",
		"/subscriptions/s/providers/Microsoft.ContainerRegistry/checknameavailability":                          "/subscriptions/s/providers/Microsoft.ContainerRegistry/checkNameAvailability",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry//registries/r":                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r",
		"/subscriptions/s/providers/microsoft.containerregistry/LOCATIONS/WestUS/OPERATIONSTATUSES/Op1":         "/subscriptions/s/providers/Microsoft.ContainerRegistry/locations/WestUS/operationStatuses/Op1",
		"/subscriptions/s/resourcegroups/rg/providers/microsoft.resources/deployments/":                         "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Resources/deployments",
		"/subscriptions/s/resourceGroups/rg/providers/MICROSOFT.NETWORK/privateendpoints/PE":                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/PE",
		"/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/VAULTS/KV1/SECRETS/Secrets":            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/KV1/secrets/Secrets",
	} {
		if got := router.CanonicalPath(in); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
}

// management builds the management plane as serve does, on a fresh store.
func management(t *testing.T) *arm.Router {
	t.Helper()
	router, _, _ := managementParts(t)
	return router
}

func managementParts(t testing.TB) (*arm.Router, meta.Store, *identity.Service) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ids, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	router, err := server.Management(server.ManagementOptions{Meta: store, Identity: ids, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("the management plane refused its own tables: %v", err)
	}
	return router, store, ids
}
