package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// conformancePkg is the OCI distribution-spec conformance suite, pinned as
// a Go tool dependency in go.mod.
const conformancePkg = "github.com/opencontainers/distribution-spec/conformance"

// TestConformance runs the OCI conformance suite, every workflow on,
// against a real `bulkhead serve` in path mode and in host mode, and
// requires zero failures.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance runs a real server; skipped with -short")
	}
	bin := testserver.GoTool(t, conformancePkg)
	t.Run("path mode", func(t *testing.T) {
		srv := testserver.Start(t, testserver.Options{})
		srv.CreateRegistry(t, "conformance", "confreg1", "Premium")
		runConformance(t, bin, srv, srv.Addr, "confreg1/myorg/myrepo", "confreg1/myorg/other")
	})
	t.Run("host mode", func(t *testing.T) {
		// The suite addresses confreg2.cr.test:<port>; a forward proxy
		// plays the resolver, since *.cr.test has no DNS here.
		srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
		srv.CreateRegistry(t, "conformance", "confreg2", "Premium")
		_, port, _ := net.SplitHostPort(srv.Addr)
		proxy := resolverProxy(t, srv.Addr)
		runConformance(t, bin, srv, "confreg2.cr.test:"+port, "myorg/myrepo", "myorg/other", "HTTP_PROXY="+proxy, "NO_PROXY=", "no_proxy=")
	})
}

var resultLine = regexp.MustCompile(`OCI Conformance Result: (\w+)`)

func runConformance(t *testing.T, bin string, srv *testserver.Server, registry, repo1, repo2 string, env ...string) {
	t.Helper()
	results := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = results
	cmd.Env = append(os.Environ(),
		"OCI_REGISTRY="+registry,
		"OCI_TLS=disabled",
		"OCI_REPO1="+repo1,
		"OCI_REPO2="+repo2,
		"OCI_USERNAME="+srv.Boot.ClientID,
		"OCI_PASSWORD="+srv.Boot.ClientSecret,
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_RESULTS_DIR="+results,
		"OCI_LOG=warn",
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	text := string(out)
	m := resultLine.FindStringSubmatch(text)
	if err != nil || m == nil || m[1] != "Pass" {
		if b, rerr := os.ReadFile(filepath.Join(results, "results.yaml")); rerr == nil {
			text += "\n--- results.yaml (failures) ---\n" + failures(string(b))
		}
		t.Fatalf("conformance did not pass (err=%v):\n%s\n--- server log ---\n%s", err, tail(text, 20000), tail(srv.Logs(), 4000))
	}
	t.Logf("%s", strings.TrimSpace(summary(text)))
}

func summary(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "Pass") || strings.Contains(l, "Fail") || strings.Contains(l, "Result") {
			keep = append(keep, l)
		}
	}
	return tail(strings.Join(keep, "\n"), 3000)
}

func failures(y string) string {
	var keep []string
	lines := strings.Split(y, "\n")
	for i, l := range lines {
		if strings.Contains(l, "FAIL") || strings.Contains(l, "Fail") {
			lo, hi := max(0, i-3), min(len(lines), i+6)
			keep = append(keep, lines[lo:hi]...)
		}
	}
	return tail(strings.Join(keep, "\n"), 20000)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
