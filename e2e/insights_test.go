package e2e

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestInsightsAzureCLI drives diagnostic settings and the activity log
// with the real az: a storage account (local, then one on Azurite through
// az resource create), a diagnostic setting that sends a registry's logs
// there, the copy the server's shipper makes, and the activity log of
// the writes.
func TestInsightsAzureCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real az CLI")
	}
	srv := testserver.Start(t, testserver.Options{TLS: true})
	az := newAzRunner(t, srv)
	sub := "/subscriptions/" + srv.Boot.SubscriptionID
	rg := sub + "/resourceGroups/monitor"
	regID := rg + "/providers/Microsoft.ContainerRegistry/registries/monitoredreg"
	az.must("group", "create", "-n", "monitor", "-l", "westus", "-o", "none")
	az.must("acr", "create", "-n", "monitoredreg", "-g", "monitor", "--sku", "Premium", "-o", "none")

	var acc map[string]any
	json.Unmarshal([]byte(az.must("storage", "account", "create", "-n", "e2esink", "-g", "monitor", "-l", "westus", "--sku", "Standard_LRS", "-o", "json")), &acc)
	accID, _ := acc["id"].(string)
	if accID != rg+"/providers/Microsoft.Storage/storageAccounts/e2esink" || acc["provisioningState"] != "Succeeded" || dig(acc, "sku", "name") != "Standard_LRS" {
		t.Fatalf("az storage account create printed %v", acc)
	}
	if out := az.must("storage", "account", "list", "-g", "monitor", "--query", "[].name", "-o", "tsv"); strings.TrimSpace(out) != "e2esink" {
		t.Fatalf("az storage account list: %q", out)
	}

	var set map[string]any
	json.Unmarshal([]byte(az.must("monitor", "diagnostic-settings", "create", "--resource", regID, "-n", "s1", "--storage-account", accID,
		"--logs", `[{"categoryGroup":"allLogs","enabled":true}]`, "-o", "json")), &set)
	if set["name"] != "s1" || !strings.EqualFold(set["storageAccountId"].(string), accID) {
		t.Fatalf("az monitor diagnostic-settings create printed %v", set)
	}
	var list []map[string]any
	json.Unmarshal([]byte(az.must("monitor", "diagnostic-settings", "list", "--resource", regID, "-o", "json")), &list)
	if len(list) != 1 || list[0]["name"] != "s1" {
		t.Fatalf("az monitor diagnostic-settings list printed %v", list)
	}
	if out := az.must("monitor", "diagnostic-settings", "show", "--resource", regID, "-n", "s1", "--query", "logs[0].categoryGroup", "-o", "tsv"); strings.TrimSpace(out) != "allLogs" {
		t.Fatalf("az monitor diagnostic-settings show: %q", out)
	}
	if out := az.must("monitor", "diagnostic-settings", "categories", "list", "--resource", regID, "--query", "value[].name", "-o", "tsv"); !strings.Contains(out, "ContainerRegistryLoginEvents") {
		t.Fatalf("az monitor diagnostic-settings categories list: %q", out)
	}
	_, errOut, code := az.run("monitor", "diagnostic-settings", "create", "--resource", regID, "-n", "s2", "--storage-account", accID,
		"--logs", `[{"category":"ContainerRegistryLoginEvents","enabled":true}]`)
	if code != 1 || !strings.Contains(errOut, "already used in diagnostic setting 's1'") {
		t.Fatalf("a second setting to the same account: exit %d %s", code, errOut)
	}

	// A push is a repository event; the shipper copies it to the account.
	if _, err := newPusher(srv).pushImage("monitoredreg/app", "v1", []byte("monitored layer")); err != nil {
		t.Fatal(err)
	}
	copyDir := filepath.Join(srv.DataDir, "storage", "e2esink")
	shipped := waitForCopy(t, copyDir, `"operationName":"Push"`)
	if !strings.Contains(shipped, `"repository":"app"`) {
		t.Fatalf("shipped records: %s", shipped)
	}
	verify := exec.Command(testserver.Binary(t), "audit", "verify", copyDir)
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("bulkhead audit verify of the copy: %v\n%s", err, out)
	}

	// The activity log shows the management writes of the registry,
	// the diagnostic setting's among them.
	var events []map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; {
		json.Unmarshal([]byte(az.must("monitor", "activity-log", "list", "--resource-id", regID, "--offset", "1h", "-o", "json")), &events)
		if hasOperation(events, "Microsoft.Insights/diagnosticSettings/write") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !hasOperation(events, "Microsoft.ContainerRegistry/registries/write") || !hasOperation(events, "Microsoft.Insights/diagnosticSettings/write") {
		t.Fatalf("az monitor activity-log list: %v", events)
	}
	t.Logf("az monitor activity-log list: %d entries, the newest: %v", len(events), events[0])
	for _, e := range events {
		if dig(e, "status", "value") == "" || e["caller"] != srv.Boot.ClientID || !strings.HasPrefix(strings.ToLower(e["resourceId"].(string)), strings.ToLower(regID)) {
			t.Fatalf("activity log entry: %v", e)
		}
	}

	az.must("monitor", "diagnostic-settings", "delete", "--resource", regID, "-n", "s1")
	if _, _, code := az.run("monitor", "diagnostic-settings", "show", "--resource", regID, "-n", "s1"); code != 3 {
		t.Fatalf("show after delete: exit %d", code)
	}

	// A storage account on a real blob service, through az resource
	// create (a double slash and a lower-case resourcegroups on the wire).
	azurite := testserver.StartAzurite(t)
	full := `{"location":"westus","sku":{"name":"Standard_LRS"},"kind":"StorageV2","properties":{"bulkheadBlobEndpoint":"` + azurite.BlobEndpoint +
		`","bulkheadAccountKey":"` + azurite.Key + `"}}`
	out := az.must("resource", "create", "-g", "monitor", "-n", "e2eazurite", "--resource-type", "Microsoft.Storage/storageAccounts",
		"--api-version", "2022-09-01", "--is-full-object", "--properties", full, "-o", "json")
	if strings.Contains(out, azurite.Key) || !strings.Contains(out, `"bulkheadCredential": "AccountKey"`) {
		t.Fatalf("az resource create printed %s", out)
	}
	az.must("monitor", "diagnostic-settings", "create", "--resource", regID, "-n", "toazurite", "--storage-account", rg+"/providers/Microsoft.Storage/storageAccounts/e2eazurite",
		"--logs", `[{"category":"ContainerRegistryRepositoryEvents","enabled":true}]`, "-o", "none")
	if _, err := newPusher(srv).pushImage("monitoredreg/app", "v2", []byte("monitored layer two")); err != nil {
		t.Fatal(err)
	}
	if got := waitForBlob(t, azurite, regID); !strings.Contains(got, `"tag":"v2"`) || strings.Contains(got, `"tag":"v1"`) {
		t.Fatalf("the Azurite copy (v2 only, the setting came after v1): %s", got)
	}
	if logs := srv.Logs(); strings.Contains(logs, azurite.Key) {
		t.Fatal("the server logged the account key")
	}
}

func hasOperation(events []map[string]any, op string) bool {
	for _, e := range events {
		if dig(e, "operationName", "value") == op {
			return true
		}
	}
	return false
}

// waitForCopy waits until a local account's copy of the repository
// events holds want, and returns the copy.
func waitForCopy(t *testing.T, dir, want string) string {
	t.Helper()
	var all strings.Builder
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		all.Reset()
		filepath.WalkDir(filepath.Join(dir, audit.Container(audit.CategoryRepository)), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				all.Write(b)
			}
			return nil
		})
		if strings.Contains(all.String(), want) {
			return all.String()
		}
	}
	t.Fatalf("no %s in the copy under %s after 15s: %q", want, dir, all.String())
	return ""
}

// waitForBlob waits for the registry's repository events of this hour in
// Azurite and returns them.
func waitForBlob(t *testing.T, az *testserver.Azurite, regID string) string {
	t.Helper()
	name, blob := audit.BlobPath(audit.CategoryRepository, regID, time.Now())
	cred, err := container.NewSharedKeyCredential(az.Account, az.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(az.BlobEndpoint+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r, err := c.NewBlobClient(blob).DownloadStream(context.Background(), nil)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if strings.Contains(string(b), `"operationName":"Push"`) {
			return string(b)
		}
	}
	t.Fatalf("no repository events in Azurite after 15s")
	return ""
}
