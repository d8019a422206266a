package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// azRunner runs the real az against srv with its own config dir, signed
// in as the bootstrap principal.
type azRunner struct {
	t   *testing.T
	env []string
	srv *testserver.Server
}

func newAzRunner(t *testing.T, srv *testserver.Server) *azRunner {
	t.Helper()
	testserver.RequireTool(t, "az", "apt-get install -y azure-cli")
	cfg := t.TempDir()
	os.WriteFile(filepath.Join(cfg, "versionCheck.json"), []byte(`{"versions":{},"update_time":"2099-01-01 00:00:00.000000"}`), 0o600)
	a := &azRunner{t: t, srv: srv, env: append(os.Environ(), "AZURE_CONFIG_DIR="+cfg, "REQUESTS_CA_BUNDLE="+filepath.Join(srv.DataDir, "tls", "ca.pem"),
		"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_NO_COLOR=true")}
	h := srv.URL
	a.must("cloud", "register", "-n", "Bulkhead", "--endpoint-resource-manager", h+"/", "--endpoint-active-directory", h+"/adfs",
		"--endpoint-active-directory-resource-id", h+"/", "--endpoint-active-directory-graph-resource-id", h+"/graph/",
		"--endpoint-management", h+"/", "--suffix-acr-login-server-endpoint", ".cr.test")
	a.must("cloud", "set", "-n", "Bulkhead")
	a.must("login", "--service-principal", "-u", srv.Boot.ClientID, "--password="+srv.Boot.ClientSecret, "--tenant", srv.Boot.TenantID, "-o", "none")
	return a
}

// run returns az's stdout, stderr and exit code.
func (a *azRunner) run(args ...string) (string, string, int) {
	a.t.Helper()
	cmd := exec.Command("az", args...)
	cmd.Env = a.env
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return so.String(), se.String(), ee.ExitCode()
	} else if err != nil {
		a.t.Fatal(err)
	}
	return so.String(), se.String(), 0
}

func (a *azRunner) must(args ...string) string {
	a.t.Helper()
	out, errOut, code := a.run(args...)
	if code != 0 {
		a.t.Fatalf("az %s: exit %d\n%s\nserver log:\n%s", strings.Join(args, " "), code, errOut, tail(a.srv.Logs(), 3000))
	}
	return out
}

// auditScenario is the end-to-end story on one server: a private
// pull, a refused outside pull, a refused import, a failed token sign-in
// and the seed's export-policy change through az resource update.
type auditScenario struct {
	srv          *testserver.Server
	az           *azRunner
	regID, tgtID string
	sub          string
}

func runAuditScenario(t *testing.T, setup func(s *auditScenario), args ...string) *auditScenario {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{TLS: true, Args: args})
	s := &auditScenario{srv: srv, az: newAzRunner(t, srv), sub: "/subscriptions/" + srv.Boot.SubscriptionID}
	rg := s.sub + "/resourceGroups/audit"
	s.regID, s.tgtID = rg+"/providers/Microsoft.ContainerRegistry/registries/auditreg", rg+"/providers/Microsoft.ContainerRegistry/registries/audittarget"
	s.az.must("group", "create", "-n", "audit", "-l", "westus", "-o", "none")
	s.az.must("acr", "create", "-n", "auditreg", "-g", "audit", "--sku", "Premium", "-o", "none")
	s.az.must("acr", "create", "-n", "audittarget", "-g", "audit", "--sku", "Premium", "-o", "none")
	if _, err := newPusher(srv).pushImage("auditreg/app", "v1", []byte("audited layer")); err != nil {
		t.Fatal(err)
	}
	privateEndpoint(t, newARM(t, srv), srv, "audit", "auditreg", "127.0.30.0/24")
	if setup != nil {
		setup(s)
	}
	s.az.must("resource", "update", "--resource-group", "audit", "--name", "auditreg", "--resource-type", "Microsoft.ContainerRegistry/registries",
		"--api-version", "2021-06-01-preview", "--set", "properties.policies.exportPolicy.status=disabled", "--set", "properties.publicNetworkAccess=disabled", "-o", "none")

	get := func(ip string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/auditreg/app/manifests/v1", nil)
		req.SetBasicAuth(srv.Boot.ClientID, srv.Boot.ClientSecret)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		p := from(srv, ip)
		p.client.Transport.(*http.Transport).TLSClientConfig = srv.Client.Transport.(*http.Transport).TLSClientConfig
		resp, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("127.0.30.5"); code != 200 {
		t.Fatalf("private pull: %d", code)
	}
	if code := get("127.0.0.1"); code != 403 {
		t.Fatalf("outside pull: %d", code)
	}
	if _, errOut, code := s.az.run("acr", "import", "-n", "audittarget", "--source", "app:v1", "--registry", s.regID); code != 1 || !strings.Contains(errOut, "ExportsDisabled") {
		t.Fatalf("import from an export-disabled registry: exit %d %s", code, errOut)
	}
	pipeline := `{"properties":{"target":{"type":"AzureStorageBlobContainer","uri":"file://` + t.TempDir() + `"},"options":[]}}`
	if code, m := newARM(t, srv).do("PUT", s.regID+"/exportPipelines/leakpipeline?api-version=2021-06-01-preview", pipeline); code != 400 {
		t.Fatalf("export pipeline on an export-disabled registry: %d %v", code, m)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/oauth2/token?service="+srv.Addr+"&scope=repository:auditreg/app:pull", nil)
	req.SetBasicAuth(srv.Boot.ClientID, "not-the-secret")
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("a wrong secret at the token endpoint: %d", resp.StatusCode)
	}
	return s
}

// one returns the single record among recs that match, failing on none
// or more than one.
func one(t *testing.T, what string, recs []audit.Record, match func(r audit.Record) bool) audit.Record {
	t.Helper()
	var found []audit.Record
	for _, r := range recs {
		if match(r) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d records, want exactly 1: %+v", what, len(found), found)
	}
	return found[0]
}

// checkScenarioRecords checks that each event of the scenario is in recs
// exactly once, with the right fields: the resource logs, and with
// activity set the activity log's entries too.
func checkScenarioRecords(t *testing.T, s *auditScenario, recs []audit.Record, activity bool) {
	t.Helper()
	pull := one(t, "the private pull", recs, func(r audit.Record) bool {
		return r.OperationName == audit.OpPull && r.ResultType == audit.ResultSucceeded && strings.EqualFold(r.ResourceID, s.regID)
	})
	p := pull.Properties
	if pull.CallerIPAddress != "127.0.30.5" || p.Network != "private" || p.Repository != "app" || p.Tag != "v1" || !strings.HasPrefix(p.Digest, "sha256:") ||
		p.Size <= 0 || pull.Identity == "" || p.IdentityType != audit.IdentityServicePrincipal || pull.ResultDescription != "200" || pull.CorrelationID == "" ||
		p.LoginServer != s.srv.Addr+"/auditreg" || pull.Category != audit.CategoryRepository {
		t.Errorf("private pull record: %+v", pull)
	}
	outside := one(t, "the refused outside pull", recs, func(r audit.Record) bool {
		return r.OperationName == audit.OpPull && r.ResultType == audit.ResultFailed && strings.EqualFold(r.ResourceID, s.regID)
	})
	if outside.CallerIPAddress != "127.0.0.1" || outside.ResultDescription != "403" || outside.Properties.RefusedBy != "networkRules" ||
		outside.Properties.Route != "GET /v2/auditreg/app/manifests/v1" || outside.Properties.ErrorCode != "DENIED" {
		t.Errorf("outside pull record: %+v", outside)
	}
	imp := one(t, "the refused import, at its source", recs, func(r audit.Record) bool {
		return r.OperationName == audit.OpImportImage && strings.EqualFold(r.ResourceID, s.regID)
	})
	if imp.ResultType != audit.ResultFailed || imp.Properties.RefusedBy != "egressGate" || !strings.EqualFold(imp.Properties.Target, s.tgtID) ||
		imp.Properties.ErrorCode != "ExportsDisabled" || imp.Properties.Repository != "app" {
		t.Errorf("refused import record: %+v", imp)
	}
	leak := one(t, "the refused export pipeline", recs, func(r audit.Record) bool {
		return r.Category == audit.CategoryRepository && r.Properties.RefusedBy == "egressGate" && strings.Contains(r.Properties.Route, "/exportPipelines/leakpipeline")
	})
	if !strings.EqualFold(leak.ResourceID, s.regID) || leak.Properties.ErrorCode != "ExportsDisabled" || leak.Identity == "" {
		t.Errorf("refused export pipeline record: %+v", leak)
	}
	login := one(t, "the failed sign-in", recs, func(r audit.Record) bool {
		return r.Category == audit.CategoryLogin && r.ResultType == audit.ResultFailed
	})
	if !strings.EqualFold(login.ResourceID, s.regID) || login.ResultDescription != "401" || login.Identity != s.srv.Boot.ClientID {
		t.Errorf("failed sign-in record: %+v", login)
	}
	if !activity {
		return
	}
	change := one(t, "the export-policy change", recs, func(r audit.Record) bool {
		return r.Category == audit.CategoryAdministrative && r.OperationName == "Microsoft.ContainerRegistry/registries/write" &&
			strings.EqualFold(r.Properties.Target, s.regID) && changed(r, "properties.policies.exportPolicy.status", "enabled", "disabled")
	})
	if change.ResultType != audit.ResultSucceeded || change.Properties.Caller != s.srv.Boot.ClientID ||
		!changed(change, "properties.publicNetworkAccess", "Enabled", "Disabled") || len(change.Properties.Changes) != 2 {
		t.Errorf("export-policy change: %+v", change)
	}
	one(t, "the refused import, in the activity log", recs, func(r audit.Record) bool {
		return r.Category == audit.CategoryAdministrative && r.OperationName == "Microsoft.ContainerRegistry/registries/importImage/action" && r.ResultType == audit.ResultFailed
	})
}

// changed reports whether r changed path from before to after.
func changed(r audit.Record, path string, before, after any) bool {
	for _, c := range r.Properties.Changes {
		if c.Path == path && c.Before == before && c.After == after {
			return true
		}
	}
	return false
}

// The audit trail end to end: each event of the scenario is recorded
// exactly once with the right fields, the chain verifies, and altering
// one byte, deleting one record or swapping two is caught and named.
func TestAuditTrail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server and az")
	}
	s := runAuditScenario(t, nil, "--audit-checkpoint-records", "4")
	s.srv.Stop() // a clean stop seals every stream
	dir := filepath.Join(s.srv.DataDir, "audit")
	recs, err := audit.Query(dir, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	checkScenarioRecords(t, s, recs, true)

	bin := testserver.Binary(t)
	verify := func(dir string) (string, int) {
		cmd := exec.Command(bin, "audit", "verify", dir)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := verify(dir); code != 0 || !strings.Contains(out, "OK: every chain is intact") {
		t.Fatalf("audit verify of the untouched trail: exit %d\n%s", code, out)
	}
	files, err := audit.StreamFiles(dir, audit.CategoryRepository, s.regID)
	if err != nil || len(files) == 0 {
		t.Fatalf("repository stream files: %v %v", files, err)
	}
	for _, c := range []struct {
		name, want string
		edit       func(lines [][]byte) [][]byte
	}{
		{"one byte altered", "altered record", func(ls [][]byte) [][]byte {
			ls[1] = bytes.Replace(ls[1], []byte(`"repository":"app"`), []byte(`"repository":"apq"`), 1)
			return ls
		}},
		{"one record deleted", "removed record", func(ls [][]byte) [][]byte { return append(ls[:1:1], ls[2:]...) }},
		{"two records swapped", "moved record", func(ls [][]byte) [][]byte { ls[0], ls[1] = ls[1], ls[0]; return ls }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cp := t.TempDir()
			if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(cp, files[len(files)-1])
			b, _ := os.ReadFile(path)
			lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
			os.WriteFile(path, append(bytes.Join(c.edit(lines), []byte("\n")), '\n'), 0o600)
			out, code := verify(cp)
			if code != 1 || !strings.Contains(out, "TAMPERED: "+strings.Fields(c.want)[0]) || !strings.Contains(out, "auditreg") && !strings.Contains(out, "AUDITREG") {
				t.Errorf("audit verify after %s: exit %d\n%s", c.name, code, out)
			}
		})
	}
}
