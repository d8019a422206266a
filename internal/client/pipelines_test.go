package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

const (
	testReg = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/reg1"
	regType = "Microsoft.ContainerRegistry/registries"
)

// fakeARM serves the pipeline shapes of the management plane from memory:
// a registry reg1 in rg1, and whatever pipelines and runs are PUT. A run
// reports progress steps on its GETs, then ends: Failed when its blob is
// named "broken", else Succeeded.
type fakeARM struct {
	t     *testing.T
	mu    sync.Mutex
	ids   []string                  // creation order
	docs  map[string]map[string]any // by lower-case id
	puts  map[string]map[string]any // last PUT body by lower-case id
	gets  map[string]int            // GETs of each run
	steps []map[string]any          // progress a run reports, one per GET
	log   []string                  // "METHOD path"
}

func newFakeARM(t *testing.T) (*fakeARM, *httptest.Server) {
	f := &fakeARM{t: t, docs: map[string]map[string]any{}, puts: map[string]map[string]any{}, gets: map[string]int{},
		steps: []map[string]any{
			{"percentage": "0", "bytes": 0, "totalBytes": 0, "artifacts": 0, "totalArtifacts": 0},
			{"percentage": "48", "bytes": 512 << 20, "totalBytes": 1 << 30, "artifacts": 12, "totalArtifacts": 64},
			{"percentage": "97", "bytes": 1000 << 20, "totalBytes": 1 << 30, "artifacts": 63, "totalArtifacts": 64},
		}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Setenv("BULKHEAD_CONFIG_DIR", dir)
	p := Profile{Endpoint: srv.URL, TenantID: "t1", ClientID: "c1", ClientSecret: "s1", SubscriptionID: "sub1", Token: "tok", Expires: time.Now().Add(time.Hour)}
	b, _ := json.Marshal(p)
	if err := os.WriteFile(filepath.Join(dir, "profile.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f, srv
}

func (f *fakeARM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer tok" {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "Unauthorized", "message": "no token"}})
		return
	}
	path, key := r.URL.Path, strings.ToLower(r.URL.Path)
	child := strings.Contains(key, "pipelines") || strings.Contains(key, "pipelineruns")
	if child && r.URL.Query().Get("api-version") != pipelineAPIVersion {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "NoRegisteredProviderFound", "message": "api-version " + r.URL.Query().Get("api-version")}})
		return
	}
	switch {
	case r.Method == "GET" && key == strings.ToLower(testReg):
		writeJSON(w, 200, map[string]any{"id": testReg, "name": "reg1", "type": regType, "location": "westus"})
	case r.Method == "GET" && key == "/subscriptions/sub1/providers/microsoft.containerregistry/registries":
		writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": testReg, "name": "reg1", "type": regType, "location": "westus"}}})
	case !child:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "ResourceNotFound", "message": "no " + path}})
	case r.Method == "GET" && (strings.HasSuffix(key, "/exportpipelines") || strings.HasSuffix(key, "/importpipelines") || strings.HasSuffix(key, "/pipelineruns")):
		out := []any{}
		for _, id := range f.ids {
			if strings.HasPrefix(id, key+"/") && strings.Count(id, "/") == strings.Count(key, "/")+1 {
				out = append(out, f.docs[id])
			}
		}
		writeJSON(w, 200, map[string]any{"value": out})
	case r.Method == "GET":
		doc, ok := f.docs[key]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "ResourceNotFound", "message": "The Resource '" + path + "' was not found."}})
			return
		}
		if strings.Contains(key, "/pipelineruns/") {
			f.advance(key, doc)
		}
		writeJSON(w, 200, doc)
	case r.Method == "PUT":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "InvalidRequestContent", "message": err.Error()}})
			return
		}
		f.puts[key] = body
		doc := clone(body)
		doc["id"], doc["name"] = path, path[strings.LastIndex(path, "/")+1:]
		props, _ := doc["properties"].(map[string]any)
		status := 201
		if _, ok := f.docs[key]; ok {
			status = 200
		} else {
			f.ids = append(f.ids, key)
		}
		if strings.Contains(key, "/pipelineruns/") {
			doc["type"] = regType + "/pipelineRuns"
			props["provisioningState"] = "Creating"
			props["response"] = map[string]any{"status": "Running", "startTime": "2026-01-02T03:04:05.678Z", "progress": map[string]any{"percentage": "0"}}
			f.gets[key] = 0
			w.Header().Set("Azure-AsyncOperation", "http://"+r.Host+path+"/operationStatuses/op1?api-version="+pipelineAPIVersion)
		} else {
			props["provisioningState"] = "Succeeded"
		}
		f.docs[key] = doc
		writeJSON(w, status, doc)
	case r.Method == "DELETE":
		if _, ok := f.docs[key]; !ok {
			w.WriteHeader(204)
			return
		}
		delete(f.docs, key)
		for i, id := range f.ids {
			if id == key {
				f.ids = append(f.ids[:i], f.ids[i+1:]...)
				break
			}
		}
		w.WriteHeader(200)
	default:
		writeJSON(w, 405, map[string]any{"error": map[string]any{"code": "MethodNotAllowed", "message": r.Method}})
	}
}

// advance moves a run one progress step on, or ends it.
func (f *fakeARM) advance(key string, doc map[string]any) {
	props := doc["properties"].(map[string]any)
	resp := props["response"].(map[string]any)
	if resp["status"] != "Running" {
		return
	}
	n := f.gets[key]
	f.gets[key]++
	if n < len(f.steps) {
		resp["progress"] = f.steps[n]
		return
	}
	req := props["request"].(map[string]any)
	blob, _ := lookup(req, "target.name").(string)
	if blob == "" {
		blob, _ = lookup(req, "source.name").(string)
	}
	status := "Succeeded"
	if blob == "broken" {
		status = "Failed"
		resp["pipelineRunErrorMessage"] = "the artifact app:v9 was not found in the registry"
	}
	resp["status"], props["provisioningState"] = status, status
	resp["finishTime"] = "2026-01-02T03:05:00Z"
	resp["progress"] = map[string]any{"percentage": "100", "bytes": 1 << 30, "totalBytes": 1 << 30, "artifacts": 64, "totalArtifacts": 64}
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type cliResult struct {
	out, err string
	e        error
}

// bulkhead runs the client commands in-process, as cmd/bulkhead wires
// them.
func bulkhead(args ...string) cliResult {
	var out, errb bytes.Buffer
	root := &cobra.Command{Use: "bulkhead", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(Commands(&out)...)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	return cliResult{out.String(), errb.String(), err}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := bulkhead(args...)
	if r.e != nil {
		t.Fatalf("bulkhead %s: %v\n%s", strings.Join(args, " "), r.e, r.err)
	}
	return r.out
}

func asJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}

func TestExportPipelineCommands(t *testing.T) {
	f, _ := newFakeARM(t)
	out := mustRun(t, "acr", "export-pipeline", "create", "-g", "rg1", "-r", "reg1", "-n", "exportpipe1",
		"--secret-uri", "https://vault1.vault.azure.net/secrets/sas", "--storage-container-uri", "https://acct.blob.core.windows.net/transfer",
		"--options", "OverwriteBlobs", "continueonerrors")
	want := map[string]any{
		"location": "westus",
		"identity": map[string]any{"type": "SystemAssigned"},
		"properties": map[string]any{
			"target":  map[string]any{"type": "AzureStorageBlobContainer", "uri": "https://acct.blob.core.windows.net/transfer", "keyVaultUri": "https://vault1.vault.azure.net/secrets/sas"},
			"options": []any{"OverwriteBlobs", "ContinueOnErrors"},
		},
	}
	id := strings.ToLower(testReg + "/exportPipelines/exportpipe1")
	if got := f.puts[id]; !reflect.DeepEqual(got, want) {
		t.Fatalf("PUT body:\n got %v\nwant %v", got, want)
	}
	m := asJSON(t, out)
	if m["provisioningState"] != "Succeeded" || m["resourceGroup"] != "rg1" || lookup(m, "target.uri") != "https://acct.blob.core.windows.net/transfer" || m["properties"] != nil {
		t.Fatalf("create printed %v", m)
	}

	// file:// needs no secret; -g is found from the registry name.
	mustRun(t, "acr", "export-pipeline", "create", "-r", "reg1", "-n", "localpipe1", "-c", "file:///mnt/usb", "-i", "[system]")
	if got := lookup(f.puts[strings.ToLower(testReg+"/exportPipelines/localpipe1")], "properties.target"); !reflect.DeepEqual(got, map[string]any{"type": "AzureStorageBlobContainer", "uri": "file:///mnt/usb"}) {
		t.Fatalf("file:// target: %v", got)
	}

	if m := asJSON(t, mustRun(t, "acr", "export-pipeline", "show", "-g", "rg1", "-r", "reg1", "-n", "exportpipe1")); m["name"] != "exportpipe1" {
		t.Fatalf("show: %v", m)
	}
	if out := mustRun(t, "acr", "export-pipeline", "list", "-r", "reg1", "--query", "[].name", "-o", "tsv"); out != "exportpipe1\nlocalpipe1\n" {
		t.Fatalf("list: %q", out)
	}
	table := mustRun(t, "acr", "export-pipeline", "list", "-r", "reg1", "-o", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME         PROVISIONING_STATE  STORAGE_ACCOUNT") || !strings.HasPrefix(lines[1], "-----------  ------------------  ---") ||
		lines[3] != "localpipe1   Succeeded           file:///mnt/usb" {
		t.Fatalf("table:\n%s", table)
	}
	mustRun(t, "acr", "export-pipeline", "delete", "-r", "reg1", "-n", "localpipe1")
	r := bulkhead("acr", "export-pipeline", "show", "-r", "reg1", "-n", "localpipe1")
	if !NotFound(r.e) || r.e.Error() != "Export pipeline localpipe1 not found on registry reg1 in the rg1 resource group." {
		t.Fatalf("show after delete: %v", r.e)
	}
	if r := bulkhead("acr", "export-pipeline", "delete", "-r", "reg1", "-n", "localpipe1"); !NotFound(r.e) {
		t.Fatalf("delete of a missing pipeline: %v", r.e)
	}
}

func TestImportPipelineCommands(t *testing.T) {
	f, _ := newFakeARM(t)
	uami := "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	mustRun(t, "acr", "import-pipeline", "create", "-g", "rg1", "-r", "reg1", "-n", "importpipe1",
		"-s", "https://vault1.vault.azure.net/secrets/sas", "-c", "https://acct.blob.core.windows.net/transfer",
		"-z", "OverwriteTags", "DeleteSourceBlobOnSuccess", "-e", "false", "-i", uami)
	want := map[string]any{
		"location": "westus",
		"identity": map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{uami: map[string]any{}}},
		"properties": map[string]any{
			"source":  map[string]any{"type": "AzureStorageBlobContainer", "uri": "https://acct.blob.core.windows.net/transfer", "keyVaultUri": "https://vault1.vault.azure.net/secrets/sas"},
			"trigger": map[string]any{"sourceTrigger": map[string]any{"status": "Disabled"}},
			"options": []any{"OverwriteTags", "DeleteSourceBlobOnSuccess"},
		},
	}
	if got := f.puts[strings.ToLower(testReg+"/importPipelines/importpipe1")]; !reflect.DeepEqual(got, want) {
		t.Fatalf("PUT body:\n got %v\nwant %v", got, want)
	}
	mustRun(t, "acr", "import-pipeline", "create", "-r", "reg1", "-n", "importpipe2", "-c", "file:///mnt/usb")
	if got := lookup(f.puts[strings.ToLower(testReg+"/importPipelines/importpipe2")], "properties.trigger.sourceTrigger.status"); got != "Enabled" {
		t.Fatalf("source trigger by default: %v", got)
	}
	table := mustRun(t, "acr", "import-pipeline", "list", "-r", "reg1", "-o", "table")
	if !strings.Contains(table, "SOURCE_TRIGGER") || !strings.Contains(table, "importpipe1  Succeeded           https://acct.blob.core.windows.net/transfer  Disabled") {
		t.Fatalf("table:\n%s", table)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "https://acct.blob.core.windows.net/transfer"}, "--secret-uri/-s"},
		{[]string{"-c", "file:///x", "-z", "OverwriteBlobs"}, "invalid option 'OverwriteBlobs'"},
		{[]string{"-c", "file:///x", "-e", "maybe"}, "invalid choice: 'maybe'"},
		{[]string{"-c", "file:///x", "-i", "someone"}, "not a user-assigned identity"},
		{[]string{"-c", "file:///x", "stray"}, "unrecognized arguments: stray"},
		{[]string{"-s", "https://v.vault.azure.net/secrets/s"}, "--storage-container-uri/-c"},
	} {
		args := append([]string{"acr", "import-pipeline", "create", "-r", "reg1", "-n", "badpipe1"}, c.args...)
		if r := bulkhead(args...); r.e == nil || !strings.Contains(r.e.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, r.e, c.want)
		}
	}
	if _, ok := f.docs[strings.ToLower(testReg+"/importPipelines/badpipe1")]; ok {
		t.Fatal("a refused create was sent")
	}
}

// TestListFlagTakesWords checks az's nargs='+': words after a list flag
// are its values, up to the next flag, wherever it stands.
func TestListFlagTakesWords(t *testing.T) {
	f, _ := newFakeARM(t)
	mustRun(t, "acr", "export-pipeline", "create", "-r", "reg1", "-n", "exportpipe1", "-c", "file:///x")
	mustRun(t, "acr", "pipeline-run", "create", "-r", "reg1", "--artifacts", "app:v1", "lib@sha256:"+strings.Repeat("a", 64), "base",
		"-n", "exportrun1", "-p", "exportpipe1", "-t", "export", "-a", "more:v2", "-b", "blob1", "-o", "none")
	got := lookup(f.puts[strings.ToLower(testReg+"/pipelineRuns/exportrun1")], "properties.request.artifacts")
	want := []any{"app:v1", "lib@sha256:" + strings.Repeat("a", 64), "base:latest", "more:v2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("artifacts %v, want %v", got, want)
	}
	if r := bulkhead("acr", "pipeline-run", "create", "-r", "reg1", "-n", "exportrun2", "-p", "exportpipe1", "-t", "export", "-a", "app:v1", "-f", "stray", "-b", "b"); r.e == nil || r.e.Error() != "unrecognized arguments: stray -b b" {
		t.Fatalf("a word after a bool flag: %v", r.e)
	}
}

func TestPipelineRunCreate(t *testing.T) {
	f, _ := newFakeARM(t)
	mustRun(t, "acr", "export-pipeline", "create", "-r", "reg1", "-n", "exportpipe1", "-c", "file:///x")
	mustRun(t, "acr", "import-pipeline", "create", "-r", "reg1", "-n", "importpipe1", "-c", "file:///x", "-e", "false")

	// Without --wait: the run as accepted, at once.
	out := mustRun(t, "acr", "pipeline-run", "create", "-g", "rg1", "-r", "reg1", "-n", "exportrun1", "--pipeline", "exportpipe1",
		"--pipeline-type", "export", "--storage-blob", "blob1", "--artifacts", "app:v1")
	want := map[string]any{"properties": map[string]any{"request": map[string]any{
		"pipelineResourceId": testReg + "/exportPipelines/exportpipe1",
		"target":             map[string]any{"type": "AzureStorageBlob", "name": "blob1"},
		"artifacts":          []any{"app:v1"},
	}}}
	if got := f.puts[strings.ToLower(testReg+"/pipelineRuns/exportrun1")]; !reflect.DeepEqual(got, want) {
		t.Fatalf("PUT body:\n got %v\nwant %v", got, want)
	}
	if m := asJSON(t, out); lookup(m, "response.status") != "Running" || m["provisioningState"] != "Creating" {
		t.Fatalf("create printed %v", m)
	}
	for _, l := range f.log {
		if strings.Contains(l, "operationStatuses") {
			t.Fatal("create without --wait followed the operation")
		}
	}

	// --force-redeploy: a new forceUpdateTag each time.
	mustRun(t, "acr", "pipeline-run", "create", "-r", "reg1", "-n", "importrun1", "-p", "importpipe1", "-t", "import", "-b", "blob1", "-f", "-o", "none")
	body := f.puts[strings.ToLower(testReg+"/pipelineRuns/importrun1")]
	tag1, _ := lookup(body, "properties.forceUpdateTag").(string)
	if lookup(body, "properties.request.source") == nil || lookup(body, "properties.request.target") != nil || tag1 == "" ||
		lookup(body, "properties.request.pipelineResourceId") != testReg+"/importPipelines/importpipe1" {
		t.Fatalf("import run body: %v", body)
	}
	mustRun(t, "acr", "pipeline-run", "create", "-r", "reg1", "-n", "importrun1", "-p", "importpipe1", "-t", "import", "-b", "blob1", "-f", "-o", "none")
	if tag2 := lookup(f.puts[strings.ToLower(testReg+"/pipelineRuns/importrun1")], "properties.forceUpdateTag"); tag2 == tag1 {
		t.Fatal("--force-redeploy reused its tag")
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-p", "exportpipe1", "-t", "export", "-b", "b"}, "artifacts cannot be null"},
		{[]string{"-p", "importpipe1", "-t", "import", "-b", "b", "-a", "x:1"}, "--artifacts is for export runs"},
		{[]string{"-p", "exportpipe1", "-t", "sideways", "-b", "b"}, "invalid pipeline type 'sideways'"},
		{[]string{"-p", "nopipe1", "-t", "import", "-b", "b"}, "Import pipeline nopipe1 not found on registry reg1 in the rg1 resource group."},
		{[]string{"-t", "import", "-b", "b"}, "--pipeline/-p"},
	} {
		args := append([]string{"acr", "pipeline-run", "create", "-r", "reg1", "-n", "badrun1"}, c.args...)
		if r := bulkhead(args...); r.e == nil || !strings.Contains(r.e.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, r.e, c.want)
		}
	}
}

func TestPipelineRunWait(t *testing.T) {
	newFakeARM(t)
	mustRun(t, "acr", "export-pipeline", "create", "-r", "reg1", "-n", "exportpipe1", "-c", "file:///x")
	r := bulkhead("acr", "pipeline-run", "create", "-r", "reg1", "-n", "exportrun1", "-p", "exportpipe1", "-t", "export",
		"-b", "blob1", "-a", "app:v1", "--wait", "--poll-interval", "1ms")
	if r.e != nil {
		t.Fatalf("--wait: %v\n%s", r.e, r.err)
	}
	m := asJSON(t, r.out)
	if lookup(m, "response.status") != "Succeeded" || m["provisioningState"] != "Succeeded" {
		t.Fatalf("--wait printed %v", m)
	}
	// Not a terminal: a first plain line at once, then the last; the
	// steps between come faster than one line per five seconds.
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	if len(lines) != 2 || lines[0] != "["+strings.Repeat(" ", 30)+"]   0%  0 B  0 artifacts" ||
		lines[1] != "["+strings.Repeat("=", 30)+"] 100%  1.0 GiB / 1.0 GiB  64/64 artifacts  Succeeded" {
		t.Fatalf("progress on stderr:\n%s", r.err)
	}

	// A failed run: printed, and an error with its message.
	r = bulkhead("acr", "pipeline-run", "create", "-r", "reg1", "-n", "exportrun2", "-p", "exportpipe1", "-t", "export",
		"-b", "broken", "-a", "app:v9", "--wait", "--poll-interval", "1ms", "-o", "tsv", "--query", "response.status")
	if r.e == nil || r.e.Error() != "the artifact app:v9 was not found in the registry" || r.out != "Failed\n" {
		t.Fatalf("failed run: %v %q", r.e, r.out)
	}
	if !strings.HasSuffix(strings.TrimSpace(r.err), "64/64 artifacts  Failed") {
		t.Fatalf("failed run's progress:\n%s", r.err)
	}
}

func TestPipelineRunListShowDeleteClean(t *testing.T) {
	f, _ := newFakeARM(t)
	mustRun(t, "acr", "export-pipeline", "create", "-r", "reg1", "-n", "exportpipe1", "-c", "file:///x")
	for _, run := range []struct{ name, blob string }{{"run1", "broken"}, {"run2", "blob2"}, {"run3", "broken"}} {
		bulkhead("acr", "pipeline-run", "create", "-r", "reg1", "-n", run.name, "-p", "exportpipe1", "-t", "export", "-b", run.blob, "-a", "app:v1", "--wait", "--poll-interval", "1ms")
	}
	if out := mustRun(t, "acr", "pipeline-run", "list", "-g", "rg1", "-r", "reg1", "--query", "[].name", "-o", "tsv"); out != "run1\nrun2\nrun3\n" {
		t.Fatalf("list: %q", out)
	}
	if out := mustRun(t, "acr", "pipeline-run", "list", "-r", "reg1", "--top", "2", "--query", "[].name", "-o", "tsv"); out != "run2\nrun3\n" {
		t.Fatalf("list --top 2: %q", out)
	}
	table := mustRun(t, "acr", "pipeline-run", "list", "-r", "reg1", "-o", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "NAME  PIPELINE     START_TIME           STATUS     ERROR_MESSAGE") ||
		lines[3] != "run2  exportpipe1  2026-01-02T03:04:05  Succeeded" {
		t.Fatalf("table:\n%s", table)
	}
	if m := asJSON(t, mustRun(t, "acr", "pipeline-run", "show", "-r", "reg1", "-n", "run2")); lookup(m, "request.target.name") != "blob2" {
		t.Fatalf("show: %v", m)
	}
	r := bulkhead("acr", "pipeline-run", "clean", "-r", "reg1", "--dry-run", "--query", "[].name", "-o", "tsv")
	if r.e != nil || r.out != "run1\nrun3\n" || !strings.Contains(r.err, "WARNING: Found 2 failed pipeline-runs to delete.") {
		t.Fatalf("clean --dry-run: %v %q %q", r.e, r.out, r.err)
	}
	if len(f.docs) != 4 {
		t.Fatal("--dry-run deleted")
	}
	r = bulkhead("acr", "pipeline-run", "clean", "-r", "reg1")
	if r.e != nil || r.out != "" || !strings.Contains(r.err, "WARNING: Deletion complete: Deleted 2 failed pipeline-runs.") {
		t.Fatalf("clean: %v %q %q", r.e, r.out, r.err)
	}
	mustRun(t, "acr", "pipeline-run", "delete", "-r", "reg1", "-n", "run2")
	if out := mustRun(t, "acr", "pipeline-run", "list", "-r", "reg1"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after clean and delete: %s", out)
	}
	r = bulkhead("acr", "pipeline-run", "delete", "-r", "reg1", "-n", "run2")
	if !NotFound(r.e) || r.e.Error() != "Pipeline-run run2 not found on registry reg1 in the rg1 resource group." {
		t.Fatalf("delete of a missing run: %v", r.e)
	}
	if r := bulkhead("acr", "pipeline-run", "show", "-r", "reg1", "-n", "run2"); !NotFound(r.e) {
		t.Fatalf("show of a missing run: %v", r.e)
	}
	if r := bulkhead("acr", "pipeline-run", "list", "-r", "nosuchreg"); r.e == nil || !strings.Contains(r.e.Error(), "could not be found") {
		t.Fatalf("an unknown registry: %v", r.e)
	}
}
