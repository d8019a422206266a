package e2e

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// smallDisk starts a server whose content store and metadata database live
// on a tmpfs of the given size (a real filesystem that really fills up),
// mounted in a mount namespace of the server's own with unshare -rm: no
// root needed where user namespaces are allowed, and no mount left behind
// when the server exits. It returns the server and the mount point, which
// the test reads through /proc/<pid>/root.
func smallDisk(t *testing.T, size string, args ...string) (*testserver.Server, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a real server")
	}
	if runtime.GOOS != "linux" {
		t.Skip("mounts a tmpfs in a Linux mount namespace")
	}
	if out, err := exec.Command("unshare", "-rm", "true").CombinedOutput(); err != nil {
		msg := "a full disk is simulated with a tmpfs mounted under unshare -rm (util-linux), which needs user namespaces or root: " +
			strings.TrimSpace(string(out)) + " " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{
		Wrap: []string{"unshare", "-rm", "sh", "-c", `mount -t tmpfs -o size=` + size + ` bulkhead-e2e "$0" && exec "$@"`, dir},
		Args: append([]string{"--content-fs-root", filepath.Join(dir, "content"), "--meta-sqlite-path", filepath.Join(dir, "meta.db")}, args...),
	})
	return srv, dir
}

// freeBytes reads bulkhead_storage_free_bytes{volume} from /metrics.
func freeBytes(t *testing.T, srv *testserver.Server, volume string) int64 {
	t.Helper()
	resp, err := srv.Client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`bulkhead_storage_free_bytes\{volume="` + volume + `"\} (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no bulkhead_storage_free_bytes for volume %s", volume)
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return int64(f)
}

// numbered is a blob of n bytes that differs from every other i.
func numbered(i, n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint64(b, uint64(i)+1)
	return b
}

// TestFullDisk pushes into a registry whose disk really fills up (issue 8
// item 4): a push that hits ENOSPC is the server's problem (503
// UNAVAILABLE with Retry-After, which clients retry), not the client's
// (400); the failed upload is removed at once rather than after the upload
// TTL; the metric shows the space coming back; readiness fails below
// --min-free-space; and with the disk full, metadata writes fail as 503
// too, never as a 4xx or 500.
func TestFullDisk(t *testing.T) {
	srv, dir := smallDisk(t, "24m", "--min-free-space", "4MiB")
	srv.CreateRegistry(t, "disk", "diskreg", "Basic")
	p := newPusher(srv)
	uploads := filepath.Join("/proc", strconv.Itoa(srv.PID()), "root", dir, "content", "uploads")
	leftovers := func() []string {
		t.Helper()
		entries, err := os.ReadDir(uploads)
		if err != nil {
			t.Fatalf("reading the server's uploads directory: %v", err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	status := func(path string) int {
		resp, err := srv.Client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// full checks that an answer is the retryable full-disk answer.
	full := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		var env struct {
			Errors []struct{ Code string } `json:"errors"`
		}
		json.Unmarshal(body, &env)
		if resp.StatusCode != http.StatusServiceUnavailable || len(env.Errors) != 1 || env.Errors[0].Code != "UNAVAILABLE" ||
			resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s on a full disk: %d %s (Retry-After %q), want 503 UNAVAILABLE with Retry-After",
				what, resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	}
	if code := status("/readyz"); code != 200 {
		t.Fatalf("/readyz on an empty disk: %d", code)
	}
	big := numbered(0, 32<<20) // more than the whole disk

	// A monolithic push that fills the disk.
	before := freeBytes(t, srv, "content")
	resp, body, err := p.do("POST", "/v2/diskreg/app/blobs/uploads/?digest="+digestOf(big), big, "Content-Type", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	full("monolithic push", resp, body)
	if after := freeBytes(t, srv, "content"); after < before-(1<<20) || len(leftovers()) > 0 {
		t.Errorf("monolithic push: %d bytes free before, %d after, uploads left %v: the failed upload was not removed", before, after, leftovers())
	}

	// A chunked session that fills the disk is removed, bytes and session.
	loc, err := p.startUpload("diskreg/app")
	if err != nil {
		t.Fatal(err)
	}
	before = freeBytes(t, srv, "content")
	resp, body, err = p.do("PATCH", loc, big, "Content-Type", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	full("PATCH", resp, body)
	if after := freeBytes(t, srv, "content"); after < before-(1<<20) || len(leftovers()) > 0 {
		t.Errorf("PATCH: %d bytes free before, %d after, uploads left %v: the failed upload was not removed", before, after, leftovers())
	} else {
		t.Logf("a PATCH that filled the disk: %d bytes free before, %d after", before, after)
	}
	if resp, _, _ := p.do("GET", loc, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the failed session still answers %d, want 404", resp.StatusCode)
	}

	// Fill the disk to the last page with committed blobs.
	pushed := 0
	for _, size := range []int{1 << 20, 64 << 10, 4 << 10} {
		for {
			b := numbered(pushed+1, size)
			resp, body, err := p.do("POST", "/v2/diskreg/app/blobs/uploads/?digest="+digestOf(b), b, "Content-Type", "application/octet-stream")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusCreated {
				full("filling push", resp, body)
				break
			}
			pushed++
		}
	}
	t.Logf("filled the disk with %d blobs; %d bytes free", pushed, freeBytes(t, srv, "content"))
	if len(leftovers()) > 0 {
		t.Errorf("uploads left on a full disk: %v", leftovers())
	}
	if code := status("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full disk: %d, want 503", code)
	}
	if code := status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on a full disk: %d, want 200 (alive, just not ready)", code)
	}

	// With the disk full, metadata writes may still fit in pages SQLite
	// already holds; whatever does not must be 503, never the client's
	// fault or a 500.
	var codes []int
	for i := range 50 {
		resp, body, err := p.do("POST", "/v2/diskreg/app/blobs/uploads/", nil)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode != http.StatusAccepted {
			full("starting an upload", resp, body)
		}
		tag := map[string]any{"location": "westus", "tags": map[string]string{"n": strconv.Itoa(i), "pad": strings.Repeat("x", 200)}}
		code, b := srv.ARM(t, "PUT", "/subscriptions/"+srv.Boot.SubscriptionID+"/resourceGroups/disk"+strconv.Itoa(i)+"?api-version=2024-03-01", tag)
		codes = append(codes, code)
		if code >= 300 && code != http.StatusServiceUnavailable {
			t.Fatalf("ARM write on a full disk: %d %s, want success or 503", code, b)
		}
	}
	t.Logf("metadata writes on a full disk answered %v", codes)
}
