package oci_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
