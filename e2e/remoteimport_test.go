package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggremote "github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushTo writes img (a v1.Image or v1.ImageIndex) to ref on a registry
// outside Bulkhead and returns its digest.
func pushTo(t *testing.T, ref string, img any, auth authn.Authenticator) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []ggremote.Option{ggremote.WithAuth(auth)}
	var d v1.Hash
	switch x := img.(type) {
	case v1.Image:
		err = ggremote.Write(r, x, opts...)
		d, _ = x.Digest()
	case v1.ImageIndex:
		err = ggremote.WriteIndex(r, x, opts...)
		d, _ = x.Digest()
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return d.String()
}

// multiArch is an index of two images with platforms.
func multiArch(t *testing.T) (v1.ImageIndex, []v1.Image) {
	t.Helper()
	var imgs []v1.Image
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx, imgs
}

func importBody(uri, image string, extra ...string) string {
	src := map[string]any{"registryUri": uri, "sourceImage": image}
	body := map[string]any{"source": src}
	for i := 0; i+1 < len(extra); i += 2 {
		switch extra[i] {
		case "user":
			src["credentials"] = map[string]string{"username": extra[i+1], "password": extra[i+2]}
			i++
		case "tag":
			body["targetTags"] = []string{extra[i+1]}
		case "untagged":
			body["untaggedTargetRepositories"] = []string{extra[i+1]}
		case "mode":
			body["mode"] = extra[i+1]
		}
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// importImage from a real registry outside the service (Debian's
// docker-registry, distribution 2.8): by tag and by digest, an index with
// all its children, with and without credentials, the source's failures
// as ACR-style 4xx, a blob the target already has not fetched again, and
// NoForce against Force.
func TestImportFromDockerRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	open := testserver.StartDockerRegistry(t, testserver.DockerRegistryOptions{})
	locked := testserver.StartDockerRegistry(t, testserver.DockerRegistryOptions{Username: "puller", Password: "pa55-w0rd"})
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "rimp", "rimptgt", "Basic")
	arm := newARM(t, srv)
	imp := func(body string) (int, map[string]any) {
		t.Helper()
		return arm.do("POST", "/subscriptions/"+srv.Boot.SubscriptionID+"/resourceGroups/rimp/providers/Microsoft.ContainerRegistry/registries/rimptgt/importImage?api-version=2025-11-01", body)
	}
	p := newPusher(srv)
	get := func(path string) (int, string) {
		t.Helper()
		resp, b, err := p.do("GET", "/v2/rimptgt/"+path, nil, "Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json")
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, digestOf(b)
	}

	img, _ := random.Image(2048, 2)
	v1d := pushTo(t, open.Addr+"/lib/app:v1", img, authn.Anonymous)
	img2, _ := random.Image(1024, 1)
	v2d := pushTo(t, open.Addr+"/lib/app:v2", img2, authn.Anonymous)
	idx, children := multiArch(t)
	idxd := pushTo(t, open.Addr+"/lib/multi:all", idx, authn.Anonymous)
	privd := pushTo(t, locked.Addr+"/priv/app:v1", img2, &authn.Basic{Username: "puller", Password: "pa55-w0rd"})

	// By tag, to the source's own name.
	if code, m := imp(importBody(open.Addr, "lib/app:v1")); code != 202 {
		t.Fatalf("import by tag: %d %v", code, m)
	}
	if code, d := get("lib/app/manifests/v1"); code != 200 || d != v1d {
		t.Fatalf("imported manifest: %d %s, want %s", code, d, v1d)
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		ld, _ := l.Digest()
		if code, _ := get("lib/app/blobs/" + ld.String()); code != 200 {
			t.Errorf("layer %s: %d", ld, code)
		}
	}
	// A blob the target repository links is not fetched again.
	before := open.BlobGETs("")
	if code, m := imp(importBody("http://"+open.Addr+"/", "lib/app:v1", "tag", "lib/app:again")); code != 202 {
		t.Fatalf("second import: %d %v", code, m)
	}
	if n := open.BlobGETs(""); n != before || before < 3 {
		t.Errorf("blob GETs: %d before, %d after importing blobs the target has", before, n)
	}
	// By digest, untagged.
	if code, m := imp(importBody(open.Addr, "lib/app@"+v2d, "untagged", "bare/app")); code != 202 {
		t.Fatalf("import by digest: %d %v", code, m)
	}
	if code, _ := get("bare/app/manifests/" + v2d); code != 200 {
		t.Errorf("untagged import by digest: %d", code)
	}
	// The index with all its children, through a path prefix.
	if code, m := imp(importBody(open.Addr+"/lib", "multi:all", "tag", "multi:all")); code != 202 {
		t.Fatalf("index import: %d %v", code, m)
	}
	if code, d := get("multi/manifests/all"); code != 200 || d != idxd {
		t.Errorf("index: %d %s", code, d)
	}
	for _, c := range children {
		cd, _ := c.Digest()
		if code, _ := get("multi/manifests/" + cd.String()); code != 200 {
			t.Errorf("child %s: %d", cd, code)
		}
	}
	// Credentials: right, wrong, missing.
	if code, m := imp(importBody(locked.Addr, "priv/app:v1", "user", "puller", "pa55-w0rd")); code != 202 {
		t.Fatalf("import with credentials: %d %v", code, m)
	}
	if code, d := get("priv/app/manifests/v1"); code != 200 || d != privd {
		t.Errorf("imported with credentials: %d %s", code, d)
	}
	for _, c := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"wrong password", importBody(locked.Addr, "priv/app:v1", "tag", "w/app:v1", "user", "puller", "wrong-pa55"), 400, "InvalidParameters", "Unauthorized"},
		{"no credentials", importBody(locked.Addr, "priv/app:v1", "tag", "w/app:v1"), 400, "InvalidParameters", "Unauthorized"},
		{"no such tag", importBody(open.Addr, "lib/app:nope", "tag", "w/app:v1"), 404, "ImageNotFound", "not found"},
		{"no such repository", importBody(open.Addr, "nothing/here", "tag", "w/app:v1"), 404, "ImageNotFound", "not found"},
		{"unreachable", importBody(testserver.FreeAddr(t), "lib/app:v1", "tag", "w/app:v1"), 400, "InvalidParameters", "could not be reached"},
		{"TLS asked of a plain registry", importBody("https://"+open.Addr, "lib/app:v1", "tag", "w/app:v1"), 400, "InvalidParameters", "plain HTTP"},
		{"NoForce over an existing tag", importBody(open.Addr, "lib/app:v2", "tag", "lib/app:v1"), 409, "TagAlreadyExists", "Force"},
	} {
		code, m := imp(c.body)
		msg := fmt.Sprint(dig(m, "error", "message"))
		t.Logf("%s: %d %s: %s", c.name, code, dig(m, "error", "code"), msg)
		if code != c.status || dig(m, "error", "code") != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %v, want %d %s with %q", c.name, code, m, c.status, c.code, c.msg)
		}
		if strings.Contains(msg, "pa55") {
			t.Errorf("%s: the error echoes a password: %s", c.name, msg)
		}
	}
	if code, _ := get("w/app/manifests/v1"); code != 404 {
		t.Errorf("a failed import left a tag: %d", code)
	}
	// Force moves the tag.
	if code, m := imp(importBody(open.Addr, "lib/app:v2", "tag", "lib/app:v1", "mode", "Force")); code != 202 {
		t.Fatalf("Force: %d %v", code, m)
	}
	if code, d := get("lib/app/manifests/v1"); code != 200 || d != v2d {
		t.Errorf("forced tag: %d %s, want %s", code, d, v2d)
	}
	if strings.Contains(srv.Logs(), "pa55") {
		t.Error("the server logged a password")
	}
}
