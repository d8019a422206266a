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

// A data-plane token is bound to the registry and repository it was
// granted for: it opens nothing else, under any alias, and a registry
// deleted and created again under the same name starts empty.
func TestTokenScopeAndRecreate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
	srv.CreateRegistry(t, "tok", "tokalpha", "Premium")
	srv.CreateRegistry(t, "tok", "tokbeta", "Premium")
	p := newPusher(srv)
	layer := []byte("tokens layer")
	if _, err := p.pushImage("tokalpha/app", "v1", layer); err != nil {
		t.Fatal(err)
	}
	if _, err := p.pushImage("tokbeta/app", "v1", layer); err != nil {
		t.Fatal(err)
	}
	ld := digestOf(layer)
	getToken := func(host, scope string) string {
		service := host
		if host == "" {
			service = srv.Addr
		}
		req, _ := http.NewRequest("GET", srv.URL+"/oauth2/token?"+url.Values{"service": {service}, "scope": {scope}}.Encode(), nil)
		if host != "" {
			req.Host = host
		}
		req.SetBasicAuth(srv.Boot.ClientID, srv.Boot.ClientSecret)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		if resp.StatusCode != 200 || tok.AccessToken == "" {
			t.Fatalf("token: %d", resp.StatusCode)
		}
		return tok.AccessToken
	}
	try := func(method, host, path, tok string) int {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	pull := getToken("", "repository:tokalpha/app:pull")
	if c := try("GET", "", "/v2/tokalpha/app/blobs/"+ld, pull); c != 200 {
		t.Fatalf("granted pull: %d", c)
	}
	for _, c := range []struct{ method, host, path string }{
		{"GET", "", "/v2/tokbeta/app/blobs/" + ld},         // another registry
		{"GET", "", "/v2/tokalpha/other/blobs/" + ld},      // another repository
		{"DELETE", "", "/v2/tokalpha/app/manifests/v1"},    // an action not granted
		{"POST", "", "/v2/tokalpha/app/blobs/uploads/"},    // push not granted
		{"GET", "tokalpha.cr.test", "/v2/app/blobs/" + ld}, // host-mode alias: another audience
		{"GET", "tokbeta.cr.test", "/v2/app/blobs/" + ld},
	} {
		if code := try(c.method, c.host, c.path, pull); code != 401 {
			t.Errorf("%s %s (host %q) with a tokalpha/app pull token: %d, want 401", c.method, c.path, c.host, code)
		}
	}
	// The OAuth2 form of the token endpoint (docker login, acr-api.md
	// §10.1): grant_type=password, with a refresh token for access_type
	// offline, then grant_type=refresh_token.
	form := url.Values{"grant_type": {"password"}, "username": {srv.Boot.ClientID}, "password": {srv.Boot.ClientSecret},
		"service": {srv.Addr}, "scope": {"repository:tokalpha/app:pull"}, "access_type": {"offline"}, "client_id": {"docker"}}
	resp, err := srv.Client.PostForm(srv.URL+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var posted struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&posted)
	resp.Body.Close()
	if resp.StatusCode != 200 || posted.RefreshToken == "" || try("GET", "", "/v2/tokalpha/app/blobs/"+ld, posted.AccessToken) != 200 {
		t.Fatalf("password grant: %d %+v", resp.StatusCode, posted)
	}
	resp, err = srv.Client.PostForm(srv.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {posted.RefreshToken},
		"service": {srv.Addr}, "scope": {"repository:tokalpha/app:pull"}})
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&posted)
	resp.Body.Close()
	if resp.StatusCode != 200 || try("GET", "", "/v2/tokalpha/app/blobs/"+ld, posted.AccessToken) != 200 {
		t.Fatalf("refresh grant: %d", resp.StatusCode)
	}
	// A refresh token is not an access token, and a wrong password gets
	// no token at all.
	if try("GET", "", "/v2/tokalpha/app/blobs/"+ld, posted.RefreshToken) != 401 {
		t.Error("refresh token accepted as an access token")
	}
	form.Set("password", "wrong")
	if resp, err := srv.Client.PostForm(srv.URL+"/oauth2/token", form); err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong password: %v %d", err, resp.StatusCode)
	}

	// A host-mode token from beta's token endpoint opens beta's host only.
	beta := getToken("tokbeta.cr.test", "repository:app:pull")
	if c := try("GET", "tokbeta.cr.test", "/v2/app/blobs/"+ld, beta); c != 200 {
		t.Errorf("beta token on beta host: %d", c)
	}
	for _, c := range []struct{ host, path string }{
		{"tokalpha.cr.test", "/v2/app/blobs/" + ld},
		{"TOKALPHA.cr.test:1", "/v2/app/blobs/" + ld},
		{"", "/v2/tokbeta/app/blobs/" + ld},
		{"", "/v2/tokalpha/app/blobs/" + ld},
	} {
		if code := try("GET", c.host, c.path, beta); code != 401 {
			t.Errorf("beta token on %q %s: %d, want 401", c.host, c.path, code)
		}
	}

	// Delete alpha and create it again: nothing of the old one is visible.
	rgPath := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/tok/providers/Microsoft.ContainerRegistry/registries/tokalpha?api-version=2025-11-01"
	if code, b := srv.ARM(t, "DELETE", rgPath, nil); code != 202 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if code := try("GET", "", "/v2/tokalpha/app/blobs/"+ld, pull); code != 404 {
		t.Fatalf("deleted registry still serves: %d", code)
	}
	srv.CreateRegistry(t, "tok", "TokAlpha", "Premium")
	resp, _, err = p.do("HEAD", "/v2/tokalpha/app/blobs/"+ld, nil)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("recreated registry shows old blob: %v %d", err, resp.StatusCode)
	}
	resp, _, err = p.do("GET", "/v2/tokalpha/app/tags/list", nil)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("recreated registry shows old repository: %v %d", err, resp.StatusCode)
	}
}

// The path-mode catalog pages with n/last and Link headers and lists only
// <registry>/<repository> names.
func TestCatalogPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "cat", "catone", "Basic")
	srv.CreateRegistry(t, "cat", "cattwo", "Basic")
	p := newPusher(srv)
	for _, name := range []string{"catone/a", "catone/b/c", "cattwo/a", "cattwo/z"} {
		if err := p.pushChunked(name, []byte(name), 1024); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	next := "/v2/_catalog?n=3"
	for next != "" {
		resp, b, err := p.do("GET", next, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %s", next, err, b)
		}
		var c struct{ Repositories []string }
		json.Unmarshal(b, &c)
		got = append(got, c.Repositories...)
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = strings.TrimPrefix(strings.Split(l, ">")[0], "<")
		}
	}
	if strings.Join(got, ",") != "catone/a,catone/b/c,cattwo/a,cattwo/z" {
		t.Fatalf("catalog pages: %v", got)
	}
}
