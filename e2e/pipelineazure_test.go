package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/endpoint"
)

// The seed's scenario on Azure Blob Storage (Azurite): the SAS token
// lives in a Key Vault secret that no GET, log line or error shows; an
// export run writes one blob, committed with ACR's transfer metadata; an
// import pipeline of another registry picks it up by trigger; every tag
// and digest matches. A SAS token the storage refuses fails the run with
// a message that says so and does not quote the token.
func TestPipelineTransferAzureBlob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary and Azurite")
	}
	az := testserver.StartAzurite(t)
	uri, sas := az.NewContainer(t)
	srv := testserver.Start(t, testserver.Options{Args: []string{"--pipeline-trigger-interval", "200ms"}})
	e := newTransferEnv(t, srv, "azure")
	vault := e.rg + "/providers/Microsoft.KeyVault/vaults/transferkv1"
	e.mustKV("PUT", vault, `{"location":"westus","properties":{"tenantId":"`+srv.Boot.TenantID+`","sku":{"family":"A","name":"standard"},"accessPolicies":[]}}`, 200, 201)
	e.mustKV("PUT", vault+"/secrets/exportsas", `{"properties":{"value":"`+sas+`"}}`, 200, 201)
	e.mustKV("PUT", vault+"/secrets/badsas", `{"properties":{"value":"sv=2021-08-06&sr=c&sp=rl&sig=bm90IGEgc2lnbmF0dXJl"}}`, 200, 201)
	secret := e.mustKV("GET", vault+"/secrets/exportsas", "", 200)
	if strings.Contains(mustJSON(secret), sas) {
		t.Fatalf("GET of a secret shows its value: %v", secret)
	}
	kvURI := "https://transferkv1.vault.azure.net/secrets/exportsas"

	regA := e.createRegistry("azuresource")
	p := newPusher(srv)
	want := map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		d, err := p.pushImage("azuresource/app", tag, []byte("azure "+tag+strings.Repeat("y", 3<<20)))
		if err != nil {
			t.Fatal(err)
		}
		want["app:"+tag] = d
	}
	want["multi:latest"] = pushIndex(t, p, "azuresource/multi", "latest")
	e.must("PATCH", regA, `{"properties":{"publicNetworkAccess":"Disabled"}}`, 200)
	exp := e.pipelineAt(regA, "exportPipelines", "azureexport", uri, kvURI, false, "OverwriteBlobs")
	m := e.waitRun(e.startRun(regA, "azurerun1", exp, "exports/run1.tar", "app:v1", "app:v2", "multi:latest"), time.Minute)
	if dig(m, "properties", "response", "status") != "Succeeded" {
		t.Fatalf("export to Azure Blob: %v", m)
	}
	catalog := dig(m, "properties", "response", "catalogDigest")
	c, err := endpoint.Open(context.Background(), uri, sas)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Stat(context.Background(), "exports/run1.tar")
	if err != nil || info.Metadata["category"] != "acr-transfer-blob" || len(info.ContentMD5) != 16 {
		t.Fatalf("the exported blob: %+v, %v", info, err)
	}

	// The import side's secret comes from an ARM template with a
	// securestring parameter, as templates create secrets; the deployment
	// never shows the value again.
	tmpl := `{"$schema":"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#","contentVersion":"1.0.0.0",
		"parameters":{"sasToken":{"type":"securestring"}},
		"resources":[{"type":"Microsoft.KeyVault/vaults/secrets","apiVersion":"2023-07-01","name":"transferkv1/importsas","properties":{"value":"[parameters('sasToken')]"}}]}`
	code, dep := e.a.do("PUT", e.rg+"/providers/Microsoft.Resources/deployments/importsecret?api-version=2024-03-01",
		`{"properties":{"mode":"Incremental","template":`+tmpl+`,"parameters":{"sasToken":{"value":"`+sas+`"}}}}`)
	if code != 201 || dig(dep, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("deploying the secret: %d %v", code, dep)
	}
	_, dep = e.a.do("GET", e.rg+"/providers/Microsoft.Resources/deployments/importsecret?api-version=2024-03-01", "")
	if strings.Contains(mustJSON(dep), sas) {
		t.Fatalf("the deployment shows its securestring parameter: %v", dep)
	}

	regC := e.createRegistry("azuretarget")
	e.pipelineAt(regC, "importPipelines", "azureimport", uri, "https://transferkv1.vault.azure.net/secrets/importsas", true)
	var runs []any
	deadline := time.Now().Add(time.Minute)
	for len(runs) == 0 {
		runs, _ = e.must("GET", regC+"/pipelineRuns", "", 200)["value"].([]any)
		if time.Now().After(deadline) {
			t.Fatal("the import trigger started no run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := e.waitRun(regC+"/pipelineRuns/"+runs[0].(map[string]any)["name"].(string), time.Minute)
	if dig(got, "properties", "response", "status") != "Succeeded" || dig(got, "properties", "response", "catalogDigest") != catalog {
		t.Fatalf("triggered import from Azure Blob: %v", got)
	}
	for ref, d := range want {
		repo, tag, _ := strings.Cut(ref, ":")
		if h := headDigest(t, p, "azuretarget/"+repo, tag); h != d {
			t.Errorf("azuretarget/%s = %q, want %s", ref, h, d)
		}
	}

	bad := e.pipelineAt(regA, "exportPipelines", "azurebad", uri, "https://transferkv1.vault.azure.net/secrets/badsas", false)
	m = e.waitRun(e.startRun(regA, "azurerun2", bad, "exports/run2.tar", "app:v1"), time.Minute)
	msg, _ := dig(m, "properties", "response", "pipelineRunErrorMessage").(string)
	if dig(m, "properties", "response", "status") != "Failed" || !strings.Contains(strings.ToLower(msg), "sas") || strings.Contains(msg, "bm90IGEgc2lnbmF0dXJl") {
		t.Fatalf("a refused SAS token: %v", m)
	}
	if strings.Contains(srv.Logs(), sas) || strings.Contains(srv.Logs(), "bm90IGEgc2lnbmF0dXJl") {
		t.Fatal("a SAS token reached the server's log")
	}
}

func (e *transferEnv) mustKV(method, path, body string, want ...int) map[string]any {
	e.t.Helper()
	code, m := e.a.do(method, path+"?api-version=2023-07-01", body)
	for _, w := range want {
		if code == w {
			return m
		}
	}
	e.t.Fatalf("%s %s: %d %v", method, path, code, m)
	return nil
}
