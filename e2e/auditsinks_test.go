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

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// The audit scenario with two diagnostic settings, made with the real az:
// one to a local storage account, one to a storage account on Azurite.
// Each event is in both copies exactly once, with its fields; the
// activity log (az monitor activity-log list) has the export-policy
// change once; and the Azurite copy verifies with the server's key.
func TestAuditTrailSinks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server, az and Azurite")
	}
	azurite := testserver.StartAzurite(t)
	s := runAuditScenario(t, func(s *auditScenario) {
		rg := s.sub + "/resourceGroups/audit/providers/Microsoft.Storage/storageAccounts/"
		s.az.must("storage", "account", "create", "-n", "auditlocal", "-g", "audit", "-l", "westus", "--sku", "Standard_LRS", "-o", "none")
		full := `{"location":"westus","sku":{"name":"Standard_LRS"},"kind":"StorageV2","properties":{"bulkheadBlobEndpoint":"` + azurite.BlobEndpoint +
			`","bulkheadAccountKey":"` + azurite.Key + `"}}`
		s.az.must("resource", "create", "-g", "audit", "-n", "auditazurite", "--resource-type", "Microsoft.Storage/storageAccounts",
			"--api-version", "2022-09-01", "--is-full-object", "--properties", full, "-o", "none")
		for name, account := range map[string]string{"tolocal": "auditlocal", "toazurite": "auditazurite"} {
			s.az.must("monitor", "diagnostic-settings", "create", "--resource", s.regID, "-n", name, "--storage-account", rg+account,
				"--logs", `[{"categoryGroup":"allLogs","enabled":true}]`, "-o", "none")
		}
	})

	// The last event of the scenario is the failed sign-in: once both
	// copies hold it, they hold everything before it.
	local := filepath.Join(s.srv.DataDir, "storage", "auditlocal")
	remote := t.TempDir()
	var localRecs, remoteRecs []audit.Record
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		localRecs, _ = audit.Query(local, audit.Filter{})
		downloadCopy(t, azurite, remote)
		remoteRecs, _ = audit.Query(remote, audit.Filter{})
		if hasLogin(localRecs) && hasLogin(remoteRecs) || time.Now().After(deadline) {
			break
		}
	}
	t.Run("local account", func(t *testing.T) { checkScenarioRecords(t, s, localRecs, false) })
	t.Run("Azurite account", func(t *testing.T) { checkScenarioRecords(t, s, remoteRecs, false) })

	var events []map[string]any
	json.Unmarshal([]byte(s.az.must("monitor", "activity-log", "list", "--resource-id", s.regID, "--offset", "1h", "-o", "json")), &events)
	changes := 0
	for _, e := range events {
		if dig(e, "properties", "properties.policies.exportPolicy.status") == "enabled -> disabled" {
			changes++
			if dig(e, "operationName", "value") != "Microsoft.ContainerRegistry/registries/write" || dig(e, "status", "value") != "Succeeded" ||
				dig(e, "caller") == "" {
				t.Errorf("activity log entry of the change: %v", e)
			}
		}
	}
	if changes != 1 {
		t.Errorf("az monitor activity-log list: %d entries of the export-policy change, want 1: %v", changes, events)
	}

	// The Azurite copy verifies, read through a SAS URL, with the key the
	// server exported.
	c := audit.Container(audit.CategoryRepository)
	url := azurite.BlobEndpoint + "/" + c + "?" + azurite.ContainerSAS(t, c, sas.ContainerPermissions{Read: true, List: true}, time.Now().Add(time.Hour))
	out, err := exec.Command(testserver.Binary(t), "audit", "verify", url, "--public-key", filepath.Join(s.srv.DataDir, "audit", audit.PublicKeyFile)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK: every chain is intact") {
		t.Fatalf("audit verify of the Azurite copy: %v\n%s", err, out)
	}
	if strings.Contains(s.srv.Logs(), azurite.Key) {
		t.Fatal("the server logged the account key")
	}
}

func hasLogin(recs []audit.Record) bool {
	for _, r := range recs {
		if r.Category == audit.CategoryLogin && r.ResultType == audit.ResultFailed {
			return true
		}
	}
	return false
}

// downloadCopy copies the Azurite account's resource logs into dir, in
// the same layout, so audit.Query reads them.
func downloadCopy(t *testing.T, az *testserver.Azurite, dir string) {
	t.Helper()
	for _, category := range []string{audit.CategoryRepository, audit.CategoryLogin} {
		c := audit.Container(category)
		src, err := audit.BlobSource(az.BlobEndpoint + "/" + c + "?" + az.ContainerSAS(t, c, sas.ContainerPermissions{Read: true, List: true}, time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		names, err := src.List(context.Background())
		if err != nil {
			continue // not created yet
		}
		for _, name := range names {
			rc, err := src.Open(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			p := filepath.Join(dir, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, b, 0o644)
		}
	}
}
