package e2e

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// Online garbage collection deletes the bytes of blobs that no registry
// references any more (blob delete, registry delete) while the server keeps
// serving, and never the bytes another registry still links or a push
// brings back.
func TestGarbageCollection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--gc-interval", "200ms", "--gc-grace", "1s"}})
	srv.CreateRegistry(t, "gc", "gcalpha", "Basic")
	srv.CreateRegistry(t, "gc", "gcbeta", "Basic")
	p := newPusher(srv)
	shared, unique, deleted, revived := []byte("in both registries"), []byte("only in alpha"), []byte("deleted from beta"), []byte("alpha's, pushed again to beta")
	for _, push := range []struct {
		repo string
		blob []byte
	}{{"gcalpha/app", shared}, {"gcbeta/app", shared}, {"gcalpha/app", unique}, {"gcbeta/app", deleted}, {"gcalpha/app", revived}} {
		if err := p.pushChunked(push.repo, push.blob, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	onDisk := func(b []byte) bool {
		hex := strings.TrimPrefix(digestOf(b), "sha256:")
		_, err := os.Stat(filepath.Join(srv.DataDir, "content", "blobs", "sha256", hex[:2], hex))
		return err == nil
	}
	status := func(method, path string) int {
		t.Helper()
		resp, _, err := p.do(method, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if c := status("DELETE", "/v2/gcbeta/app/blobs/"+digestOf(deleted)); c != 202 {
		t.Fatalf("blob delete: %d", c)
	}
	reg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/gc/providers/Microsoft.ContainerRegistry/registries/gcalpha?api-version=2025-11-01"
	if code, b := srv.ARM(t, "DELETE", reg, nil); code != 202 {
		t.Fatalf("registry delete: %d %s", code, b)
	}
	// The same bytes as one of alpha's blobs are pushed to beta right
	// away, racing the collector.
	if err := p.pushChunked("gcbeta/app", revived, 1<<20); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for onDisk(unique) || onDisk(deleted) {
		if time.Now().After(deadline) {
			t.Fatalf("unreferenced blobs still on disk: unique %v, deleted %v", onDisk(unique), onDisk(deleted))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A few more collections pass; what beta links stays on disk and
	// pullable.
	time.Sleep(1500 * time.Millisecond)
	for name, b := range map[string][]byte{"shared": shared, "revived": revived} {
		if !onDisk(b) {
			t.Errorf("%s blob deleted from disk", name)
		}
		resp, body, err := p.do("GET", "/v2/gcbeta/app/blobs/"+digestOf(b), nil)
		if err != nil || resp.StatusCode != 200 || string(body) != string(b) {
			t.Errorf("%s blob from beta: %v %d", name, err, resp.StatusCode)
		}
	}
	resp, err := srv.Client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Two blobs at least: the revived one may have gone too, before its
	// second push brought it back.
	n := 0
	if m := regexp.MustCompile(`(?m)^bulkhead_gc_blobs_deleted_total (\d+)$`).FindStringSubmatch(string(metrics)); m != nil {
		n, _ = strconv.Atoi(m[1])
	}
	if n < 2 || !strings.Contains(string(metrics), `bulkhead_gc_runs_total{outcome="ok"}`) {
		t.Errorf("gc metrics missing:\n%s", grepLines(string(metrics), "bulkhead_gc"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
