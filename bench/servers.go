package main

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"syscall"
	"time"
)

// registryName and repository name the Bulkhead registry and repository
// the loads use; in path mode the repository is reached as
// /v2/<registryName>/<repository>/….
const (
	registryName = "benchreg"
	repository   = "bench"
)

// target is one running registry under test.
type target struct {
	name   string       // "Bulkhead" or "docker-registry"
	base   *url.URL     // http://127.0.0.1:<port>
	repo   string       // repository name as it appears in /v2/<repo>/…
	auth   string       // Authorization header for data-plane requests; "" for none
	arm    http.Header  // management-plane headers (Bulkhead only)
	sub    string       // bootstrap subscription (Bulkhead only)
	client *http.Client // keep-alive client sized for the loads' concurrency
	cmd    *exec.Cmd
	log    string        // the server's stdout+stderr
	exited chan struct{} // closed when the process has exited
	werr   error         // the process's exit status, valid after exited is closed
}

// newClient returns a client whose transport keeps enough idle connections
// for every load's concurrency, never uses a proxy and never compresses.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		DisableCompression:    true,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
	}}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// moduleRoot finds the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run bench from inside the Bulkhead module (go run ./bench)")
	}
	return filepath.Dir(gomod), nil
}

// buildBulkhead compiles ./cmd/bulkhead into root/bin and returns the
// binary and the module directory it was built from.
func buildBulkhead(ctx context.Context, root string) (bin, mod string, err error) {
	if mod, err = moduleRoot(ctx); err != nil {
		return "", "", err
	}
	bin = filepath.Join(root, "bin", "bulkhead")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/bulkhead")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/bulkhead: %w\n%s", err, out)
	}
	return bin, mod, nil
}

// start launches a server process in its own process group (so a terminal
// SIGINT reaches only bench, which then stops it in order) with its output
// in a log file.
func start(name, addr, logPath, bin string, args ...string) (*target, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	t := &target{name: name, base: &url.URL{Scheme: "http", Host: addr}, client: newClient(), cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		t.werr = cmd.Wait()
		close(t.exited)
	}()
	return t, nil
}

// stop ends the server it started (SIGTERM, then SIGKILL after 10 s) and
// waits for it to exit. It is safe to call more than once.
func (t *target) stop() {
	if t == nil || t.cmd == nil || t.cmd.Process == nil {
		return
	}
	select {
	case <-t.exited:
		return
	default:
	}
	t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.exited:
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-t.exited
	}
	t.client.CloseIdleConnections()
}

// pid is the server's process id, for /proc/<pid>/status.
func (t *target) pid() int { return t.cmd.Process.Pid }

// logTail returns the end of the server's log, for error messages.
func (t *target) logTail() string {
	b, _ := os.ReadFile(t.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// waitReady polls path until it answers 200, the process exits or 60 s pass.
func (t *target) waitReady(ctx context.Context, path string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url(path), nil)
		if resp, err := t.client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-t.exited:
			return fmt.Errorf("server exited (%v); log:\n%s", t.werr, t.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s did not answer 200 within 60s; log:\n%s", path, t.logTail())
		}
	}
}

// startPeer writes a docker-registry config (filesystem storage in a temp
// directory, delete enabled, in-memory blob descriptor cache, errors-only
// log, no access log, no auth), the same as toolchain.md §2a, and starts it.
func startPeer(ctx context.Context, root, bin string) (*target, error) {
	dir := filepath.Join(root, "peer")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
  headers:
    X-Content-Type-Options: [nosniff]
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	t, err := start("docker-registry", addr, filepath.Join(dir, "log.txt"), bin, "serve", cfgPath)
	if err != nil {
		return nil, err
	}
	t.repo = registryName + "/" + repository // same name shape as Bulkhead's
	return t, t.waitReady(ctx, "/v2/")
}

// bootstrap is <data>/bootstrap.json, written by Bulkhead on first start.
type bootstrap struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// startBulkhead starts Bulkhead, creates the resource group and the Premium
// registry through the management API, and gets the data-plane Bearer
// token once, the way docker and containerd do before pushing.
func startBulkhead(ctx context.Context, root, bin string) (*target, error) {
	return startBulkheadIn(ctx, root, "Bulkhead", bin)
}

// startBulkheadIn is startBulkhead with its data and log in dir, named
// name in progress lines, and extra flags for `bulkhead serve`.
func startBulkheadIn(ctx context.Context, dir, name, bin string, extra ...string) (*target, error) {
	data := filepath.Join(dir, "bulkhead-data")
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", addr, "--data", data, "--log-level", "error"}, extra...)
	t, err := start(name, addr, filepath.Join(dir, "bulkhead.log"), bin, args...)
	if err != nil {
		return nil, err
	}
	t.repo = registryName + "/" + repository
	if err := t.waitReady(ctx, "/healthz"); err != nil {
		return t, err
	}
	raw, err := os.ReadFile(filepath.Join(data, "bootstrap.json"))
	if err != nil {
		return t, err
	}
	var b bootstrap
	if err := json.Unmarshal(raw, &b); err != nil {
		return t, fmt.Errorf("bootstrap.json: %w", err)
	}

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {b.ClientID}, "client_secret": {b.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if err := t.call(ctx, http.MethodPost, "/"+b.TenantID+"/oauth2/v2.0/token", hdr, []byte(form.Encode()), &tok); err != nil {
		return t, fmt.Errorf("management token: %w", err)
	}
	arm := http.Header{"Authorization": {"Bearer " + tok.AccessToken}, "Content-Type": {"application/json"}}
	t.arm, t.sub = arm, b.SubscriptionID
	rg := "/subscriptions/" + b.SubscriptionID + "/resourceGroups/bench"
	if err := t.call(ctx, http.MethodPut, rg+"?api-version=2024-03-01", arm, []byte(`{"location":"westus"}`), nil); err != nil {
		return t, fmt.Errorf("create resource group: %w", err)
	}
	reg := rg + "/providers/Microsoft.ContainerRegistry/registries/" + registryName + "?api-version=2025-11-01"
	if err := t.call(ctx, http.MethodPut, reg, arm, []byte(`{"location":"westus","sku":{"name":"Premium"}}`), nil); err != nil {
		return t, fmt.Errorf("create registry: %w", err)
	}
	if err := t.waitProvisioned(ctx, reg, arm); err != nil {
		return t, err
	}

	q := url.Values{"service": {t.base.Host}, "scope": {"repository:" + t.repo + ":pull,push"}}
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(b.ClientID+":"+b.ClientSecret))}}
	tok.AccessToken = ""
	if err := t.call(ctx, http.MethodGet, "/oauth2/token?"+q.Encode(), basic, nil, &tok); err != nil {
		return t, fmt.Errorf("data-plane token: %w", err)
	}
	if tok.AccessToken == "" {
		return t, fmt.Errorf("data-plane token: empty access_token")
	}
	t.auth = "Bearer " + tok.AccessToken
	return t, nil
}

// waitProvisioned polls the registry until its provisioningState is
// Succeeded (or absent), in case creation is a long-running operation.
func (t *target) waitProvisioned(ctx context.Context, path string, hdr http.Header) error {
	for i := 0; i < 300; i++ {
		var r struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
			} `json:"properties"`
		}
		if err := t.call(ctx, http.MethodGet, path, hdr, nil, &r); err != nil {
			return fmt.Errorf("get registry: %w", err)
		}
		switch r.Properties.ProvisioningState {
		case "", "Succeeded":
			return nil
		case "Failed", "Canceled":
			return fmt.Errorf("registry provisioning %s", r.Properties.ProvisioningState)
		}
		pause(ctx, 100*time.Millisecond)
	}
	return fmt.Errorf("registry not provisioned after 30s")
}

// call sends a small request without the data-plane auth header, expects a
// 2xx answer and decodes its JSON body into out when out is not nil.
func (t *target) call(ctx context.Context, method, path string, hdr http.Header, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, t.url(path), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}

// url returns the absolute URL of path on the server.
func (t *target) url(path string) string { return t.base.String() + path }

// resolve turns an upload Location (relative for Bulkhead, absolute for
// docker-registry) into an absolute URL.
func (t *target) resolve(loc string) (string, error) {
	if loc == "" {
		return "", fmt.Errorf("missing Location header")
	}
	u, err := t.base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("bad Location %q: %w", loc, err)
	}
	return u.String(), nil
}

// procStatus reads one "<key>: <n> kB" field of /proc/<pid>/status, in bytes.
func procStatus(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("%s: %w", key, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, key)
}

// resetPeakRSS resets VmHWM to the current RSS (Linux clear_refs value 5),
// so that the next VmHWM reading covers only what follows.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
