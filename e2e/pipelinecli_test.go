package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestPipelineCLI moves an image between two registries with the
// bulkhead binary's az acrtransfer-style commands, through a file://
// directory (the removable-media hand-over): export pipeline, export run
// with --wait, archive on disk, import pipeline with its trigger off,
// import run with --wait, then list, show, a failed run, clean and
// delete.
func TestPipelineCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{TLS: true})
	bin := testserver.Binary(t)
	env := append(os.Environ(), "BULKHEAD_CONFIG_DIR="+t.TempDir())
	type result struct {
		out, stderr string
		code        int
	}
	run := func(args ...string) result {
		t.Helper()
		// --wait has no deadline of its own; a run that never ends must
		// not hang the suite.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("bulkhead %s: %v", strings.Join(args, " "), err)
		}
		if ctx.Err() != nil {
			t.Fatalf("bulkhead %s: still running after 2 minutes\n%s\nserver log:\n%s", strings.Join(args, " "), se.String(), srv.Logs())
		}
		return result{so.String(), se.String(), code}
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		r := run(args...)
		if r.code != 0 {
			t.Fatalf("bulkhead %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		var m map[string]any
		json.Unmarshal([]byte(r.out), &m)
		return m
	}
	if r := run("login", "--endpoint", srv.URL, "--bootstrap", srv.DataDir, "-o", "none"); r.code != 0 {
		t.Fatalf("login: %d %s", r.code, r.stderr)
	}
	const rg = "transferRG"
	srv.ARM(t, "PUT", "/subscriptions/"+srv.Boot.SubscriptionID+"/resourceGroups/"+rg+"?api-version=2024-03-01", map[string]any{"location": "westus"})
	must("acr", "create", "-n", "transfersource", "-g", rg, "--sku", "Premium")
	must("acr", "create", "-n", "transfertarget", "-g", rg, "--sku", "Premium")
	p := newPusher(srv)
	dgst, err := p.pushImage("transfersource/app", "v1", []byte("a layer that crosses the air gap"))
	if err != nil {
		t.Fatal(err)
	}
	media := t.TempDir()
	uri := "file://" + media

	// Export.
	ep := must("acr", "export-pipeline", "create", "-g", rg, "-r", "transfersource", "-n", "exportpipe1",
		"--storage-container-uri", uri, "--options", "OverwriteBlobs", "ContinueOnErrors")
	if dig(ep, "target", "uri") != uri || ep["provisioningState"] != "Succeeded" || ep["resourceGroup"] != rg {
		t.Fatalf("export-pipeline create: %v", ep)
	}
	if r := run("acr", "export-pipeline", "list", "-r", "transfersource", "--query", "[].name", "-o", "tsv"); strings.TrimSpace(r.out) != "exportpipe1" {
		t.Fatalf("export-pipeline list: %q %s", r.out, r.stderr)
	}
	r := run("acr", "pipeline-run", "create", "-g", rg, "-r", "transfersource", "-n", "exportrun1", "--pipeline", "exportpipe1",
		"--pipeline-type", "export", "--storage-blob", "transfer1.tar", "--artifacts", "app:v1", "--wait")
	var exp map[string]any
	json.Unmarshal([]byte(r.out), &exp)
	if r.code != 0 || dig(exp, "response", "status") != "Succeeded" {
		t.Fatalf("export run: exit %d\n%s\n%s", r.code, r.out, r.stderr)
	}
	// stderr is a pipe here: plain lines, no carriage returns.
	if !strings.Contains(r.stderr, "100%") || !strings.Contains(r.stderr, "Succeeded") || strings.Contains(r.stderr, "\r") {
		t.Fatalf("export run progress:\n%s", r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(media, "transfer1.tar")); err != nil || fi.Size() == 0 {
		t.Fatalf("the archive on the medium: %v", err)
	}

	// Import into the second registry.
	ip := must("acr", "import-pipeline", "create", "-g", rg, "-r", "transfertarget", "-n", "importpipe1",
		"--storage-container-uri", uri, "--source-trigger-enabled", "false", "--options", "OverwriteTags")
	if dig(ip, "trigger", "sourceTrigger", "status") != "Disabled" {
		t.Fatalf("import-pipeline create: %v", ip)
	}
	r = run("acr", "pipeline-run", "create", "-r", "transfertarget", "-n", "importrun1", "--pipeline", "importpipe1",
		"--pipeline-type", "import", "--storage-blob", "transfer1.tar", "--wait")
	if r.code != 0 {
		t.Fatalf("import run: exit %d\n%s\n%s", r.code, r.out, r.stderr)
	}
	resp, b, err := p.do("GET", "/v2/transfertarget/app/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
	if err != nil || resp.StatusCode != 200 || digestOf(b) != dgst {
		t.Fatalf("the imported image: %v %v %s", err, resp, b)
	}

	// A run that fails: exit 1 with its message, the run on stdout.
	r = run("acr", "pipeline-run", "create", "-r", "transfertarget", "-n", "badrun1", "-p", "importpipe1", "-t", "import", "-b", "nosuch.tar", "--wait")
	var bad map[string]any
	json.Unmarshal([]byte(r.out), &bad)
	msg, _ := dig(bad, "response", "pipelineRunErrorMessage").(string)
	if r.code != 1 || dig(bad, "response", "status") != "Failed" || msg == "" || !strings.Contains(r.stderr, "ERROR: "+msg) {
		t.Fatalf("failed run: exit %d\n%s\n%s", r.code, r.out, r.stderr)
	}

	if r := run("acr", "pipeline-run", "list", "-g", rg, "-r", "transfertarget", "--query", "[].name", "-o", "tsv"); r.out != "badrun1\nimportrun1\n" && r.out != "importrun1\nbadrun1\n" {
		t.Fatalf("pipeline-run list: %q %s", r.out, r.stderr)
	}
	if r := run("acr", "pipeline-run", "list", "-r", "transfertarget", "-o", "table"); !strings.Contains(r.out, "STATUS") || !strings.Contains(r.out, "importpipe1") {
		t.Fatalf("pipeline-run list -o table:\n%s%s", r.out, r.stderr)
	}
	if s := must("acr", "pipeline-run", "show", "-r", "transfertarget", "-n", "importrun1"); dig(s, "response", "status") != "Succeeded" || dig(s, "request", "source", "name") != "transfer1.tar" {
		t.Fatalf("pipeline-run show: %v", s)
	}
	r = run("acr", "pipeline-run", "clean", "-r", "transfertarget", "--dry-run", "--query", "[].name", "-o", "tsv")
	if r.code != 0 || r.out != "badrun1\n" || !strings.Contains(r.stderr, "Found 1 failed pipeline-runs to delete.") {
		t.Fatalf("clean --dry-run: %d %q %s", r.code, r.out, r.stderr)
	}
	if r := run("acr", "pipeline-run", "clean", "-r", "transfertarget"); r.code != 0 || !strings.Contains(r.stderr, "Deleted 1 failed pipeline-runs.") {
		t.Fatalf("clean: %d %s", r.code, r.stderr)
	}
	if r := run("acr", "pipeline-run", "list", "-r", "transfertarget", "--query", "[].name", "-o", "tsv"); r.out != "importrun1\n" {
		t.Fatalf("list after clean: %q", r.out)
	}
	must("acr", "pipeline-run", "delete", "-r", "transfersource", "-n", "exportrun1")
	if r := run("acr", "pipeline-run", "show", "-r", "transfersource", "-n", "exportrun1"); r.code != 3 {
		t.Fatalf("show after delete: exit %d %s", r.code, r.stderr)
	}
	must("acr", "export-pipeline", "delete", "-r", "transfersource", "-n", "exportpipe1")
	must("acr", "import-pipeline", "delete", "-r", "transfertarget", "-n", "importpipe1")
	if r := run("acr", "import-pipeline", "delete", "-r", "transfertarget", "-n", "importpipe1"); r.code != 3 ||
		!strings.Contains(r.stderr, "Import pipeline importpipe1 not found on registry transfertarget in the "+rg+" resource group.") {
		t.Fatalf("delete of a deleted pipeline: exit %d %s", r.code, r.stderr)
	}
}
