package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// Registries are isolated by construction (DESIGN.md rule 2): the same
// bytes on disk for registry A are invisible through registry B under
// every alias, a cross-registry mount is a fresh upload, and listings never
// show another registry's names.
func TestIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
	srv.CreateRegistry(t, "iso", "isoalpha", "Premium")
	srv.CreateRegistry(t, "iso", "isobeta", "Premium")
	p := newPusher(srv)
	layer := []byte("alpha's secret layer")
	d, err := p.pushImage("isoalpha/app", "v1", layer)
	if err != nil {
		t.Fatal(err)
	}
	ld := digestOf(layer)

	// Aliases of registry beta: path mode with any casing of the name,
	// and host mode through the Host header (with and without a port,
	// upper-case).
	_, port, _ := net.SplitHostPort(srv.Addr)
	type alias struct {
		host, prefix string
	}
	aliases := []alias{
		{"", "/v2/isobeta/app"},
		{"isobeta.cr.test", "/v2/app"},
		{"ISOBETA.CR.TEST:" + port, "/v2/app"},
	}
	get := func(method, host, path string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if host != "" {
			req.Host = host
		}
		req.SetBasicAuth(srv.Boot.ClientID, srv.Boot.ClientSecret)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, a := range aliases {
		for _, path := range []string{a.prefix + "/blobs/" + ld, a.prefix + "/manifests/" + d, a.prefix + "/manifests/v1"} {
			for _, m := range []string{"GET", "HEAD"} {
				resp := get(m, a.host, path)
				resp.Body.Close()
				if resp.StatusCode != 404 {
					t.Fatalf("%s %s (host %q): %d, want 404", m, path, a.host, resp.StatusCode)
				}
			}
		}
		// Mount from alpha into beta: must be a fresh upload (202).
		for _, from := range []string{"isoalpha/app", "app"} {
			q := url.Values{"mount": {ld}, "from": {from}}
			resp := get("POST", a.host, a.prefix+"/blobs/uploads/?"+q.Encode())
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("cross-registry mount from %s (host %q): %d, want 202", from, a.host, resp.StatusCode)
			}
		}
		// Spoofed forwarding headers change nothing.
		resp := get("GET", a.host, a.prefix+"/blobs/"+ld, "X-Forwarded-Host", "isoalpha.cr.test", "X-Original-URL", "/v2/isoalpha/app/blobs/"+ld)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("spoofed headers: %d", resp.StatusCode)
		}
	}
	// After the failed mounts, beta still does not see the blob.
	if resp := get("HEAD", "", "/v2/isobeta/app/blobs/"+ld); resp.StatusCode != 404 {
		t.Fatalf("blob visible in beta after mount attempts: %d", resp.StatusCode)
	}
	// Host-mode catalog of beta is empty; of alpha lists app.
	for host, want := range map[string]string{"isobeta.cr.test": "", "isoalpha.cr.test": "app"} {
		resp := get("GET", host, "/v2/_catalog")
		var c struct{ Repositories []string }
		json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if strings.Join(c.Repositories, ",") != want {
			t.Fatalf("catalog of %s: %v", host, c.Repositories)
		}
	}
	// Tags of beta's same-named repository are unknown.
	if resp := get("GET", "isobeta.cr.test", "/v2/app/tags/list"); resp.StatusCode != 404 {
		t.Fatalf("tags list in beta: %d", resp.StatusCode)
	}
	// Same-registry mount works (201).
	q := url.Values{"mount": {ld}, "from": {"isoalpha/app"}}
	if resp := get("POST", "", "/v2/isoalpha/copy/blobs/uploads/?"+q.Encode()); resp.StatusCode != http.StatusCreated {
		t.Fatalf("same-registry mount: %d", resp.StatusCode)
	}
}
