package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// importImage copies images (and indexes with their children) between
// registries of the service, with ACR's tag modes, and refuses every form
// of a source with exports disabled: resource id in any casing and every
// login-server alias, in host and path mode.
func TestImportImage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
	srv.CreateRegistry(t, "imp", "impsrc", "Premium")
	srv.CreateRegistry(t, "imp", "imptgt", "Basic")
	arm := newARM(t, srv)
	regPath := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/imp/providers/Microsoft.ContainerRegistry/registries/"
	srcID := regPath + "impsrc"
	p := newPusher(srv)
	v1, err := p.pushImage("impsrc/app", "v1", []byte("layer one"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := p.pushImage("impsrc/app", "v2", []byte("layer two"))
	if err != nil {
		t.Fatal(err)
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{
			map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": v1, "size": manifestSize(t, p, "impsrc/app", v1), "platform": map[string]string{"os": "linux", "architecture": "amd64"}},
			map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": v2, "size": manifestSize(t, p, "impsrc/app", v2), "platform": map[string]string{"os": "linux", "architecture": "arm64"}},
		}})
	if resp, b, err := p.do("PUT", "/v2/impsrc/app/manifests/multi", index, "Content-Type", "application/vnd.oci.image.index.v1+json"); err != nil || resp.StatusCode != 201 {
		t.Fatalf("index: %v %s", err, b)
	}
	imp := func(body string) (int, map[string]any) {
		t.Helper()
		return arm.do("POST", regPath+"imptgt/importImage?api-version=2022-02-01-preview", body)
	}
	get := func(path string) int {
		t.Helper()
		resp, _, err := p.do("GET", path, nil, "Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json")
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}

	// By resource id, to a new name; then the index with its children.
	if code, m := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v1"},"targetTags":["copied/app:v1"],"mode":"NoForce"}`); code != 202 {
		t.Fatalf("import: %d %v", code, m)
	}
	if get("/v2/imptgt/copied/app/manifests/v1") != 200 || get("/v2/imptgt/copied/app/blobs/"+digestOf([]byte("layer one"))) != 200 {
		t.Fatal("imported image not served by the target")
	}
	if code, m := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app:multi"},"targetTags":["multi/app"]}`); code != 202 {
		t.Fatalf("index import: %d %v", code, m)
	}
	for _, path := range []string{"/v2/imptgt/multi/app/manifests/multi", "/v2/imptgt/multi/app/manifests/" + v1, "/v2/imptgt/multi/app/manifests/" + v2,
		"/v2/imptgt/multi/app/blobs/" + digestOf([]byte("layer two"))} {
		if c := get(path); c != 200 {
			t.Errorf("after the index import, %s: %d", path, c)
		}
	}
	// Untagged, by digest: the manifest without a tag.
	if code, m := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app@` + v2 + `"},"untaggedTargetRepositories":["bare"]}`); code != 202 {
		t.Fatalf("untagged import: %d %v", code, m)
	}
	if get("/v2/imptgt/bare/manifests/"+v2) != 200 || get("/v2/imptgt/bare/manifests/latest") != 404 {
		t.Error("untagged import")
	}
	// NoForce refuses an existing tag; Force moves it.
	if code, m := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v2"},"targetTags":["copied/app:v1"]}`); code != 409 || dig(m, "error", "code") != "TagAlreadyExists" {
		t.Errorf("NoForce over an existing tag: %d %v", code, m)
	}
	if code, m := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v2"},"targetTags":["copied/app:v1"],"mode":"Force"}`); code != 202 {
		t.Errorf("Force: %d %v", code, m)
	}
	if resp, b, _ := p.do("GET", "/v2/imptgt/copied/app/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json"); resp.StatusCode != 200 || digestOf(b) != v2 {
		t.Errorf("forced tag points to %s, want %s", digestOf(b), v2)
	}

	// Bad input: 4xx in the ARM envelope.
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"no source image", `{"source":{"resourceId":"` + srcID + `"}}`, 400, "InvalidParameters"},
		{"no source registry", `{"source":{"sourceImage":"app:v1"}}`, 400, "InvalidParameters"},
		{"bad mode", `{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v1"},"mode":"Sometimes"}`, 400, "InvalidParameters"},
		{"bad target tag", `{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v1"},"targetTags":["Bad Name:x"]}`, 400, "InvalidParameters"},
		{"bad source image", `{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v1:v2@x"}}`, 400, "InvalidParameters"},
		{"not a registry id", `{"source":{"resourceId":"/subscriptions/x/resourceGroups/y","sourceImage":"app:v1"}}`, 400, "InvalidParameters"},
		{"unknown source registry", `{"source":{"resourceId":"` + regPath + `nosuchreg","sourceImage":"app:v1"}}`, 404, "SourceRegistryNotFound"},
		{"unknown image", `{"source":{"resourceId":"` + srcID + `","sourceImage":"app:nope"}}`, 404, "ImageNotFound"},
		{"unresolvable external registry", `{"source":{"registryUri":"nosuchregistry.invalid","sourceImage":"library/hello-world:latest"}}`, 400, "InvalidParameters"},
		{"another server's path, unreachable", `{"source":{"registryUri":"127.0.0.1:1/impsrc","sourceImage":"app:v1"}}`, 400, "InvalidParameters"},
		{"bad registryUri", `{"source":{"registryUri":"ftp://x","sourceImage":"app:v1"}}`, 400, "InvalidParameters"},
		{"credentials without a password", `{"source":{"registryUri":"127.0.0.1:1","credentials":{"username":"u"},"sourceImage":"app:v1"}}`, 400, "InvalidParameters"},
		{"malformed json", `{"source":`, 400, "InvalidRequestContent"},
	} {
		if code, m := imp(c.body); code != c.status || dig(m, "error", "code") != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, code, m, c.status, c.code)
		}
	}

	// Exports disabled on the source: every name of it is refused, and
	// nothing is copied.
	if code, m := arm.do("PATCH", srcID+"?api-version=2021-06-01-preview",
		`{"properties":{"policies":{"exportPolicy":{"status":"disabled"}},"publicNetworkAccess":"disabled"}}`); code/100 != 2 {
		t.Fatalf("disable exports: %d %v", code, m)
	}
	_, port, _ := net.SplitHostPort(srv.Addr)
	aliases := []string{
		`"resourceId":"` + srcID + `"`,
		`"resourceId":"` + strings.ToUpper(srcID) + `"`,
		`"resourceId":"` + strings.ToLower(srcID) + `/"`,
		`"registryUri":"impsrc.cr.test"`,
		`"registryUri":"IMPSRC.CR.TEST:443"`,
		`"registryUri":"https://impsrc.cr.test/"`,
		`"registryUri":"impsrc.cr.test."`,
		`"registryUri":"impsrc.cr.test:` + port + `"`,
		`"registryUri":"` + srv.Addr + `/impsrc"`,
		`"registryUri":"http://localhost:` + port + `/IMPSRC/"`,
		`"registryUri":"[::1]:` + port + `/impsrc"`,
	}
	for i, a := range aliases {
		body := `{"source":{` + a + `,"sourceImage":"app:v1"},"targetTags":["leak` + fmt.Sprint(i) + `/app:v1"]}`
		if code, m := imp(body); code != 400 || dig(m, "error", "code") != "ExportsDisabled" || !strings.Contains(fmt.Sprint(dig(m, "error", "message")), "impsrc") {
			t.Errorf("import by %s from an export-disabled registry: %d %v", a, code, m)
		}
	}
	// az's split of a path-mode reference: the host as registryUri, the
	// registry in the image.
	if code, m := imp(`{"source":{"registryUri":"` + srv.Addr + `","sourceImage":"impsrc/app:v1"},"targetTags":["leakaz/app:v1"]}`); code != 400 || dig(m, "error", "code") != "ExportsDisabled" {
		t.Errorf("path-mode split reference: %d %v", code, m)
	}
	resp, body, err := p.do("GET", "/v2/_catalog", nil)
	if err != nil || resp.StatusCode != 200 || strings.Contains(string(body), "leak") {
		t.Fatalf("a refused import copied something: %v %s", err, body)
	}

	// Exports enabled again (public access still disabled): by resource
	// id it works; by login server ACR refuses a private source.
	if code, m := arm.do("PATCH", srcID+"?api-version=2021-06-01-preview", `{"properties":{"policies":{"exportPolicy":{"status":"enabled"}}}}`); code/100 != 2 {
		t.Fatalf("enable exports: %d %v", code, m)
	}
	if code, m := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v1"},"targetTags":["again/app:v1"]}`); code != 202 {
		t.Errorf("import after exports are enabled: %d %v", code, m)
	}
	if code, m := imp(`{"source":{"registryUri":"impsrc.cr.test","sourceImage":"app:v1"},"targetTags":["byuri/app:v1"]}`); code != 400 || dig(m, "error", "code") != "InvalidParameters" {
		t.Errorf("by login server from a public-access-disabled source: %d %v", code, m)
	}

	// Race: imports against disabling exports. Every import either landed
	// before the policy change (202 and its tag exists) or was refused
	// (and copied nothing); none succeeds after the change returned.
	var wg sync.WaitGroup
	results := make([]int, 40)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = imp(fmt.Sprintf(`{"source":{"resourceId":"%s","sourceImage":"app:v1"},"targetTags":["race%d/app:v1"]}`, srcID, i))
		}()
	}
	if code, m := arm.do("PATCH", srcID+"?api-version=2021-06-01-preview", `{"properties":{"policies":{"exportPolicy":{"status":"disabled"}}}}`); code/100 != 2 {
		t.Fatalf("disable exports during imports: %d %v", code, m)
	}
	if code, _ := imp(`{"source":{"resourceId":"` + srcID + `","sourceImage":"app:v1"},"targetTags":["after/app:v1"]}`); code != 400 {
		t.Errorf("import after exports were disabled: %d", code)
	}
	wg.Wait()
	for i, code := range results {
		tagged := get(fmt.Sprintf("/v2/imptgt/race%d/app/manifests/v1", i)) == 200
		if code == 202 != tagged || code != 202 && code != 400 {
			t.Errorf("racing import %d: %d, tag present %v", i, code, tagged)
		}
	}
}

func manifestSize(t *testing.T, p *pusher, repo, d string) int {
	t.Helper()
	resp, b, err := p.do("GET", "/v2/"+repo+"/manifests/"+d, nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest %s: %v", d, err)
	}
	return len(b)
}
