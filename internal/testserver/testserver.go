// Package testserver builds the real bulkhead binary and runs it as a
// separate process on a free loopback port, for end-to-end tests. It is
// imported only by tests.
package testserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/bulkhead once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "bulkhead-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bulkhead")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/bulkhead")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// GoTool builds a Go tool pinned in go.mod (for example
// "github.com/google/go-containerregistry/cmd/crane") and returns its path.
func GoTool(t testing.TB, pkg string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "bulkhead-tools", filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// ModuleRoot finds the directory holding go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Bootstrap mirrors <data>/bootstrap.json.
type Bootstrap struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// Options configure a server process.
type Options struct {
	DataDir string   // default: a new temp dir
	Args    []string // extra serve flags
	Env     []string // extra environment
	TLS     bool     // pass --tls-self-signed and trust its CA
	// Wrap is a command prefix: the server runs as Wrap[0] Wrap[1:]...
	// <bulkhead> serve ..., for example under unshare with a small
	// filesystem mounted. The prefix must exec the server in its own
	// process, so that Stop and Kill reach it.
	Wrap []string
}

// Server is a running bulkhead process.
type Server struct {
	Addr    string
	URL     string // scheme://addr
	DataDir string
	Boot    Bootstrap
	Client  *http.Client
	log     *lockedWriter
	cmd     *exec.Cmd
	done    chan struct{}
	t       testing.TB
}

// Start runs bulkhead serve and waits for /healthz. The process is stopped
// when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary(t)
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	s := &Server{Addr: FreeAddr(t), DataDir: o.DataDir, log: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{}), t: t}
	args := append([]string{"serve", "--addr", s.Addr, "--data", o.DataDir, "--log-level", "warn"}, o.Args...)
	scheme := "http"
	if o.TLS {
		args = append(args, "--tls-self-signed")
		scheme = "https"
	}
	s.URL = scheme + "://" + s.Addr
	argv := append(append(append([]string{}, o.Wrap...), bin), args...)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), o.Env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	s.Client = &http.Client{Timeout: 60 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if o.TLS && s.Client.Transport == nil {
			if pem, err := os.ReadFile(filepath.Join(o.DataDir, "tls", "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(pem)
				s.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			}
		}
		if !o.TLS || s.Client.Transport != nil {
			if resp, err := s.Client.Get(s.URL + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		select {
		case <-s.done:
			t.Fatalf("bulkhead exited early: %s", s.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulkhead did not become healthy: %s", s.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(o.DataDir, "bootstrap.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s.Boot); err != nil {
		t.Fatal(err)
	}
	return s
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Kill sends SIGKILL and waits, simulating a crash.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// PID is the server's process id, for tests that watch what it uses
// (/proc/<PID>/status) or see its files as it does (/proc/<PID>/root, even
// in a mount namespace of its own).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports the process state after Stop or Kill.
func (s *Server) Exited() *os.ProcessState { return s.cmd.ProcessState }

// Token gets a management-plane token for the bootstrap principal.
func (s *Server) Token(t testing.TB) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.Boot.ClientID},
		"client_secret": {s.Boot.ClientSecret}, "scope": {"https://management.azure.com/.default"}}
	resp, err := s.Client.PostForm(s.URL+"/"+s.Boot.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// ARM sends a management request with the bootstrap principal's token and
// returns status and body.
func (s *Server) ARM(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, s.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Token(t))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// CreateRegistry creates a resource group (if needed) and a registry.
func (s *Server) CreateRegistry(t testing.TB, rg, name, sku string) {
	t.Helper()
	base := "/subscriptions/" + s.Boot.SubscriptionID + "/resourceGroups/" + rg
	if code, b := s.ARM(t, "PUT", base+"?api-version=2024-03-01", map[string]any{"location": "westus"}); code >= 300 {
		t.Fatalf("create resource group: %d %s", code, b)
	}
	body := map[string]any{"location": "westus", "sku": map[string]string{"name": sku}}
	if code, b := s.ARM(t, "PUT", base+"/providers/Microsoft.ContainerRegistry/registries/"+name+"?api-version=2025-11-01", body); code >= 300 {
		t.Fatalf("create registry: %d %s", code, b)
	}
}

// CPUTime returns the CPU time (user plus system) the server process has
// used so far, from /proc/<pid>/stat (Linux; clock ticks of 1/100 s, the
// USER_HZ every Linux ABI fixes).
func (s *Server) CPUTime(t testing.TB) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read the server's CPU time: %v", err)
	}
	// The command name (field 2) may hold spaces; fields 14 and 15 (utime,
	// stime) count from the closing parenthesis.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var utime, stime int64
	if len(fields) < 13 {
		t.Fatalf("unexpected /proc stat: %s", b)
	}
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.w.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// RequireTool finds a command-line tool a test needs. Without it the test
// skips on a developer's machine, but fails in CI (CI set): .ci/run
// installs every tool, so a missing one there is a broken CI, not a
// reason to pass in silence.
func RequireTool(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI must run this test (%s)", name, install)
	}
	t.Skipf("%s is not installed: %s (.ci/run does)", name, install)
	return ""
}
