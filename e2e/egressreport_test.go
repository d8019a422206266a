package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestEgressReportAndWhatIf runs the egress report and the registry
// what-if on the real binary, over ARM and through the bulkhead CLI: a
// report of a registry nothing left yet (every channel and day present, at
// zero), its bad input, and what-ifs that name a blocking export pipeline
// and the lock's refusal without writing anything.
//
// The report is checked empty here; TestEgressFromTraffic fills it with
// real traffic, and internal/acr's tests check the sums on seeded totals.
func TestEgressReportAndWhatIf(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{})
	bin := testserver.Binary(t)
	env := append(os.Environ(), "BULKHEAD_CONFIG_DIR="+t.TempDir())
	type result struct {
		out, stderr string
		code        int
	}
	run := func(args ...string) result {
		t.Helper()
		cmd := exec.Command(bin, args...)
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
		return result{so.String(), se.String(), code}
	}
	must := func(args ...string) string {
		t.Helper()
		r := run(args...)
		if r.code != 0 {
			t.Fatalf("bulkhead %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.out
	}
	asMap := func(s string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return m
	}
	must("login", "--endpoint", srv.URL, "--bootstrap", srv.DataDir, "-o", "none")
	const rg, name = "egressRG", "egressreg1"
	srv.CreateRegistry(t, rg, name, "Premium")
	regID := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/" + name
	const v = "?api-version=2025-11-01"
	a := newARM(t, srv)

	// The report over ARM: no body, the last 7 days, all zero.
	code, rep := a.do("POST", regID+"/egressReport"+v, "")
	if code != 200 || dig(rep, "days") != float64(7) || !strings.EqualFold(dig(rep, "id").(string), regID) {
		t.Fatalf("egressReport: %d %v", code, rep)
	}
	days, _ := dig(rep, "byDay").([]any)
	if len(days) != 7 {
		t.Errorf("byDay: %v", days)
	}
	for _, ch := range []string{"pullPrivate", "pullPublic", "importSource", "pipelineRun", "refused"} {
		if dig(rep, "byChannel", ch, "bytes") != float64(0) || dig(rep, "byChannel", ch, "attempts") != float64(0) {
			t.Errorf("byChannel.%s: %v", ch, dig(rep, "byChannel", ch))
		}
	}
	for body, want := range map[string]string{`{"days":0}`: "InvalidParameters", `{"days":10000}`: "InvalidParameters",
		`{"since":"2999-01-01T00:00:00Z"}`: "InvalidParameters", `{"days":`: "InvalidRequestContent"} {
		if code, m := a.do("POST", regID+"/egressReport"+v, body); code != 400 || dig(m, "error", "code") != want || dig(m, "error", "message") == "" {
			t.Errorf("egressReport %s: %d %v", body, code, m)
		}
	}
	if code, m := a.do("POST", regID+"/whatIf"+v, `{"days":0}`); code != 400 || dig(m, "error", "code") != "InvalidParameters" {
		t.Errorf("whatIf days 0: %d %v", code, m)
	}

	// The report through the CLI.
	if m := asMap(must("acr", "egress-report", "-n", name, "--since", "48h")); dig(m, "days") != float64(3) || dig(m, "left", "bytes") != float64(0) {
		t.Errorf("egress-report --since 48h: %v", m)
	}
	out := must("acr", "egress-report", "-n", name, "-g", rg, "-o", "table")
	for _, s := range []string{"Egress of " + name, "DAY         LEFT", "CHANNEL       BYTES", "pipelineRun", "No identity moved"} {
		if !strings.Contains(out, s) {
			t.Errorf("egress-report -o table lacks %q:\n%s", s, out)
		}
	}
	if r := run("acr", "egress-report", "-n", name, "--since", "0d"); r.code == 0 || !strings.Contains(r.stderr, "InvalidParameters") {
		t.Errorf("--since 0d: exit %d %s", r.code, r.stderr)
	}

	// An export pipeline blocks disabling exports: the what-if says so,
	// names it, and changes nothing.
	pipe := regID + "/exportPipelines/exportpipe1"
	if code, b := srv.ARM(t, "PUT", pipe+"?api-version=2021-06-01-preview", map[string]any{"location": "westus",
		"properties": map[string]any{"target": map[string]any{"type": "AzureStorageBlobContainer", "uri": "file://" + t.TempDir()}}}); code != 201 {
		t.Fatalf("export pipeline: %d %s", code, b)
	}
	_, before := a.do("GET", regID+v, "")
	w := asMap(must("acr", "update", "-n", name, "--public-network-enabled", "false", "--allow-exports", "false", "--what-if"))
	pipes, _ := dig(w, "impacts", "blockingPipelines").([]any)
	if dig(w, "result", "status") != "Refused" || dig(w, "result", "error", "code") != "BadRequest" || len(pipes) != 1 ||
		dig(pipes[0].(map[string]any), "name") != "exportpipe1" || !strings.EqualFold(dig(pipes[0].(map[string]any), "id").(string), pipe) {
		t.Fatalf("what-if: %v", w)
	}
	out = must("acr", "update", "-n", name, "--public-network-enabled", "false", "--allow-exports", "false", "--what-if", "-o", "table")
	for _, s := range []string{"The update would be refused: 400 BadRequest", "export pipeline(s); delete them first.", "properties.publicNetworkAccess", "exportpipe1"} {
		if !strings.Contains(out, s) {
			t.Errorf("what-if -o table lacks %q:\n%s", s, out)
		}
	}
	_, after := a.do("GET", regID+v, "")
	if dig(after, "properties", "publicNetworkAccess") != "Enabled" || dig(after, "properties", "policies", "exportPolicy", "status") != "enabled" ||
		dig(after, "systemData", "lastModifiedAt") != dig(before, "systemData", "lastModifiedAt") {
		t.Fatalf("the what-if wrote the registry: %v", after)
	}
	// The real update agrees with the prediction.
	if r := run("acr", "update", "-n", name, "--public-network-enabled", "false", "--allow-exports", "false"); r.code == 0 || !strings.Contains(r.stderr, "delete them first") {
		t.Fatalf("acr update: exit %d %s", r.code, r.stderr)
	}

	// Without the pipeline the lock goes on; then opening public access
	// alone is predicted refused, as the update is.
	if code, _ := srv.ARM(t, "DELETE", pipe+"?api-version=2021-06-01-preview", nil); code != 200 {
		t.Fatalf("delete pipeline: %d", code)
	}
	if w := asMap(must("acr", "update", "-n", name, "--public-network-enabled", "false", "--allow-exports", "false", "--what-if")); dig(w, "result", "status") != "Succeeded" {
		t.Fatalf("what-if without the pipeline: %v", w)
	}
	must("acr", "update", "-n", name, "--public-network-enabled", "false", "--allow-exports", "false")
	w = asMap(must("acr", "update", "-n", name, "--public-network-enabled", "true", "--what-if"))
	msg, _ := dig(w, "result", "error", "message").(string)
	if dig(w, "result", "status") != "Refused" || !strings.Contains(msg, "Enabling public network access is not supported") {
		t.Fatalf("what-if of opening a locked registry: %v", w)
	}
	if r := run("acr", "update", "-n", name, "--public-network-enabled", "true"); r.code == 0 || !strings.Contains(r.stderr, msg) {
		t.Fatalf("acr update --public-network-enabled true: exit %d %s", r.code, r.stderr)
	}
}
