package testserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DockerRegistryOptions configure StartDockerRegistry.
type DockerRegistryOptions struct {
	// Username and Password, when set, turn on htpasswd authentication
	// (a bcrypt line generated for them); otherwise the registry is open.
	Username, Password string
}

// DockerRegistry is a running distribution registry (Debian's
// docker-registry), a registry outside Bulkhead to import from.
type DockerRegistry struct {
	Addr string // 127.0.0.1:port
	URL  string // http://Addr
	log  *lockedWriter
	cmd  *exec.Cmd
	done chan struct{}
}

// StartDockerRegistry runs /usr/bin/docker-registry on a free loopback
// port with filesystem storage in a temp dir, and stops it when the test
// ends. Without the binary the test skips, or fails under CI
// (RequireTool).
func StartDockerRegistry(t testing.TB, o DockerRegistryOptions) *DockerRegistry {
	t.Helper()
	bin := RequireTool(t, "docker-registry", "apt-get install docker-registry")
	dir := t.TempDir()
	d := &DockerRegistry{Addr: FreeAddr(t), log: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
	d.URL = "http://" + d.Addr
	secret := make([]byte, 16)
	rand.Read(secret)
	auth := ""
	if o.Username != "" || o.Password != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(o.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: bulkhead-test\n    path: %s\n", htpasswd)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: %s
%s`, filepath.Join(dir, "data"), d.Addr, hex.EncodeToString(secret), auth)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, "serve", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := client.Get(d.URL + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return d
			}
		}
		select {
		case <-d.done:
			t.Fatalf("docker-registry exited early: %s", d.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not start: %s", d.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *DockerRegistry) stop() {
	if d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Kill()
	<-d.done
}

// Logs returns what the registry printed so far (its access log too).
func (d *DockerRegistry) Logs() string {
	d.log.mu.Lock()
	defer d.log.mu.Unlock()
	return d.log.w.String()
}

var blobGET = regexp.MustCompile(`"GET /v2/[^ "]*/blobs/sha256:[0-9a-f]{64} HTTP/[0-9.]+" (200|307)`)

// BlobGETs counts the blob downloads the registry served (from its
// access log), optionally only those of one digest.
func (d *DockerRegistry) BlobGETs(digest string) int {
	n := 0
	for _, m := range blobGET.FindAllString(d.Logs(), -1) {
		if digest == "" || strings.Contains(m, digest) {
			n++
		}
	}
	return n
}
