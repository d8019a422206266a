package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/bulkhead-registry/bulkhead/internal/server"
)

// serveWith runs a server on cfg (with no-op planes) until the test ends
// and returns its base URL.
func serveWith(t *testing.T, args ...string) string {
	t.Helper()
	data := t.TempDir()
	cfg, err := config.Load(append([]string{"--data", data}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.Content.FSRoot, 0o700); err != nil {
		t.Fatal(err)
	}
	none := http.NotFoundHandler()
	srv := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		server.Planes{Data: none, Management: none, IsData: func(*http.Request) bool { return false }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()
	for range 100 {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
	}
	return base
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// GET /readyz fails while a local storage volume has less free space than
// --min-free-space, names the volume and the flag, and passes otherwise or
// when the check is off; GET /healthz (liveness) ignores free space.
func TestReadyzFreeSpace(t *testing.T) {
	for _, c := range []struct {
		min  string
		want int
	}{{"1", 200}, {"0", 200}, {"8000000TiB", 503}} {
		t.Run(c.min, func(t *testing.T) {
			base := serveWith(t, "--min-free-space", c.min)
			code, body := get(t, base+"/readyz")
			if code != c.want {
				t.Fatalf("/readyz with --min-free-space %s: %d %s, want %d", c.min, code, body, c.want)
			}
			if code == 503 && (!strings.Contains(body, "content") || !strings.Contains(body, "--min-free-space")) {
				t.Errorf("/readyz does not say which volume is low and why: %s", body)
			}
			if code, _ := get(t, base+"/healthz"); code != 200 {
				t.Errorf("/healthz: %d", code)
			}
		})
	}
}

// The free and total bytes of every local storage volume are Prometheus
// gauges, read at scrape time.
func TestSpaceMetrics(t *testing.T) {
	_, body := get(t, serveWith(t)+"/metrics")
	for _, volume := range []string{"data", "content", "meta"} {
		for _, name := range []string{"bulkhead_storage_free_bytes", "bulkhead_storage_size_bytes"} {
			m := regexp.MustCompile(name + `\{volume="` + volume + `"\} (\S+)`).FindStringSubmatch(body)
			if m == nil {
				t.Errorf("no %s for volume %s", name, volume)
				continue
			}
			if v, err := strconv.ParseFloat(m[1], 64); err != nil || v <= 0 {
				t.Errorf("%s{volume=%q} = %s", name, volume, m[1])
			}
		}
	}
}
