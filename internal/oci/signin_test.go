package oci_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/golang-jwt/jwt/v5"
)

// A store failure while checking valid (or any) credentials is a server
// fault, never "wrong credentials": on /v2/ and on both forms of the token
// endpoint. A request whose client went away is 499.
func TestStoreFailureIsNotBadCredentials(t *testing.T) {
	p := newPlane(t)
	form := url.Values{"grant_type": {"password"}, "username": {p.boot.ClientID}, "password": {p.boot.ClientSecret}, "service": {"x"}}.Encode()
	if resp, body := p.do(t, "GET", "/v2/", p.boot.ClientID, "wrong"); resp.StatusCode != 401 {
		t.Fatalf("wrong secret: %d %s", resp.StatusCode, body)
	}
	p.store.broken.Store(true)
	for _, c := range []struct{ method, path, user, pass, form string }{
		{"GET", "/v2/", p.boot.ClientID, p.boot.ClientSecret, ""},
		{"GET", "/v2/", p.boot.ClientID, "wrong", ""},
		{"GET", "/v2/", "someregistry", "password", ""}, // an admin user's name
		{"GET", "/v2/", "ci-bot", "password", ""},       // a repository token's name
		{"GET", "/oauth2/token?service=x&scope=repository:r/a:pull", p.boot.ClientID, p.boot.ClientSecret, ""},
		{"POST", "/oauth2/token", "", "", form},
	} {
		var resp *http.Response
		var body string
		if c.form != "" {
			resp, body = p.do(t, c.method, c.path, c.user, c.pass, c.form)
		} else {
			resp, body = p.do(t, c.method, c.path, c.user, c.pass)
		}
		if resp.StatusCode < 500 || resp.Header.Get("WWW-Authenticate") != "" || strings.Contains(body, "UNAUTHORIZED") {
			t.Errorf("%s %s as %s with the store down: %d %v %s", c.method, c.path, c.user, resp.StatusCode, resp.Header, body)
		}
	}
	p.store.broken.Store(false)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, who := range [][2]string{{p.boot.ClientID, p.boot.ClientSecret}, {"ci-bot", "password"}} {
		req := httptest.NewRequestWithContext(ctx, "GET", "/v2/reg1/app/tags/list", nil)
		req.SetBasicAuth(who[0], who[1])
		rec := httptest.NewRecorder()
		p.svc.ServeHTTP(rec, req)
		if rec.Code != 499 || rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("a request of %s whose client went away: %d %v %s", who[0], rec.Code, rec.Header(), rec.Body)
		}
	}
}

// /oauth2/exchange trades only an Entra-style token meant for us (the
// management plane, as az sends, or ACR's resource) and of the tenant the
// form names: never one minted for another service that trusts our key.
func TestExchangeChecksAudienceAndTenant(t *testing.T) {
	p := newPlane(t)
	issue := func(aud string, grant string) string {
		t.Helper()
		tok, _, err := p.ids.Issue(identity.Claims{ObjectID: p.boot.ObjectID, TenantID: p.boot.TenantID, AppID: p.boot.ClientID, GrantType: grant,
			RegisteredClaims: jwt.RegisteredClaims{Issuer: p.srv.URL + "/" + p.boot.TenantID + "/v2.0", Audience: jwt.ClaimStrings{aud}}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	exchange := func(tok, tenant string) (int, string) {
		form := url.Values{"grant_type": {"access_token"}, "service": {strings.TrimPrefix(p.srv.URL, "http://")}, "access_token": {tok}}
		if tenant != "" {
			form.Set("tenant", tenant)
		}
		resp, body := p.do(t, "POST", "/oauth2/exchange", "", "", form.Encode())
		return resp.StatusCode, body
	}
	for _, aud := range []string{"https://management.azure.com", "https://management.core.windows.net/", p.srv.URL + "/", "https://containerregistry.azure.net"} {
		if code, body := exchange(issue(aud, ""), p.boot.TenantID); code != 200 || !strings.Contains(body, "refresh_token") {
			t.Errorf("a token for %s: %d %s", aud, code, body)
		}
	}
	for _, c := range []struct{ name, tok, tenant string }{
		{"Graph", issue("https://graph.microsoft.com", ""), ""},
		{"our Graph", issue(p.srv.URL+"/graph/", ""), ""},
		{"another app", issue("api://app", ""), ""},
		{"a data-plane token", issue("https://management.azure.com", "access_token"), ""},
		{"another tenant", issue("https://management.azure.com", ""), "22222222-0000-0000-0000-000000000002"},
	} {
		if code, body := exchange(c.tok, c.tenant); code != 401 || !strings.Contains(body, `"invalid_grant"`) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
}

// Failed Basic sign-ins are throttled per principal and address, on /v2/
// and on the token endpoint alike (one budget), with TOOMANYREQUESTS and
// Retry-After; an X-Forwarded-For from a peer that is no trusted proxy
// changes nothing, and even the right secret waits for the budget.
func TestBasicThrottle(t *testing.T) {
	p := newPlane(t)
	wrongs := 0
	for range 10 {
		resp, _ := p.do(t, "GET", "/v2/", p.boot.ClientID, "wrong")
		if resp.StatusCode == 401 {
			wrongs++
		}
	}
	if wrongs != 10 {
		t.Fatalf("%d of the first 10 wrong secrets answered 401", wrongs)
	}
	for _, c := range []struct{ name, method, path, pass, form string }{
		{"an eleventh wrong secret", "GET", "/v2/", "wrong", ""},
		{"the right secret", "GET", "/v2/", p.boot.ClientSecret, ""},
		{"the token endpoint", "GET", "/oauth2/token?service=x&scope=registry:catalog:*", p.boot.ClientSecret, ""},
		{"the password grant", "POST", "/oauth2/token", "", url.Values{"grant_type": {"password"}, "username": {p.boot.ClientID}, "password": {"wrong"}}.Encode()},
	} {
		user := p.boot.ClientID
		var extra []string
		if c.form != "" {
			user, extra = "", []string{c.form}
		}
		req := func() (*http.Response, string) { return p.do(t, c.method, c.path, user, c.pass, extra...) }
		resp, body := req()
		if resp.StatusCode != 429 || !strings.Contains(body, `"TOOMANYREQUESTS"`) || resp.Header.Get("Retry-After") == "" || resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: %d %v %s", c.name, resp.StatusCode, resp.Header, body)
		}
	}
	req := httptest.NewRequest("GET", "/v2/", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.SetBasicAuth(p.boot.ClientID, p.boot.ClientSecret)
	rec := httptest.NewRecorder()
	p.svc.ServeHTTP(rec, req)
	if rec.Code != 429 {
		t.Errorf("a forged X-Forwarded-For: %d %s", rec.Code, rec.Body)
	}
	req.RemoteAddr = "192.0.2.50:1234"
	rec = httptest.NewRecorder()
	p.svc.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("the principal from another address: %d %s", rec.Code, rec.Body)
	}
}
