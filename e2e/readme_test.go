package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestReadme runs every ```sh block of README.md, in order, in one shell,
// in a copy of the repository, as a new user would paste them. The first
// block's server command runs in the background (the README runs it in a
// terminal of its own) and its test command is skipped (it is what runs
// this). Anything that fails, an HTTP error included (the README's curl
// calls use --fail-with-body), fails the test.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's walkthrough")
	}
	t.Parallel()
	for tool, install := range map[string]string{"curl": "apt-get install -y curl", "jq": "apt-get install -y jq",
		"az": "apt-get install -y azure-cli", "skopeo": "apt-get install -y skopeo", "tar": "apt-get install -y tar"} {
		testserver.RequireTool(t, tool, install)
	}
	root, err := testserver.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := shellBlocks(string(readme))
	if len(blocks) < 4 {
		t.Fatalf("found %d sh blocks in README.md", len(blocks))
	}
	first := strings.Split(strings.TrimSpace(blocks[0]), "\n")
	if len(first) != 2 || !strings.HasPrefix(first[0], "go run ./cmd/bulkhead serve ") || !strings.HasPrefix(first[1], "go test ./... ") {
		t.Fatalf("the README's first block is no longer the serve and test commands:\n%s", blocks[0])
	}

	// The README names its ports; another server on them would answer
	// in the walkthrough's place.
	for _, addr := range []string{"127.0.0.1:5000", "127.0.0.1:5443"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the README's walkthrough needs %s, which is in use: %v", addr, err)
		}
		ln.Close()
	}
	dir := copyRepo(t, root)
	home := t.TempDir()
	azDir := filepath.Join(home, "az")
	os.MkdirAll(azDir, 0o700)
	// Stop az's first-run version probe (there is no internet here).
	os.WriteFile(filepath.Join(azDir, "versionCheck.json"), []byte(`{"versions":{},"update_time":"2099-01-01 00:00:00.000000"}`), 0o600)
	env := append(os.Environ(), "AZURE_CONFIG_DIR="+azDir, "AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_NO_COLOR=true",
		"DOCKER_CONFIG="+filepath.Join(home, "docker"), "BULKHEAD_CONFIG_DIR="+filepath.Join(home, "bulkhead"),
		"REGISTRY_AUTH_FILE="+filepath.Join(home, "containers-auth.json"))

	// The first terminal: the server, until the test ends.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	server := shell(ctx, dir, env, strings.TrimSpace(strings.SplitN(first[0], "#", 2)[0]))
	var serverOut bytes.Buffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopGroup(server)
	waitHealthy(t, "http://127.0.0.1:5000/healthz", &serverOut)

	// The second terminal: every other block, in order, in one shell.
	script := "set -euo pipefail\nset -x\n" + strings.Join(blocks[1:], "\n")
	walk := shell(ctx, dir, env, script)
	var out bytes.Buffer
	walk.Stdout, walk.Stderr = &out, &out
	// The server the az section starts in the background keeps the
	// output open after the shell ends.
	walk.WaitDelay = 2 * time.Second
	start := time.Now()
	err = walk.Run()
	stopGroup(walk) // the background server the az section starts
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	if err != nil {
		t.Fatalf("the README's walkthrough failed: %v\n%s\nthe first server's log:\n%s", err, tail(out.String(), 6000), tail(serverOut.String(), 3000))
	}
	t.Logf("%d blocks ran in %v", len(blocks)-1, time.Since(start).Round(time.Second))
}

// shellBlocks returns the bodies of the ```sh blocks of a markdown text.
func shellBlocks(md string) []string {
	re := regexp.MustCompile("(?ms)^```sh\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// shell runs script with bash in its own process group, so that the
// servers it starts in the background can be stopped with it.
func shell(ctx context.Context, dir string, env []string, script string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// stopGroup stops cmd's process group (go run and the server it runs).
func stopGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func waitHealthy(t *testing.T, url string, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // go run builds first
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the README's server did not become healthy at %s:\n%s", url, log.String())
}

// copyRepo copies the repository's tracked files (as a clean clone has
// them) to a new directory.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	files, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dir := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
