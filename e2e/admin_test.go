package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// The admin user (adminUserEnabled, listCredentials) works on the data
// plane as in ACR: HTTP Basic with the registry name and either password,
// directly on /v2 or through /oauth2/token, for its own registry only.
func TestAdminUser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--login-server-suffix", ".cr.test"}})
	srv.CreateRegistry(t, "adm", "AdminOne", "Basic")
	srv.CreateRegistry(t, "adm", "admintwo", "Basic")
	arm := newARM(t, srv)
	reg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/adm/providers/Microsoft.ContainerRegistry/registries/"
	const v = "?api-version=2025-11-01"
	sp := newPusher(srv)
	if _, err := sp.pushImage("admintwo/app", "v1", []byte("two's layer")); err != nil {
		t.Fatal(err)
	}
	setAdmin := func(name string, on bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"properties": map[string]any{"adminUserEnabled": on}})
		if code, m := arm.do("PATCH", reg+name+v, string(body)); code/100 != 2 || dig(m, "properties", "adminUserEnabled") != on {
			t.Fatalf("PATCH adminUserEnabled=%v: %d %v", on, code, m)
		}
	}
	credentials := func(name, action, body string) (string, []string) {
		t.Helper()
		code, m := arm.do("POST", reg+name+"/"+action+v, body)
		if code != 200 {
			t.Fatalf("%s: %d %v", action, code, m)
		}
		user, _ := m["username"].(string)
		var pw []string
		for _, p := range m["passwords"].([]any) {
			pw = append(pw, p.(map[string]any)["value"].(string))
		}
		return user, pw
	}
	setAdmin("AdminOne", true)
	user, pw := credentials("AdminOne", "listCredentials", "")
	if user != "AdminOne" || len(pw) != 2 || pw[0] == pw[1] {
		t.Fatalf("credentials %q %d", user, len(pw))
	}
	admin := &pusher{base: srv.URL, user: user, pass: pw[0], client: srv.Client}
	layer := []byte("one's layer")
	if _, err := admin.pushImage("adminone/app", "v1", layer); err != nil {
		t.Fatalf("admin push: %v", err)
	}
	second := &pusher{base: srv.URL, user: "adminone", pass: pw[1], client: srv.Client}
	status := func(p *pusher, method, path string, hdr ...string) int {
		t.Helper()
		resp, _, err := p.do(method, path, nil, hdr...)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if c := status(second, "GET", "/v2/adminone/app/manifests/v1", "Accept", "application/vnd.oci.image.manifest.v1+json"); c != 200 {
		t.Fatalf("password2 pull: %d", c)
	}
	// Another registry: known caller, not allowed, so 403 DENIED, in path
	// mode and in host mode; the admin's own registry works in host mode.
	if c := status(admin, "GET", "/v2/admintwo/app/manifests/v1"); c != 403 {
		t.Errorf("admin of one pulling from two: %d, want 403", c)
	}
	if c := status(admin, "POST", "/v2/admintwo/app/blobs/uploads/"); c != 403 {
		t.Errorf("admin of one pushing to two: %d, want 403", c)
	}
	hostGet := func(host, path, user, pass string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = host
		req.SetBasicAuth(user, pass)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := hostGet("adminone.cr.test", "/v2/app/tags/list", user, pw[0]); c != 200 {
		t.Errorf("host mode, own registry: %d", c)
	}
	if c := hostGet("admintwo.cr.test", "/v2/app/tags/list", user, pw[0]); c != 403 {
		t.Errorf("host mode, other registry: %d, want 403", c)
	}
	// The catalog lists the admin's registry only.
	resp, body, err := admin.do("GET", "/v2/_catalog", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("catalog: %v %d", err, resp.StatusCode)
	}
	var cat struct{ Repositories []string }
	json.Unmarshal(body, &cat)
	if len(cat.Repositories) != 1 || cat.Repositories[0] != "adminone/app" {
		t.Errorf("admin catalog %v", cat.Repositories)
	}
	// The token endpoint grants the admin's registry and nothing else.
	token := func(user, pass, scope string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/oauth2/token?"+url.Values{"service": {srv.Addr}, "scope": {scope}}.Encode(), nil)
		req.SetBasicAuth(user, pass)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		return resp.StatusCode, tok.AccessToken
	}
	bearer := func(tok, path string) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, own := token(user, pw[0], "repository:adminone/app:pull")
	if c := bearer(own, "/v2/adminone/app/tags/list"); c != 200 {
		t.Errorf("admin token on own registry: %d", c)
	}
	_, other := token(user, pw[0], "repository:admintwo/app:pull")
	if c := bearer(other, "/v2/admintwo/app/tags/list"); c != 401 {
		t.Errorf("admin token asked for another registry: %d, want 401", c)
	}
	// Wrong passwords and look-alike names fail authentication.
	for _, bad := range [][2]string{{user, "wrong"}, {"admintwo", pw[0]}, {"adminon", pw[0]}, {"adminone ", pw[0]}} {
		if c := status(&pusher{base: srv.URL, user: bad[0], pass: bad[1], client: srv.Client}, "GET", "/v2/adminone/app/tags/list"); c != 401 {
			t.Errorf("user %q: %d, want 401", bad[0], c)
		}
		if c, _ := token(bad[0], bad[1], "repository:adminone/app:pull"); c != 401 {
			t.Errorf("token for user %q: %d, want 401", bad[0], c)
		}
	}
	// Regenerating password replaces it at once; password2 keeps working.
	_, regen := credentials("AdminOne", "regenerateCredential", `{"name":"password"}`)
	if regen[0] == pw[0] || regen[1] != pw[1] {
		t.Fatal("regenerateCredential did not replace password only")
	}
	if c := status(admin, "GET", "/v2/adminone/app/tags/list"); c != 401 {
		t.Errorf("regenerated password still accepted: %d", c)
	}
	if c := status(second, "GET", "/v2/adminone/app/tags/list"); c != 200 {
		t.Errorf("password2 after regenerating password: %d", c)
	}
	// Disabling the admin user shuts it out.
	setAdmin("AdminOne", false)
	if c := status(second, "GET", "/v2/adminone/app/tags/list"); c != 401 {
		t.Errorf("disabled admin user accepted: %d", c)
	}
	// A token of the admin user does not survive its registry: a new
	// registry of the same name is not opened by it.
	if code, b := srv.ARM(t, "DELETE", reg+"AdminOne"+v, nil); code != 202 {
		t.Fatalf("delete: %d %s", code, b)
	}
	srv.CreateRegistry(t, "adm", "adminone", "Basic")
	if _, err := sp.pushImage("adminone/app", "v2", []byte("new one's layer")); err != nil {
		t.Fatal(err)
	}
	if c := bearer(own, "/v2/adminone/app/tags/list"); c != 401 && c != 403 {
		t.Errorf("old admin token on a recreated registry: %d", c)
	}
}
