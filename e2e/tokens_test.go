package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// Repository-scoped tokens and scope maps: a token signs in with HTTP
// Basic (directly or through /oauth2/token) and may do what its scope map
// grants, in its own registry only; its passwords are shown once.
func TestRepositoryTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "tok", "tokreg", "Basic")
	srv.CreateRegistry(t, "tok", "tokother", "Basic")
	arm := newARM(t, srv)
	regID := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/tok/providers/Microsoft.ContainerRegistry/registries/tokreg"
	otherID := strings.Replace(regID, "tokreg", "tokother", 1)
	const v = "?api-version=2023-07-01"
	sp := newPusher(srv)
	for _, repo := range []string{"tokreg/app", "tokreg/other", "tokother/app"} {
		if _, err := sp.pushImage(repo, "v1", []byte(repo+" layer")); err != nil {
			t.Fatal(err)
		}
	}
	if code, m := arm.do("PUT", regID+"/scopeMaps/app-read"+v, `{"properties":{"description":"CI","actions":[
		"repositories/app/content/read","repositories/team/*/content/read","repositories/team/*/content/write"]}}`); code != 201 || dig(m, "properties", "type") != "UserDefined" {
		t.Fatalf("scope map: %d %v", code, m)
	}
	if code, m := arm.do("PUT", regID+"/tokens/ci-bot"+v, `{"properties":{"scopeMapId":"`+regID+`/scopeMaps/app-read"}}`); code != 201 || dig(m, "properties", "status") != "enabled" {
		t.Fatalf("token: %d %v", code, m)
	}
	generate := func(regID, body string) []string {
		t.Helper()
		code, m := arm.do("POST", regID+"/generateCredentials"+v, body)
		if code != 200 || m["username"] != "ci-bot" {
			t.Fatalf("generateCredentials: %d %v", code, m)
		}
		var out []string
		for _, p := range m["passwords"].([]any) {
			out = append(out, p.(map[string]any)["value"].(string))
		}
		return out
	}
	pw := generate(regID, `{"tokenId":"`+regID+`/tokens/ci-bot"}`)
	if len(pw) != 2 || pw[0] == pw[1] {
		t.Fatalf("passwords %v", pw)
	}
	if _, m := arm.do("GET", regID+"/tokens/ci-bot"+v, ""); strings.Contains(mustJSON(m), pw[0]) || len(dig(m, "properties", "credentials", "passwords").([]any)) != 2 {
		t.Fatalf("token shows its password or lacks their metadata: %v", m)
	}
	bot := func(pass string) *pusher {
		return &pusher{base: srv.URL, user: "ci-bot", pass: pass, client: srv.Client}
	}
	status := func(p *pusher, method, path string) int {
		t.Helper()
		resp, _, err := p.do(method, path, nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v2/", 200}, // docker login in path mode
		{"GET", "/v2/tokreg/app/manifests/v1", 200},
		{"GET", "/v2/tokreg/other/manifests/v1", 403},
		{"POST", "/v2/tokreg/app/blobs/uploads/", 403},
		{"POST", "/v2/tokreg/team/b/blobs/uploads/", 202},
		{"DELETE", "/v2/tokreg/app/manifests/v1", 403},
		{"GET", "/v2/tokother/app/manifests/v1", 401}, // another registry's token of that name does not exist
	} {
		for i, p := range pw {
			if got := status(bot(p), c.method, c.path); got != c.want {
				t.Errorf("password%d: %s %s: %d, want %d", i+1, c.method, c.path, got, c.want)
			}
		}
	}
	// Through the token endpoint: only the granted actions.
	req, _ := http.NewRequest("GET", srv.URL+"/oauth2/token?"+url.Values{"service": {srv.Addr}, "scope": {"repository:tokreg/app:pull,push"}}.Encode(), nil)
	req.SetBasicAuth("ci-bot", pw[0])
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	bearer := func(method, path string) int {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if resp.StatusCode != 200 || bearer("GET", "/v2/tokreg/app/manifests/v1") != 200 || bearer("POST", "/v2/tokreg/app/blobs/uploads/") != 401 {
		t.Errorf("token endpoint grant for a repository token: %d", resp.StatusCode)
	}
	// A same-named token of another registry has its own passwords.
	if code, _ := arm.do("PUT", otherID+"/tokens/ci-bot"+v, `{"properties":{"scopeMapId":"`+otherID+`/scopeMaps/_repositories_pull"}}`); code != 201 {
		t.Fatalf("second token: %d", code)
	}
	otherPW := generate(otherID, `{"tokenId":"`+otherID+`/tokens/ci-bot","name":"password1"}`)
	if len(otherPW) != 1 || status(bot(otherPW[0]), "GET", "/v2/tokother/app/manifests/v1") != 200 || status(bot(otherPW[0]), "GET", "/v2/tokreg/app/manifests/v1") != 401 {
		t.Error("tokens of the same name in two registries mixed up")
	}
	// Disable, enable, regenerate, delete: each takes effect at once.
	arm.do("PATCH", regID+"/tokens/ci-bot"+v, `{"properties":{"status":"disabled"}}`)
	if got := status(bot(pw[0]), "GET", "/v2/tokreg/app/manifests/v1"); got != 401 {
		t.Errorf("disabled token: %d", got)
	}
	arm.do("PATCH", regID+"/tokens/ci-bot"+v, `{"properties":{"status":"enabled"}}`)
	fresh := generate(regID, `{"tokenId":"`+regID+`/tokens/ci-bot","name":"password1"}`)
	for p, want := range map[string]int{pw[0]: 401, fresh[0]: 200, pw[1]: 200} {
		if got := status(bot(p), "GET", "/v2/tokreg/app/manifests/v1"); got != want {
			t.Errorf("after regenerating password1: %d, want %d", got, want)
		}
	}
	if code, m := arm.do("DELETE", regID+"/scopeMaps/app-read"+v, ""); code != 409 {
		t.Errorf("delete a scope map in use: %d %v", code, m)
	}
	if code, m := arm.do("GET", regID+"/scopeMaps"+v, ""); code != 200 || len(m["value"].([]any)) != 6 {
		t.Errorf("scope maps: %d %v", code, m)
	}
	if code, _ := arm.do("DELETE", regID+"/tokens/ci-bot"+v, ""); code != 202 {
		t.Errorf("delete token: %d", code)
	}
	if got := status(bot(pw[1]), "GET", "/v2/tokreg/app/manifests/v1"); got != 401 {
		t.Errorf("deleted token: %d", got)
	}
	// Bad input.
	for _, c := range []struct{ name, method, path, body, code string }{
		{"bad action", "PUT", regID + "/scopeMaps/badmap" + v, `{"properties":{"actions":["repositories/app/everything"]}}`, "InvalidRequestContent"},
		{"no actions", "PUT", regID + "/scopeMaps/badmap" + v, `{"properties":{"actions":[]}}`, "InvalidRequestContent"},
		{"system scope map", "DELETE", regID + "/scopeMaps/_repositories_pull" + v, ``, "SystemScopeMapReadOnly"},
		{"bad scope map name", "PUT", regID + "/scopeMaps/a" + v, `{"properties":{"actions":["repositories/app/content/read"]}}`, "InvalidResourceName"},
		{"unknown scope map", "PUT", regID + "/tokens/newtoken" + v, `{"properties":{"scopeMapId":"` + regID + `/scopeMaps/nosuch"}}`, "ScopeMapNotFound"},
		{"another registry's scope map", "PUT", regID + "/tokens/newtoken" + v, `{"properties":{"scopeMapId":"` + otherID + `/scopeMaps/_repositories_pull"}}`, "InvalidRequestContent"},
		{"bad status", "PUT", regID + "/tokens/newtoken" + v, `{"properties":{"scopeMapId":"` + regID + `/scopeMaps/_repositories_pull","status":"maybe"}}`, "InvalidRequestContent"},
		{"token named like a client id", "PUT", regID + "/tokens/6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b" + v, `{"properties":{"scopeMapId":"` + regID + `/scopeMaps/_repositories_pull"}}`, "InvalidResourceName"},
		{"bad token name", "PUT", regID + "/tokens/bad_name" + v, `{"properties":{"scopeMapId":"` + regID + `/scopeMaps/_repositories_pull"}}`, "InvalidResourceName"},
		{"bad password name", "POST", regID + "/generateCredentials" + v, `{"tokenId":"` + otherID + `/tokens/ci-bot","name":"password3"}`, "InvalidRequestContent"},
		{"another registry's token", "POST", regID + "/generateCredentials" + v, `{"tokenId":"` + otherID + `/tokens/ci-bot"}`, "InvalidRequestContent"},
		{"unknown token", "GET", regID + "/tokens/nosuchtoken" + v, ``, "ResourceNotFound"},
	} {
		if code, m := arm.do(c.method, c.path, c.body); code/100 != 4 || dig(m, "error", "code") != c.code {
			t.Errorf("%s: %d %v, want %s", c.name, code, m, c.code)
		}
	}
}

// A caller that may push may cancel the upload sessions it opens (issue 8
// item 11): podman and regctl DELETE the session a refused cross-registry
// mount hands them, and CI often holds a push-only token (a scope map with
// only content/write, or a Bearer token for repository:x:push). Deleting
// content still needs delete.
func TestPushOnlyCancelsUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "push", "pushreg", "Basic")
	srv.CreateRegistry(t, "push", "pushsrc", "Basic")
	arm := newARM(t, srv)
	regID := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/push/providers/Microsoft.ContainerRegistry/registries/pushreg"
	const v = "?api-version=2023-07-01"
	layer := []byte("push-only layer")
	if _, err := newPusher(srv).pushImage("pushsrc/app", "v1", layer); err != nil {
		t.Fatal(err)
	}
	if code, m := arm.do("PUT", regID+"/scopeMaps/app-write"+v, `{"properties":{"actions":["repositories/app/content/write"]}}`); code != 201 {
		t.Fatalf("scope map: %d %v", code, m)
	}
	if code, m := arm.do("PUT", regID+"/tokens/ci-push"+v, `{"properties":{"scopeMapId":"`+regID+`/scopeMaps/app-write"}}`); code != 201 {
		t.Fatalf("token: %d %v", code, m)
	}
	code, m := arm.do("POST", regID+"/generateCredentials"+v, `{"tokenId":"`+regID+`/tokens/ci-push","name":"password1"}`)
	if code != 200 {
		t.Fatalf("generateCredentials: %d %v", code, m)
	}
	pass := m["passwords"].([]any)[0].(map[string]any)["value"].(string)

	// send answers one request with Basic (token "") or Bearer credentials.
	send := func(token, method, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token == "" {
			req.SetBasicAuth("ci-push", pass)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	bearer := func(scope string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/oauth2/token?"+url.Values{"service": {srv.Addr}, "scope": {scope}}.Encode(), nil)
		req.SetBasicAuth("ci-push", pass)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
			t.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
		}
		return tok.AccessToken
	}
	for _, c := range []struct{ name, token, start string }{
		{"basic", "", "/v2/pushreg/app/blobs/uploads/"},
		{"bearer push", bearer("repository:pushreg/app:push"), "/v2/pushreg/app/blobs/uploads/"},
		{"bearer pull,push", bearer("repository:pushreg/app:pull,push"), "/v2/pushreg/app/blobs/uploads/"},
		// The podman/regctl flow: the cross-registry mount is refused with a
		// fresh session, which the client then cancels.
		{"refused mount", bearer("repository:pushreg/app:push"), "/v2/pushreg/app/blobs/uploads/?mount=" + digestOf(layer) + "&from=pushsrc/app"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := send(c.token, "POST", c.start)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != 202 || loc == "" {
				t.Fatalf("POST: %d, want 202 with a Location", resp.StatusCode)
			}
			if resp := send(c.token, "DELETE", loc); resp.StatusCode != 204 {
				t.Fatalf("DELETE own upload: %d %q, want 204", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if resp := send(c.token, "PATCH", loc); resp.StatusCode != 404 {
				t.Errorf("PATCH after cancel: %d, want 404", resp.StatusCode)
			}
		})
	}
	// A pull-only Bearer caller is asked for push, the action cancelling
	// needs, not for delete.
	loc := send("", "POST", "/v2/pushreg/app/blobs/uploads/").Header.Get("Location")
	resp := send(bearer("repository:pushreg/app:pull"), "DELETE", loc)
	if want := `scope="repository:pushreg/app:pull,push"`; resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
		t.Errorf("pull-only cancel: %d %q, want 401 asking for %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	// Deleting content still needs delete.
	if _, err := newPusher(srv).pushImage("pushreg/app", "v1", layer); err != nil {
		t.Fatal(err)
	}
	if resp := send("", "DELETE", "/v2/pushreg/app/blobs/"+digestOf(layer)); resp.StatusCode != 403 {
		t.Errorf("push-only blob DELETE (Basic): %d, want 403", resp.StatusCode)
	}
	resp = send(bearer("repository:pushreg/app:push"), "DELETE", "/v2/pushreg/app/manifests/v1")
	if want := `scope="repository:pushreg/app:pull,delete"`; resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
		t.Errorf("push-only manifest DELETE: %d %q, want 401 asking for %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
}
