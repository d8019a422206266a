package insights_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/insights"
)

// What the real audit log writes, a setting copies, and the copy verifies
// with the log's public key, which the shipper put beside it.
func TestShippedCopyVerifies(t *testing.T) {
	w := newWorld(t)
	key, err := audit.LoadKey(filepath.Join(t.TempDir(), "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(audit.Options{Dir: w.auditDir, Key: key, Node: "n1", CheckpointRecords: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	record := func(from, n int) {
		for i := from; i < from+n; i++ {
			log.Record(audit.Record{Time: time.Now().UTC(), ResourceID: regID, OperationName: audit.OpPush, Category: audit.CategoryRepository,
				ResultType: audit.ResultSucceeded, Properties: audit.Properties{Repository: "app", Tag: "v" + itoa(i)}})
		}
		if err := log.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	record(0, 7) // before the setting: the copy starts after them
	w.createSetting("s1", w.createAccount("verifiedsink"))
	record(7, 12)
	pem := audit.PublicKeyPEM(log.PublicKey())
	s := w.shipper(insights.ShipperOptions{PublicKey: pem})
	ship(t, s)
	copyDir := filepath.Join(w.storageDir, "verifiedsink")
	if got := readFile(t, filepath.Join(copyDir, "public-key.pem")); !bytes.Equal(got, pem) {
		t.Fatalf("public key in the copy: %q", got)
	}
	rep, err := audit.Verify(context.Background(), audit.DirSource(copyDir), log.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || rep.Records < 12 || rep.Checkpoints == 0 || len(rep.Notes) == 0 {
		t.Fatalf("verify the copy: %+v", rep)
	}
	// An altered copy does not verify.
	files, _ := audit.DirSource(copyDir).List(context.Background())
	path := filepath.Join(copyDir, filepath.FromSlash(files[0]))
	b := readFile(t, path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"tag":"v9"`), []byte(`"tag":"v8"`), 1), 0o644)
	if rep, err := audit.Verify(context.Background(), audit.DirSource(copyDir), log.PublicKey()); err != nil || rep.Problem == nil {
		t.Fatalf("an altered copy verifies: %+v %v", rep, err)
	}
}
