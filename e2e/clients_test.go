package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// Real clients push and pull through a real server, and digests
// round-trip: crane and oras (pinned Go tools) and skopeo (Debian).
func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real clients against a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "clients", "clientsreg", "Premium")
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
	run := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, home
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s%s\nserver log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr, tail(srv.Logs(), 3000))
		}
		return strings.TrimSpace(string(out))
	}
	host := srv.Addr
	ref := host + "/clientsreg/"
	crane := testserver.GoTool(t, "github.com/google/go-containerregistry/cmd/crane")
	oras := testserver.GoTool(t, "oras.land/oras/cmd/oras")
	run(t, crane, "auth", "login", host, "-u", srv.Boot.ClientID, "-p", srv.Boot.ClientSecret)

	layout := filepath.Join(home, "layout")
	var imageDigest string
	t.Run("crane", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(home, "hello.txt"), []byte("hello from bulkhead\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "tar", "-C", home, "-cf", filepath.Join(home, "layer.tar"), "hello.txt")
		run(t, crane, "append", "--insecure", "-f", filepath.Join(home, "layer.tar"), "-t", ref+"app:v1")
		imageDigest = run(t, crane, "digest", "--insecure", ref+"app:v1")
		run(t, crane, "pull", "--insecure", "--format", "oci", ref+"app:v1", layout)
		run(t, crane, "push", "--insecure", layout, ref+"copy:v1")
		if got := run(t, crane, "digest", "--insecure", ref+"copy:v1"); got != imageDigest {
			t.Fatalf("digest after pull+push: %s, want %s", got, imageDigest)
		}
		files := run(t, crane, "export", "--insecure", ref+"app:v1", filepath.Join(home, "fs.tar"))
		_ = files
		if out := run(t, "tar", "-xOf", filepath.Join(home, "fs.tar"), "hello.txt"); out != "hello from bulkhead" {
			t.Fatalf("exported file: %q", out)
		}
		tags := run(t, crane, "ls", "--insecure", ref+"app")
		if tags != "v1" {
			t.Fatalf("tags: %q", tags)
		}
	})

	t.Run("oras artifact with referrer", func(t *testing.T) {
		auth := []string{"--plain-http", "-u", srv.Boot.ClientID, "-p", srv.Boot.ClientSecret}
		if err := os.WriteFile(filepath.Join(home, "sbom.json"), []byte(`{"sbom":true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "sig.txt"), []byte("signature"), 0o644); err != nil {
			t.Fatal(err)
		}
		pushed := run(t, oras, append([]string{"push", ref + "art:v1", "--artifact-type", "application/vnd.example.sbom", "--format", "go-template={{.digest}}", "sbom.json:application/json"}, auth...)...)
		if !strings.HasPrefix(pushed, "sha256:") {
			t.Fatalf("oras push printed %q", pushed)
		}
		run(t, oras, append([]string{"attach", ref + "art:v1", "--artifact-type", "application/vnd.example.signature", "sig.txt:text/plain"}, auth...)...)
		var disc struct {
			Referrers []struct {
				ArtifactType string `json:"artifactType"`
				Digest       string `json:"digest"`
			} `json:"referrers"`
			Manifests []struct {
				ArtifactType string `json:"artifactType"`
			} `json:"manifests"`
		}
		out := run(t, oras, append([]string{"discover", ref + "art:v1", "--format", "json"}, auth...)...)
		if err := json.Unmarshal([]byte(out), &disc); err != nil {
			t.Fatalf("discover output %q: %v", out, err)
		}
		n := len(disc.Referrers) + len(disc.Manifests)
		if n != 1 {
			t.Fatalf("want 1 referrer, got %s", out)
		}
		pullDir := filepath.Join(home, "pulled")
		run(t, oras, append([]string{"pull", ref + "art:v1", "-o", pullDir}, auth...)...)
		if b, err := os.ReadFile(filepath.Join(pullDir, "sbom.json")); err != nil || string(b) != `{"sbom":true}` {
			t.Fatalf("pulled %q, %v", b, err)
		}
		if got := run(t, oras, append([]string{"resolve", ref + "art:v1"}, auth...)...); got != pushed {
			t.Fatalf("resolve %s, pushed %s", got, pushed)
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		testserver.RequireTool(t, "skopeo", "apt-get install -y skopeo")
		if imageDigest == "" {
			t.Skip("needs the crane subtest's image")
		}
		creds := srv.Boot.ClientID + ":" + srv.Boot.ClientSecret
		run(t, "skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds, "--preserve-digests", "oci:"+layout, "docker://"+ref+"skopeo:v1")
		raw := run(t, "skopeo", "inspect", "--tls-verify=false", "--creds", creds, "--format", "{{.Digest}}", "docker://"+ref+"skopeo:v1")
		if raw != imageDigest {
			t.Fatalf("skopeo digest %s, want %s", raw, imageDigest)
		}
		back := filepath.Join(home, "back")
		run(t, "skopeo", "copy", "--src-tls-verify=false", "--src-creds", creds, "--preserve-digests", "docker://"+ref+"skopeo:v1", "oci:"+back+":v1")
		idx, err := os.ReadFile(filepath.Join(back, "index.json"))
		if err != nil || !strings.Contains(string(idx), imageDigest) {
			t.Fatalf("copied back index %s (%v) lacks %s", idx, err, imageDigest)
		}
	})
}
