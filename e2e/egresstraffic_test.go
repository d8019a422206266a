package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestEgressFromTraffic fills the egress totals with real traffic and
// reads them back: a pull from inside the registry's private network, a
// pull from outside it and an import into another registry (and one that
// fails, which moves nothing), split by channel and identity in the egress
// report; then the
// what-if of locking the registry names the export pipeline that blocks
// it and the identity that imported from it and pulled it from outside.
func TestEgressFromTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{})
	bin := testserver.Binary(t)
	env := append(os.Environ(), "BULKHEAD_CONFIG_DIR="+t.TempDir())
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("bulkhead %s: %v\n%s", strings.Join(args, " "), err, se.String())
		}
		var m map[string]any
		json.Unmarshal(so.Bytes(), &m)
		return m
	}
	cli("login", "--endpoint", srv.URL, "--bootstrap", srv.DataDir, "-o", "none")
	const rg = "trafficRG"
	srv.CreateRegistry(t, rg, "egsrc", "Premium")
	srv.CreateRegistry(t, rg, "egdst", "Premium")
	regs := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/"
	a := newARM(t, srv)
	if _, err := newPusher(srv).pushImage("egsrc/app", "v1", bytes.Repeat([]byte("x"), 4096)); err != nil {
		t.Fatal(err)
	}
	privateEndpoint(t, a, srv, rg, "egsrc", "127.0.31.0/24")
	for _, ip := range []string{"127.0.31.7", "127.0.0.1"} {
		resp, _, err := from(srv, ip).do("GET", "/v2/egsrc/app/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("pull from %s: %v %v", ip, err, resp)
		}
	}
	if code, m := a.do("POST", regs+"egdst/importImage?api-version=2025-11-01", `{"source":{"resourceId":"`+regs+`egsrc","sourceImage":"app:v1"}}`); code != 202 {
		t.Fatalf("import: %d %v", code, m)
	}
	if code, m := a.do("POST", regs+"egdst/importImage?api-version=2025-11-01", `{"source":{"resourceId":"`+regs+`egsrc","sourceImage":"app:v1"},"targetTags":["app:v1"],"mode":"NoForce"}`); code/100 == 2 {
		t.Fatalf("a second import over an existing tag: %d %v", code, m)
	}

	// The totals reach the store within a second or so of the requests.
	var rep map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep = cli("acr", "egress-report", "-n", "egsrc", "-g", rg, "--since", "1d")
		if dig(rep, "byChannel", "importSource", "artifacts") == float64(1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, ch := range []string{"pullPrivate", "pullPublic", "importSource"} {
		if dig(rep, "byChannel", ch, "artifacts") != float64(1) || dig(rep, "byChannel", ch, "bytes").(float64) <= 0 {
			t.Errorf("byChannel.%s = %v, want one artifact with its bytes", ch, dig(rep, "byChannel", ch))
		}
	}
	ids, _ := dig(rep, "byIdentity").([]any)
	if len(ids) != 1 || dig(ids[0].(map[string]any), "left", "artifacts") != float64(3) {
		t.Errorf("byIdentity = %v, want the service principal with three artifacts", ids)
	}
	sp := dig(ids[0].(map[string]any), "identity")

	// The records behind the totals, through bulkhead monitor log query.
	pulls, _ := dig(cli("monitor", "log", "query", "--registry", "egsrc", "-g", rg, "--operation", "Pull", "--since", "1h"), "value").([]any)
	if len(pulls) != 2 {
		t.Errorf("monitor log query --operation Pull: %v", pulls)
	}
	cmd := exec.Command(bin, "monitor", "log", "query", "--registry", "egsrc", "-g", rg, "--result", "Succeeded", "-o", "table")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "importImage") || !strings.Contains(string(out), "app:v1") ||
		!strings.Contains(string(out), "private") {
		t.Errorf("monitor log query -o table: %v\n%s", err, out)
	}

	pipe := regs + "egsrc/exportPipelines/exportpipe1"
	if code, b := srv.ARM(t, "PUT", pipe+"?api-version=2021-06-01-preview", map[string]any{"location": "westus",
		"properties": map[string]any{"target": map[string]any{"type": "AzureStorageBlobContainer", "uri": "file://" + t.TempDir()}}}); code != 201 {
		t.Fatalf("export pipeline: %d %s", code, b)
	}
	w := cli("acr", "update", "-n", "egsrc", "-g", rg, "--public-network-enabled", "false", "--allow-exports", "false", "--what-if")
	pipes, _ := dig(w, "impacts", "blockingPipelines").([]any)
	if dig(w, "result", "status") != "Refused" || len(pipes) != 1 || dig(pipes[0].(map[string]any), "name") != "exportpipe1" {
		t.Fatalf("what-if: %v", w)
	}
	cut, _ := dig(w, "impacts", "cutOff").([]any)
	channels := map[string]bool{}
	for _, c := range cut {
		if dig(c.(map[string]any), "identity") == sp {
			channels[dig(c.(map[string]any), "channel").(string)] = true
		}
	}
	if !channels["importSource"] || !channels["pullPublic"] || channels["pullPrivate"] {
		t.Errorf("what-if cut off %v, want the principal's importSource and pullPublic (not its private pull)", cut)
	}
}
