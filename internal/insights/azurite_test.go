package insights_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/insights"
	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// remoteAccount creates a storage account whose blob service is endpoint,
// with a shared key or a SAS token.
func (w *world) remoteAccount(name, endpoint, credProp, cred string) string {
	w.t.Helper()
	id := accountPath(name)
	w.do(owner, "PUT", id+sv, `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus","properties":{"bulkheadBlobEndpoint":"`+
		endpoint+`","`+credProp+`":"`+cred+`"}}`).expect(w.t, 200, "")
	return id
}

// download reads a blob of the layout from Azurite ("" when absent).
func download(t testing.TB, az *testserver.Azurite, category string, at time.Time) []byte {
	t.Helper()
	name, blob := audit.BlobPath(category, regID, at)
	return downloadBlob(t, az, name, blob)
}

func downloadBlob(t testing.TB, az *testserver.Azurite, name, blob string) []byte {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(az.Account, az.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(az.BlobEndpoint+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.NewBlobClient(blob).DownloadStream(context.Background(), nil)
	if err != nil {
		if strings.Contains(err.Error(), "BlobNotFound") || strings.Contains(err.Error(), "ContainerNotFound") {
			return nil
		}
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Against a real blob service: append blobs created on demand (container
// too), copied exactly once across restarts and lost cursor writes.
func TestShipAzurite(t *testing.T) {
	az := testserver.StartAzurite(t)
	w := newWorld(t)
	w.createSetting("s1", w.remoteAccount("azuritesink", az.BlobEndpoint, "bulkheadAccountKey", az.Key))
	at := time.Now().UTC()
	src := streamFile(w.auditDir, at)
	appendRecords(t, w.auditDir, at, 0, 10)
	s := w.shipper(insights.ShipperOptions{PublicKey: []byte("-----BEGIN PUBLIC KEY-----\n")})
	ship(t, s)
	if got := download(t, az, audit.CategoryRepository, at); !bytes.Equal(got, readFile(t, src)) {
		t.Fatalf("first pass: %q", got)
	}
	if got := downloadBlob(t, az, audit.Container(audit.CategoryRepository), "public-key.pem"); string(got) != "-----BEGIN PUBLIC KEY-----\n" {
		t.Fatalf("public key in the container: %q", got)
	}
	s = w.shipper(insights.ShipperOptions{})
	appendRecords(t, w.auditDir, at, 10, 5)
	ship(t, s)
	ship(t, s)
	if got := download(t, az, audit.CategoryRepository, at); !bytes.Equal(got, readFile(t, src)) {
		t.Fatalf("after a restart: %d bytes, want %d", len(got), len(readFile(t, src)))
	}
	cursors := filepath.Join(w.auditDir, "cursors")
	saved := snapshot(t, cursors)
	appendRecords(t, w.auditDir, at, 15, 5)
	ship(t, s)
	restore(t, cursors, saved)
	s = w.shipper(insights.ShipperOptions{})
	appendRecords(t, w.auditDir, at, 20, 5)
	ship(t, s)
	if got := download(t, az, audit.CategoryRepository, at); !bytes.Equal(got, readFile(t, src)) {
		t.Fatalf("after a lost cursor write: %d bytes, want %d", len(got), len(readFile(t, src)))
	}
}

// A container SAS token works as well, and never shows in a log.
func TestShipAzuriteSAS(t *testing.T) {
	az := testserver.StartAzurite(t)
	name := audit.Container(audit.CategoryRepository)
	az.CreateContainer(t, name)
	token := az.ContainerSAS(t, name, sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true}, time.Now().Add(time.Hour))
	w := newWorld(t)
	w.createSetting("s1", w.remoteAccount("sassink", az.BlobEndpoint, "bulkheadSasToken", token))
	w.createSetting("s2", w.remoteAccount("deadsink", "http://127.0.0.1:1/devstoreaccount1", "bulkheadSasToken", token))
	at := time.Now().UTC()
	appendRecords(t, w.auditDir, at, 0, 10)
	var logs bytes.Buffer
	s := w.shipper(insights.ShipperOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Timeout: 2 * time.Second})
	ship(t, s)
	if got := download(t, az, audit.CategoryRepository, at); !bytes.Equal(got, readFile(t, streamFile(w.auditDir, at))) {
		t.Fatalf("copy with a SAS token: %q", got)
	}
	sig, _ := url.ParseQuery(token)
	if !strings.Contains(logs.String(), "deadsink") || strings.Contains(logs.String(), sig.Get("sig")) {
		t.Fatalf("the unreachable destination's warning:\n%s", logs.String())
	}
}

// gate stands between the shipper and Azurite: open, refusing (503) or
// hanging until the request gives up.
type gate struct {
	mu    sync.Mutex
	mode  string
	proxy *httputil.ReverseProxy
}

func (g *gate) set(mode string) { g.mu.Lock(); g.mode = mode; g.mu.Unlock() }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	mode := g.mode
	g.mu.Unlock()
	switch mode {
	case "refuse":
		w.Header().Set("x-ms-error-code", "ServerBusy")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	default:
		g.proxy.ServeHTTP(w, r)
	}
}

// A destination that is down or hangs only falls behind, within one
// buffer, and catches up when it is back.
func TestShipAzuriteBlocked(t *testing.T) {
	az := testserver.StartAzurite(t)
	u, _ := url.Parse(az.BlobEndpoint)
	u.Path = ""
	g := &gate{mode: "refuse", proxy: httputil.NewSingleHostReverseProxy(u)}
	front := httptest.NewServer(g)
	t.Cleanup(front.Close)
	w := newWorld(t)
	w.createSetting("s1", w.remoteAccount("gatedsink", front.URL+"/"+az.Account, "bulkheadAccountKey", az.Key))
	clock := time.Now()
	var logs bytes.Buffer
	s := w.shipper(insights.ShipperOptions{Now: func() time.Time { return clock }, Timeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	at := time.Now().UTC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc
	for i := 0; i < 100_000; i += 10_000 {
		if i == 80_000 {
			g.set("hang")
		}
		appendRecords(t, w.auditDir, at, i, 10_000)
		began := time.Now()
		ship(t, s)
		if d := time.Since(began); d > 5*time.Second {
			t.Fatalf("a pass over a hanging destination took %s", d)
		}
		clock = clock.Add(2 * time.Minute)
	}
	runtime.GC()
	runtime.ReadMemStats(&m)
	if st := s.Stats(); st.Failures != 10 || st.Appends != 0 {
		t.Fatalf("stats while blocked: %+v", st)
	}
	if grew := int64(m.HeapAlloc) - int64(base); grew > 16<<20 {
		t.Fatalf("the heap grew by %d MiB while the destination was down", grew>>20)
	}
	if n := strings.Count(logs.String(), "the destination fails"); n != 1 {
		t.Fatalf("%d warnings for one outage:\n%s", n, logs.String())
	}
	g.set("open")
	want := readFile(t, streamFile(w.auditDir, at))
	// It catches up; on a loaded machine an append may still miss the
	// short timeout, and is tried again after its backoff.
	for range 20 {
		clock = clock.Add(2 * time.Minute)
		ship(t, s)
		if s.Stats().Bytes == int64(len(want)) {
			break
		}
	}
	if got := download(t, az, audit.CategoryRepository, at); !bytes.Equal(got, want) {
		t.Fatalf("after the outage: %d bytes of %d", len(got), len(want))
	}
	if st := s.Stats(); st.Appends < 5 {
		t.Fatalf("stats %+v for %d bytes", st, len(want))
	}
	os.RemoveAll(w.auditDir) // 25 MB
}
