package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

const pipelineVersion = "2021-06-01-preview"

// transferEnv drives registries, pipelines and runs over ARM.
type transferEnv struct {
	t   *testing.T
	srv *testserver.Server
	a   *armClient
	rg  string
}

func newTransferEnv(t *testing.T, srv *testserver.Server, rg string) *transferEnv {
	e := &transferEnv{t: t, srv: srv, a: newARM(t, srv), rg: "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/" + rg}
	if code, m := e.a.do("PUT", e.rg+"?api-version=2024-03-01", `{"location":"westus"}`); code >= 300 {
		t.Fatalf("resource group: %d %v", code, m)
	}
	return e
}

func (e *transferEnv) registry(name string) string {
	return e.rg + "/providers/Microsoft.ContainerRegistry/registries/" + name
}

func (e *transferEnv) must(method, path, body string, want ...int) map[string]any {
	e.t.Helper()
	code, m := e.a.do(method, path+"?api-version="+pipelineVersion, body)
	for _, w := range want {
		if code == w {
			return m
		}
	}
	e.t.Fatalf("%s %s: %d %v", method, path, code, m)
	return nil
}

func (e *transferEnv) createRegistry(name string) string {
	id := e.registry(name)
	e.must("PUT", id, `{"location":"westus","sku":{"name":"Premium"}}`, 200, 201)
	return id
}

// pipeline creates an export or import pipeline on a local directory.
func (e *transferEnv) pipeline(reg, kind, name, dir string, trigger bool, options ...string) string {
	return e.pipelineAt(reg, kind, name, "file://"+dir, "", trigger, options...)
}

// pipelineAt creates an export or import pipeline on a storage uri, with
// the Key Vault secret that holds its SAS token.
func (e *transferEnv) pipelineAt(reg, kind, name, uri, keyVaultURI string, trigger bool, options ...string) string {
	id := reg + "/" + kind + "/" + name
	side := "target"
	extra := ""
	if kind == "importPipelines" {
		side = "source"
		status := "Disabled"
		if trigger {
			status = "Enabled"
		}
		extra = `,"trigger":{"sourceTrigger":{"status":"` + status + `"}}`
	}
	opts, _ := json.Marshal(options)
	kv := ""
	if keyVaultURI != "" {
		kv = fmt.Sprintf(`,"keyVaultUri":%q`, keyVaultURI)
	}
	body := fmt.Sprintf(`{"location":"westus","identity":{"type":"SystemAssigned"},"properties":{%q:{"type":"AzureStorageBlobContainer","uri":%q%s},"options":%s%s}}`, side, uri, kv, opts, extra)
	e.must("PUT", id, body, 200, 201)
	return id
}

// startRun creates a run and returns its id.
func (e *transferEnv) startRun(reg, name, pipeline, blob string, artifacts ...string) string {
	e.t.Helper()
	id := reg + "/pipelineRuns/" + name
	req := map[string]any{"pipelineResourceId": pipeline}
	if strings.Contains(pipeline, "/exportPipelines/") {
		req["target"] = map[string]any{"type": "AzureStorageBlob", "name": blob}
		req["artifacts"] = artifacts
	} else {
		req["source"] = map[string]any{"type": "AzureStorageBlob", "name": blob}
	}
	b, _ := json.Marshal(map[string]any{"properties": map[string]any{"request": req}})
	e.must("PUT", id, string(b), 201)
	return id
}

// waitRun polls a run until it leaves Running and returns it.
func (e *transferEnv) waitRun(id string, within time.Duration) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := e.must("GET", id, "", 200)
		if s := dig(m, "properties", "response", "status"); s != "Running" {
			return m
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s still running after %s: %v", id, within, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pushIndex pushes two platform images and an index over them, tagged.
func pushIndex(t *testing.T, p *pusher, repo, tag string) string {
	t.Helper()
	var manifests []any
	for _, arch := range []string{"amd64", "arm64"} {
		d, err := p.pushImage(repo, arch, []byte(repo+" layer for "+arch))
		if err != nil {
			t.Fatal(err)
		}
		resp, b, err := p.do("HEAD", "/v2/"+repo+"/manifests/"+d, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("HEAD %s: %v %s", d, err, b)
		}
		manifests = append(manifests, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
			"size": resp.ContentLength, "platform": map[string]any{"os": "linux", "architecture": arch}})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
	resp, b, err := p.do("PUT", "/v2/"+repo+"/manifests/"+tag, idx, "Content-Type", "application/vnd.oci.image.index.v1+json")
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT index: %v %s", err, b)
	}
	return digestOf(idx)
}

// headDigest returns the digest a tag resolves to, or "" when it does not.
func headDigest(t *testing.T, p *pusher, repo, ref string) string {
	t.Helper()
	resp, _, err := p.do("HEAD", "/v2/"+repo+"/manifests/"+ref, nil, "Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// The seed's scenario on a local directory (the removable-media hand-over):
// a private registry exports several images, a multi-arch index among
// them; an import pipeline of another registry picks the archive up by
// trigger, once, and every tag and digest matches. Then the source's
// pipelines go and its exports are disabled: a new export pipeline, a new
// run and an import from it are refused.
func TestPipelineTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	data := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: data, Args: []string{"--pipeline-trigger-interval", "200ms"}})
	e := newTransferEnv(t, srv, "transfer")
	regA := e.createRegistry("sourcea")
	p := newPusher(srv)
	want := map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		d, err := p.pushImage("sourcea/app", tag, []byte("app "+tag+strings.Repeat("x", 1<<20)))
		if err != nil {
			t.Fatal(err)
		}
		want["app:"+tag] = d
	}
	want["multi:latest"] = pushIndex(t, p, "sourcea/multi", "latest")
	e.must("PATCH", regA, `{"properties":{"publicNetworkAccess":"Disabled"}}`, 200)

	dir := t.TempDir()
	exp := e.pipeline(regA, "exportPipelines", "exporta", dir, false, "OverwriteBlobs")
	run := e.startRun(regA, "exportrun1", exp, "handover.tar", "app:v1", "app:v2", "multi:latest")
	m := e.waitRun(run, time.Minute)
	if dig(m, "properties", "response", "status") != "Succeeded" || dig(m, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("export run: %v", m)
	}
	catalog, _ := dig(m, "properties", "response", "catalogDigest").(string)
	if !strings.HasPrefix(catalog, "sha256:") || dig(m, "properties", "response", "progress", "percentage") != "100" {
		t.Fatalf("export run response: %v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "handover.tar")); err != nil {
		t.Fatal(err)
	}

	regC := e.createRegistry("targetc")
	e.pipeline(regC, "importPipelines", "importc", dir, true, "OverwriteTags")
	var runs []any
	deadline := time.Now().Add(time.Minute)
	for len(runs) == 0 {
		runs, _ = e.must("GET", regC+"/pipelineRuns", "", 200)["value"].([]any)
		if time.Now().After(deadline) {
			t.Fatal("the import trigger started no run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	triggered := e.waitRun(regC+"/pipelineRuns/"+runs[0].(map[string]any)["name"].(string), time.Minute)
	resp := dig(triggered, "properties", "response").(map[string]any)
	if resp["status"] != "Succeeded" || resp["catalogDigest"] != catalog || dig(resp, "trigger", "sourceTrigger", "timestamp") == nil {
		t.Fatalf("triggered import: %v", triggered)
	}
	for ref, d := range want {
		repo, tag, _ := strings.Cut(ref, ":")
		if got := headDigest(t, p, "targetc/"+repo, tag); got != d {
			t.Errorf("targetc/%s = %q, want %s", ref, got, d)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if d := headDigest(t, p, "sourcea/multi", arch); headDigest(t, p, "targetc/multi", d) != d {
			t.Errorf("the index's %s child did not arrive", arch)
		}
	}

	// A restart does not import the same archive again.
	srv.Stop()
	srv = testserver.Start(t, testserver.Options{DataDir: data, Args: []string{"--pipeline-trigger-interval", "200ms"}})
	e.srv, e.a = srv, newARM(t, srv)
	time.Sleep(time.Second)
	if runs, _ := e.must("GET", regC+"/pipelineRuns", "", 200)["value"].([]any); len(runs) != 1 {
		t.Fatalf("after a restart the trigger made %d runs, want 1", len(runs))
	}

	// Lock the source: pipelines first, then the policy.
	e.must("DELETE", exp, "", 200)
	e.must("PATCH", regA, `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`, 200)
	code, body := e.a.do("PUT", exp+"?api-version="+pipelineVersion, `{"location":"westus","properties":{"target":{"uri":"file://`+dir+`"}}}`)
	if code != 400 || dig(body, "error", "code") != "ExportsDisabled" {
		t.Fatalf("export pipeline on a locked registry: %d %v", code, body)
	}
	code, body = e.a.do("PUT", regA+"/pipelineRuns/exportrun2?api-version="+pipelineVersion,
		`{"properties":{"request":{"pipelineResourceId":"`+exp+`","target":{"name":"again.tar"},"artifacts":["app:v1"]}}}`)
	if code < 400 || code >= 500 {
		t.Fatalf("export run on a locked registry: %d %v", code, body)
	}
	code, body = e.a.do("POST", regC+"/importImage?api-version=2025-04-01", `{"source":{"resourceId":"`+regA+`","sourceImage":"app:v1"},"targetTags":["stolen:v1"]}`)
	if code != 400 || !strings.Contains(fmt.Sprint(body), "exports disabled") {
		t.Fatalf("import from a locked registry: %d %v", code, body)
	}
}

// Forty export runs race a disable: every run either finished before the
// lock (its archive complete) or failed with a message and committed
// nothing; no archive appears after the lock.
func TestPipelineRunsRaceTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{})
	e := newTransferEnv(t, srv, "race")
	reg := e.createRegistry("racesource")
	p := newPusher(srv)
	for i := range 3 {
		if _, err := p.pushImage("racesource/app", fmt.Sprint("v", i), []byte(strings.Repeat(fmt.Sprint(i), 4<<20))); err != nil {
			t.Fatal(err)
		}
	}
	e.must("PATCH", reg, `{"properties":{"publicNetworkAccess":"Disabled"}}`, 200)
	dir := t.TempDir()
	exp := e.pipeline(reg, "exportPipelines", "raceexport", dir, false)
	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			id := e.startRun(reg, fmt.Sprintf("race%03d", i), exp, fmt.Sprintf("race%03d.tar", i), "app:v0", "app:v1", "app:v2")
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		})
	}
	wg.Wait()
	e.must("DELETE", exp, "", 200)
	e.must("PATCH", reg, `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`, 200)
	locked := time.Now()
	var ok, failed int
	for _, id := range ids {
		m := e.waitRun(id, 2*time.Minute)
		resp := dig(m, "properties", "response").(map[string]any)
		name := id[strings.LastIndex(id, "/")+1:]
		fi, statErr := os.Stat(filepath.Join(dir, name+".tar"))
		switch resp["status"] {
		case "Succeeded":
			ok++
			if statErr != nil {
				t.Errorf("%s succeeded without its archive: %v", name, statErr)
			} else if fi.ModTime().After(locked.Add(50 * time.Millisecond)) {
				t.Errorf("%s committed its archive after exports were disabled", name)
			}
		case "Failed":
			failed++
			msg, _ := resp["pipelineRunErrorMessage"].(string)
			if !strings.Contains(msg, "exports disabled") && !strings.Contains(msg, "was deleted during the run") {
				t.Errorf("%s failed without the gate's reason: %v", name, resp)
			}
			if statErr == nil {
				t.Errorf("%s failed but left an archive", name)
			}
		default:
			t.Errorf("%s ended %v", name, resp["status"])
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".") && strings.Contains(en.Name(), "partial") {
			t.Errorf("a partial archive was left behind: %s", en.Name())
		}
	}
	t.Logf("%d runs succeeded before the lock, %d failed", ok, failed)
	if failed == 0 {
		t.Log("every run finished before the lock; the race was not exercised this time")
	}
}
