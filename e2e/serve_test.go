package e2e

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// The serve command fails clearly on bad configuration.
func TestServeErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin := testserver.Binary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fresh := filepath.Join(t.TempDir(), "data") // must not be created
	ro := t.TempDir()
	os.Chmod(ro, 0o500)
	defer os.Chmod(ro, 0o700)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{"bad addr", []string{"serve", "--addr", "nonsense", "--data", t.TempDir()}, 2, "want host:port"},
		{"bad log format", []string{"serve", "--log-format", "xml", "--data", t.TempDir()}, 2, "--log-format"},
		{"several problems at once", []string{"serve", "--log-format", "xml", "--log-level", "loud", "--data", t.TempDir()}, 2, "--log-level"},
		{"tls cert without key", []string{"serve", "--tls-cert", "x.pem", "--data", t.TempDir()}, 2, "together"},
		{"gc grace too short", []string{"serve", "--gc-grace", "10ms", "--data", t.TempDir()}, 2, "--gc-grace"},
		{"storage driver not in this build", []string{"serve", "--meta-driver", "postgres", "--data", t.TempDir()}, 2, "not available in this build yet"},
		{"unknown content driver", []string{"serve", "--content-driver", "nfs", "--data", t.TempDir()}, 2, "known drivers: fs"},
		{"negative gc interval", []string{"serve", "--gc-interval", "-1h", "--data", t.TempDir()}, 2, "--gc-interval"},
		{"port in use", []string{"serve", "--addr", busy.Addr().String(), "--data", t.TempDir()}, 1, "already in use"},
		{"unwritable data dir", []string{"serve", "--addr", testserver.FreeAddr(t), "--data", filepath.Join(ro, "sub")}, 1, "data directory"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"port out of range", []string{"serve", "--addr", "127.0.0.1:99999", "--data", fresh}, 2, "port must be a number"},
		{"missing tls files", []string{"serve", "--addr", testserver.FreeAddr(t), "--tls-cert", "missing.pem", "--tls-key", "missing-key.pem", "--data", fresh}, 1, "load --tls-cert"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				// A failed start leaves the disk as it was.
				if _, err := os.Stat(fresh); !os.IsNotExist(err) {
					t.Errorf("the start failed but created %s", fresh)
				}
			}()
			if c.name == "unwritable data dir" && os.Geteuid() == 0 {
				// root ignores directory permissions; use a path under a file.
				f := filepath.Join(t.TempDir(), "file")
				os.WriteFile(f, nil, 0o600)
				c.args[len(c.args)-1] = filepath.Join(f, "sub")
			}
			cmd := exec.Command(bin, c.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), c.code, c.want)
			}
			if strings.Contains(stderr.String(), "WARN") {
				t.Errorf("a failed start warned: %s", stderr.String())
			}
		})
	}
}

// A second server on a data directory in use refuses to start, naming the
// directory and the process that has it, and leaves the first one alone;
// so does one that would share the first one's blob directory.
func TestServeDataDirInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	blobs := filepath.Join(t.TempDir(), "blobs")
	first := testserver.Start(t, testserver.Options{Args: []string{"--content-fs-root", blobs}})
	pid, err := os.ReadFile(filepath.Join(first.DataDir, "serve.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if comm, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/comm"); err != nil || !strings.HasPrefix(string(comm), "bulkhead") {
		t.Fatalf("serve.lock names pid %s, which is %q (%v)", pid, comm, err)
	}
	for name, args := range map[string][]string{
		"same data dir":  {"--data", first.DataDir},
		"same blob root": {"--data", t.TempDir(), "--content-fs-root", blobs},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(testserver.Binary(t), append([]string{"serve", "--addr", testserver.FreeAddr(t)}, args...)...)
			out, err := cmd.CombinedOutput()
			want := "is in use by bulkhead serve (pid " + strings.TrimSpace(string(pid)) + ")"
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
				t.Fatalf("second serve: %v\n%s\nwant exit 1 and %q", err, out, want)
			}
		})
	}
	if resp, err := first.Client.Get(first.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the first server after the refused second: %v %v", resp, err)
	}
}

// Health, metrics, bootstrap file, secret handling, graceful SIGTERM, and
// self-signed TLS.
func TestServeLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	const secret = "my-Bootstrap-secret-0123456789"
	srv := testserver.Start(t, testserver.Options{TLS: true, Env: []string{"BULKHEAD_BOOTSTRAP_SECRET=" + secret}})
	if srv.Boot.ClientSecret != secret {
		t.Fatalf("BULKHEAD_BOOTSTRAP_SECRET not honoured")
	}
	fi, err := os.Stat(filepath.Join(srv.DataDir, "bootstrap.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap.json mode %v, %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(srv.DataDir, "tls", "ca.pem")); err != nil {
		t.Fatal(err)
	}
	// The secret is stored hashed only.
	filepath.Walk(srv.DataDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(p) == "bootstrap.json" {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the plain secret", p)
		}
		return nil
	})
	srv.CreateRegistry(t, "life", "lifereg", "Basic")
	p := newPusher(srv)
	if _, err := p.pushImage("lifereg/app", "v1", []byte("layer")); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`bulkhead_http_requests_total{code="201",method="PUT",plane="data",route="v2/manifests"} 1`,
		`bulkhead_http_request_duration_seconds_bucket{method="PUT",plane="data",route="v2/manifests"`,
		`bulkhead_http_request_bytes_total{plane="data",route="v2/uploads"}`,
		`bulkhead_http_requests_total{code="201",method="PUT",plane="management",route="arm/registries/{name}"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(srv.Logs(), secret) {
		t.Error("the secret appears in the server log")
	}
	srv.Stop()
	if st := srv.Exited(); st == nil || st.ExitCode() != 0 {
		t.Fatalf("after SIGTERM: %v\n%s", st, srv.Logs())
	}
	// A restart keeps identity, registries and content, and the TLS CA.
	ca1, _ := os.ReadFile(filepath.Join(srv.DataDir, "tls", "ca.pem"))
	srv2 := testserver.Start(t, testserver.Options{TLS: true, DataDir: srv.DataDir})
	ca2, _ := os.ReadFile(filepath.Join(srv.DataDir, "tls", "ca.pem"))
	if srv2.Boot != srv.Boot || !bytes.Equal(ca1, ca2) {
		t.Fatal("restart changed the bootstrap identity or the CA")
	}
	resp2, b, err := newPusher(srv2).do("GET", "/v2/lifereg/app/tags/list", nil)
	if err != nil || resp2.StatusCode != 200 || !strings.Contains(string(b), "v1") {
		t.Fatalf("after restart: %v %s", err, b)
	}
}

// Abandoned uploads expire and their bytes are removed.
func TestUploadExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--upload-ttl", "2s"}})
	srv.CreateRegistry(t, "exp", "expreg", "Basic")
	p := newPusher(srv)
	loc, err := p.startUpload("expreg/app")
	if err != nil {
		t.Fatal(err)
	}
	if resp, b, err := p.do("PATCH", loc, bytes.Repeat([]byte("x"), 1000)); err != nil || resp.StatusCode != 202 {
		t.Fatalf("PATCH: %v %s", err, b)
	}
	uploads := filepath.Join(srv.DataDir, "content", "uploads")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, _, err := p.do("GET", loc, nil)
		entries, _ := os.ReadDir(uploads)
		if err == nil && resp.StatusCode == 404 && len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload not expired: status %d, %d files left", resp.StatusCode, len(entries))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
