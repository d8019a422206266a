package e2e

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// TestCrashDuringPush kills a real server with SIGKILL while pushes are in
// flight, restarts it on the same data directory, and checks that every
// acknowledged blob and manifest is served intact and that nothing
// unacknowledged is half visible.
func TestCrashDuringPush(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a real server process")
	}
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	srv.CreateRegistry(t, "crash", "crashreg", "Premium")
	const name = "crashreg/app"

	// An upload session that must survive the crash.
	p := newPusher(srv)
	survivor := make([]byte, 200<<10)
	rand.Read(survivor)
	loc, err := p.startUpload(name)
	if err != nil {
		t.Fatal(err)
	}
	if resp, b, err := p.do("PATCH", loc, survivor[:100<<10], "Content-Range", fmt.Sprintf("0-%d", 100<<10-1)); err != nil || resp.StatusCode != 202 {
		t.Fatalf("PATCH before crash: %v %s", err, b)
	}

	type pushed struct {
		tag, digest string
		layer       []byte
	}
	var (
		mu        sync.Mutex
		acked     []pushed
		attempted [][]byte
		wg        sync.WaitGroup
		stop      = make(chan struct{})
	)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				layer := make([]byte, 300<<10+i)
				rand.Read(layer)
				mu.Lock()
				attempted = append(attempted, layer)
				mu.Unlock()
				tag := fmt.Sprintf("w%d-%d", w, i)
				d, err := p.pushImage(name, tag, layer)
				if err != nil {
					return // the server died under us
				}
				mu.Lock()
				acked = append(acked, pushed{tag, d, layer})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	srv.Kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no push completed before the crash; the test proves nothing")
	}

	srv2 := testserver.Start(t, testserver.Options{DataDir: dir})
	p2 := newPusher(srv2)
	for _, a := range acked {
		resp, body, err := p2.do("GET", "/v2/"+name+"/manifests/"+a.tag, nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		if err != nil || resp.StatusCode != 200 || digestOf(body) != a.digest {
			t.Fatalf("acknowledged manifest %s: %v %d", a.tag, err, resp.StatusCode)
		}
		resp, body, err = p2.do("GET", "/v2/"+name+"/blobs/"+digestOf(a.layer), nil)
		if err != nil || resp.StatusCode != 200 || digestOf(body) != digestOf(a.layer) {
			t.Fatalf("acknowledged layer of %s: %v %d", a.tag, err, resp.StatusCode)
		}
	}
	// Unacknowledged blobs are either absent or whole.
	for _, layer := range attempted {
		resp, body, err := p2.do("GET", "/v2/"+name+"/blobs/"+digestOf(layer), nil)
		if err != nil {
			t.Fatal(err)
		}
		switch resp.StatusCode {
		case http.StatusNotFound:
		case http.StatusOK:
			if digestOf(body) != digestOf(layer) {
				t.Fatalf("blob %s served with wrong content after crash", digestOf(layer))
			}
		default:
			t.Fatalf("blob after crash: status %d", resp.StatusCode)
		}
	}
	// The upload session started before the crash resumes where it was.
	resp, _, err := p2.do("GET", loc, nil)
	if err != nil || resp.StatusCode != http.StatusNoContent || resp.Header.Get("Range") != fmt.Sprintf("0-%d", 100<<10-1) {
		t.Fatalf("upload status after restart: %v %d %q", err, resp.StatusCode, resp.Header.Get("Range"))
	}
	if resp, b, err := p2.do("PATCH", loc, survivor[100<<10:], "Content-Range", fmt.Sprintf("%d-%d", 100<<10, len(survivor)-1)); err != nil || resp.StatusCode != 202 {
		t.Fatalf("PATCH after restart: %v %s", err, b)
	}
	if resp, b, err := p2.do("PUT", loc+"?digest="+digestOf(survivor), nil); err != nil || resp.StatusCode != 201 {
		t.Fatalf("PUT after restart: %v %s", err, b)
	}
	t.Logf("%d pushes acknowledged before SIGKILL, %d attempted; all acknowledged content served after restart", len(acked), len(attempted))
}
