package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerregistry/armcontainerregistry/v3"
	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestAzureSDK drives Bulkhead with the Azure SDK for Go: azidentity's
// client-secret credential against our Entra-style token service, and
// armcontainerregistry/v3 against our ARM endpoint, over TLS.
func TestAzureSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{TLS: true})
	ctx := context.Background()
	cfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: srv.URL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: srv.URL, Audience: "https://management.azure.com"},
		},
	}
	transport := srv.Client.Transport.(*http.Transport)
	client := &http.Client{Transport: transport}
	cred, err := azidentity.NewClientSecretCredential(srv.Boot.TenantID, srv.Boot.ClientID, srv.Boot.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: client}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	regs, err := armcontainerregistry.NewRegistriesClient(srv.Boot.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: client}})
	if err != nil {
		t.Fatal(err)
	}
	if code, b := srv.ARM(t, "PUT", "/subscriptions/"+srv.Boot.SubscriptionID+"/resourceGroups/sdkrg?api-version=2024-03-01", map[string]any{"location": "westus"}); code != 201 {
		t.Fatalf("resource group: %d %s", code, b)
	}

	poller, err := regs.BeginCreate(ctx, "sdkrg", "sdkregistry", armcontainerregistry.Registry{
		Location: to.Ptr("westus"),
		SKU:      &armcontainerregistry.SKU{Name: to.Ptr(armcontainerregistry.SKUNamePremium)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Name != "sdkregistry" || *created.Properties.Policies.ExportPolicy.Status != armcontainerregistry.ExportPolicyStatusEnabled {
		t.Fatalf("created %+v", created.Registry)
	}

	up, err := regs.BeginUpdate(ctx, "sdkrg", "sdkregistry", armcontainerregistry.RegistryUpdateParameters{
		Properties: &armcontainerregistry.RegistryPropertiesUpdateParameters{
			PublicNetworkAccess: to.Ptr(armcontainerregistry.PublicNetworkAccessDisabled),
			Policies: &armcontainerregistry.Policies{ExportPolicy: &armcontainerregistry.ExportPolicy{
				Status: to.Ptr(armcontainerregistry.ExportPolicyStatusDisabled)}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := up.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *updated.Properties.Policies.ExportPolicy.Status != armcontainerregistry.ExportPolicyStatusDisabled ||
		*updated.Properties.PublicNetworkAccess != armcontainerregistry.PublicNetworkAccessDisabled {
		t.Fatalf("updated %+v", updated.Properties)
	}

	// A refused change surfaces as a ResponseError with our code.
	_, err = regs.BeginUpdate(ctx, "sdkrg", "sdkregistry", armcontainerregistry.RegistryUpdateParameters{
		Properties: &armcontainerregistry.RegistryPropertiesUpdateParameters{PublicNetworkAccess: to.Ptr(armcontainerregistry.PublicNetworkAccessEnabled)},
	}, nil)
	var re *azcore.ResponseError
	if !asResponseError(err, &re) || re.StatusCode != 400 || re.ErrorCode != "BadRequest" {
		t.Fatalf("refused update: %v", err)
	}

	got, err := regs.Get(ctx, "sdkrg", "sdkregistry", nil)
	if err != nil || *got.Properties.PublicNetworkAccess != armcontainerregistry.PublicNetworkAccessDisabled {
		t.Fatalf("get: %v", err)
	}
	n := 0
	for pager := regs.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Fatalf("list: %d registries", n)
	}
	del, err := regs.BeginDelete(ctx, "sdkrg", "sdkregistry", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := regs.Get(ctx, "sdkrg", "sdkregistry", nil); !asResponseError(err, &re) || re.StatusCode != 404 {
		t.Fatalf("get after delete: %v", err)
	}
}

func asResponseError(err error, target **azcore.ResponseError) bool {
	re, ok := err.(*azcore.ResponseError)
	if ok {
		*target = re
	}
	return ok
}
