package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
)

// The token service's table: every route anonymous, any api-version, no
// content moved, and its own error envelope.
func TestTable(t *testing.T) {
	e := setup(t, "")
	table := e.svc.Table()
	if err := arm.CheckRoutes(table); err != nil {
		t.Fatal(err)
	}
	if table.WriteError == nil || len(table.Routes) != 7 {
		t.Fatalf("table %s: %d routes, WriteError set: %v", table.Name, len(table.Routes), table.WriteError != nil)
	}
	for _, r := range table.Routes {
		if !strings.HasPrefix(r.Access.String(), "anonymous: ") || r.Action != "" || r.Egress.Channel() != "" || r.Versions.String() != "any" {
			t.Errorf("%s %s: %s, action %q, %s, versions %s", r.Method, r.Pattern, r.Access, r.Action, r.Egress, r.Versions)
		}
	}
}

// post sends a raw token request.
func post(t *testing.T, e *env, path, contentType, body string, basic ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

var traceRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Every refusal of the token endpoint keeps Entra's wire shape: the
// status, error, error_description starting with its AADSTS number,
// error_codes, timestamp, trace and correlation ids, no-store, and no
// Bearer challenge. Refusals the router makes (a body over arm.MaxBody)
// are written in the same envelope.
func TestTokenErrorEnvelope(t *testing.T) {
	e := setup(t, "")
	const form = "application/x-www-form-urlencoded"
	v2 := "/" + e.boot.TenantID + "/oauth2/v2.0/token"
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID}, "client_secret": {e.boot.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}
	with := func(k, v string) string {
		f := url.Values{}
		for key, x := range good {
			f[key] = x
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f.Encode()
	}
	cases := []struct {
		name, path, contentType, body string
		status                        int
		code                          string
		aadsts                        int
	}{
		{"no grant type", v2, form, with("grant_type", ""), 400, "invalid_request", 900144},
		{"password grant", v2, form, with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"unknown tenant", "/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", form, good.Encode(), 400, "invalid_request", 90002},
		{"unknown form tenant", "/common/oauth2/v2.0/token", form, with("tenant", "nope"), 400, "invalid_request", 90002},
		{"no client id", v2, form, with("client_id", ""), 400, "invalid_request", 900144},
		{"no secret", v2, form, with("client_secret", ""), 401, "invalid_client", 7000218},
		{"two scopes", v2, form, with("scope", "https://a/.default https://b/.default"), 400, "invalid_scope", 1002012},
		{"no scope", "/" + e.boot.TenantID + "/oauth2/token", form, with("scope", ""), 400, "invalid_scope", 1002012},
		{"wrong secret", v2, form, with("client_secret", "nope"), 401, "invalid_client", 7000215},
		{"malformed form", v2, form, "%zz=%", 400, "invalid_request", 900144},
		{"malformed content type", v2, "form; ;=", good.Encode(), 400, "invalid_request", 900144},
		{"json body", v2, "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request", 900144},
		{"no content type", v2, "", good.Encode(), 400, "invalid_request", 900144},
		{"over the form limit", v2, form, "client_id=" + strings.Repeat("a", 100<<10), 413, "invalid_request", 90014},
		{"over the router's limit", v2, form, "client_id=" + strings.Repeat("a", arm.MaxBody), 413, "invalid_request", 90014},
	}
	for _, c := range cases {
		resp := post(t, e, c.path, c.contentType, c.body)
		var body map[string]any
		err := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Errorf("%s: %d with a non-JSON body: %v", c.name, resp.StatusCode, err)
			continue
		}
		codes, _ := body["error_codes"].([]any)
		desc, _ := body["error_description"].(string)
		trace, _ := body["trace_id"].(string)
		corr, _ := body["correlation_id"].(string)
		prefix := "AADSTS" + jsonNumber(c.aadsts) + ": "
		if resp.StatusCode != c.status || body["error"] != c.code || !strings.HasPrefix(desc, prefix) || len(desc) <= len(prefix) ||
			len(codes) != 1 || codes[0] != float64(c.aadsts) || body["timestamp"] == nil || !traceRE.MatchString(trace) || !traceRE.MatchString(corr) {
			t.Errorf("%s: %d %v, want %d %s AADSTS%d", c.name, resp.StatusCode, body, c.status, c.code, c.aadsts)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: headers %v", c.name, resp.Header)
		}
		if resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: a Bearer challenge on the token endpoint: %q", c.name, resp.Header.Get("WWW-Authenticate"))
		}
		if strings.Contains(desc, e.boot.ClientSecret) {
			t.Errorf("%s: the secret is in the answer", c.name)
		}
	}
}

func jsonNumber(n int) string { b, _ := json.Marshal(n); return string(b) }

// A token answer is never cached, HTTP Basic client credentials work,
// and the documents point clients back at the address they used.
func TestTokenAnswers(t *testing.T) {
	e := setup(t, "")
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://management.azure.com/.default"}}
	resp := post(t, e, "/common/oauth2/v2.0/token", "application/x-www-form-urlencoded; charset=utf-8", form.Encode(), e.boot.ClientID, e.boot.ClientSecret)
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok["token_type"] != "Bearer" || tok["access_token"] == nil || tok["expires_in"] != tok["ext_expires_in"] {
		t.Fatalf("basic: %d %v", resp.StatusCode, tok)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("token answer may be cached: %v", resp.Header)
	}
	c, err := e.svc.Verify(tok["access_token"].(string), "https://management.azure.com")
	if err != nil || c.Issuer != e.srv.URL+"/"+e.boot.TenantID+"/v2.0" || c.ObjectID != e.boot.ObjectID {
		t.Fatalf("issued token: %+v %v", c, err)
	}
	get := func(path string) map[string]any {
		t.Helper()
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return m
	}
	v2 := get("/" + e.boot.TenantID + "/v2.0/.well-known/openid-configuration")
	base := e.srv.URL + "/" + e.boot.TenantID
	if v2["issuer"] != base+"/v2.0" || v2["token_endpoint"] != base+"/oauth2/v2.0/token" || v2["jwks_uri"] != base+"/discovery/v2.0/keys" {
		t.Fatalf("v2 openid configuration: %v", v2)
	}
	if keys, _ := get("/" + e.boot.TenantID + "/discovery/keys")["keys"].([]any); len(keys) != 1 {
		t.Fatalf("v1 keys: %v", keys)
	}
	m := get("/metadata/endpoints?api-version=2015-01-01")
	if dig(m, "authentication", "loginEndpoint") != e.srv.URL+"/adfs" || m["name"] != "Bulkhead" {
		t.Fatalf("cloud metadata: %v", m)
	}
}

func dig(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// AuthenticateARM is the management plane's Bearer check: its refusals
// are ARM's 401s with the codes the server answered before, and a
// management token gives the caller it names.
func TestAuthenticateARM(t *testing.T) {
	e := setup(t, "")
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID}, "client_secret": {e.boot.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}
	code, body := token(t, e, form, "/"+e.boot.TenantID+"/oauth2/v2.0/token")
	if code != 200 {
		t.Fatalf("token: %d %v", code, body)
	}
	mgmt := body["access_token"].(string)
	dataPlane, _, err := e.svc.Issue(identity.Claims{ObjectID: e.boot.ObjectID, GrantType: "access_token"})
	if err != nil {
		t.Fatal(err)
	}
	noOID, _, _ := e.svc.Issue(identity.Claims{AppID: "a"})
	for _, c := range []struct{ name, header, code string }{
		{"no header", "", "AuthenticationFailed"},
		{"basic", "Basic " + mgmt, "AuthenticationFailed"},
		{"too long", "Bearer " + strings.Repeat("a", 16<<10), "AuthenticationFailed"},
		{"garbage", "Bearer a.b.c", "InvalidAuthenticationToken"},
		{"data-plane token", "Bearer " + dataPlane, "InvalidAuthenticationToken"},
		{"no object id", "Bearer " + noOID, "InvalidAuthenticationToken"},
	} {
		r := httptest.NewRequest("GET", "/subscriptions/s", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		_, err := e.svc.AuthenticateARM(r)
		ae, ok := errors.AsType[*arm.Error](err)
		if !ok || ae.Status != 401 || ae.Code != c.code || !errors.Is(err, errdef.ErrUnauthenticated) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	r := httptest.NewRequest("GET", "/subscriptions/s", nil)
	r.Header.Set("Authorization", "bearer "+mgmt)
	got, err := e.svc.AuthenticateARM(r)
	want := authz.Caller{ObjectID: e.boot.ObjectID, ClientID: e.boot.ClientID, TenantID: e.boot.TenantID, Kind: identity.KindServicePrincipal}
	if err != nil || got != want {
		t.Fatalf("caller %+v %v, want %+v", got, err, want)
	}

	// Through arm's router, next to the token service's own routes: ARM's
	// envelope and challenge for management refusals.
	whoami := arm.Table{Name: "Test", Routes: []arm.Route{{Method: "GET", Pattern: "/subscriptions/{sub}/whoami", Versions: arm.AnyAPIVersion(),
		Access: arm.AnyCaller("a test route"), Egress: arm.MovesNoContent("a test route"),
		Handle: func(_ context.Context, q *arm.Request) (*arm.Response, error) {
			return arm.OK(map[string]string{"oid": q.Caller.ObjectID}), nil
		}}}}
	router, err := arm.NewRouter(arm.RouterOptions{Store: e.store, Authenticate: e.svc.AuthenticateARM,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, e.svc.Table(), whoami)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(router)
	defer srv.Close()
	for _, c := range []struct{ header, code string }{{"", "AuthenticationFailed"}, {"Bearer " + dataPlane, "InvalidAuthenticationToken"}, {"Bearer " + mgmt, ""}} {
		req, _ := http.NewRequest("GET", srv.URL+"/subscriptions/s/whoami", nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		switch {
		case c.code == "" && (resp.StatusCode != 200 || m["oid"] != e.boot.ObjectID):
			t.Errorf("management token: %d %v", resp.StatusCode, m)
		case c.code != "" && (resp.StatusCode != 401 || dig(m, "error", "code") != c.code || resp.Header.Get("WWW-Authenticate") == ""):
			t.Errorf("%q: %d %v %v", c.header, resp.StatusCode, m, resp.Header)
		}
	}
}
