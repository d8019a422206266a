package identity_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/golang-jwt/jwt/v5"
)

func TestBootstrap(t *testing.T) {
	e := setup(t, "env-secret-value-1234567890")
	if e.boot.ClientSecret != "env-secret-value-1234567890" || e.boot.ObjectID == "" {
		t.Fatalf("bootstrap %+v", e.boot)
	}
	fi, err := os.Stat(filepath.Join(e.dir, "bootstrap.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap.json: %v %v", fi.Mode(), err)
	}
	again, err := e.svc.Bootstrap(context.Background(), e.dir, "ignored-on-second-start")
	if err != nil || again != e.boot {
		t.Fatalf("second bootstrap %+v %v", again, err)
	}
	if _, err := e.svc.VerifySecret(context.Background(), e.boot.ClientID, e.boot.ClientSecret); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{e.boot.ClientID, "wrong"}, {"unknown", e.boot.ClientSecret}, {"", ""}} {
		_, err := e.svc.VerifySecret(context.Background(), bad[0], bad[1])
		if !errors.Is(err, errdef.ErrUnauthenticated) || !strings.Contains(err.Error(), "invalid client credentials") {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}

func token(t *testing.T, e *env, form url.Values, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(e.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestTokenEndpoint(t *testing.T) {
	e := setup(t, "")
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID}, "client_secret": {e.boot.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}
	code, body := token(t, e, good, "/"+e.boot.TenantID+"/oauth2/v2.0/token")
	if code != 200 || body["token_type"] != "Bearer" {
		t.Fatalf("%d %v", code, body)
	}
	tok := body["access_token"].(string)

	// Verify the token against the published JWKS, as a third party would.
	resp, err := http.Get(e.srv.URL + "/" + e.boot.TenantID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if len(jwks.Keys) != 1 {
		t.Fatalf("jwks %+v", jwks)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	ex, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	var claims identity.Claims
	parsed, err := jwt.ParseWithClaims(tok, &claims, func(t *jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{"RS256"}))
	if err != nil || !parsed.Valid || claims.ObjectID != e.boot.ObjectID || claims.TenantID != e.boot.TenantID || claims.AppID != e.boot.ClientID {
		t.Fatalf("token vs JWKS: %v %+v", err, claims)
	}
	if parsed.Header["kid"] != jwks.Keys[0].Kid {
		t.Fatal("kid mismatch")
	}
	if c, err := e.svc.Verify(tok, "https://management.azure.com"); err != nil || c.ObjectID != e.boot.ObjectID {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := e.svc.Verify(tok, "https://other"); !errors.Is(err, errdef.ErrUnauthenticated) {
		t.Fatalf("audience not checked: %v", err)
	}

	// ADFS flavour (az's MSAL) and the v1 endpoint with resource=.
	adfs := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID}, "client_secret": {e.boot.ClientSecret}, "scope": {"https://h//.default"}}
	if code, body := token(t, e, adfs, "/adfs/oauth2/token"); code != 200 {
		t.Fatalf("adfs: %d %v", code, body)
	}
	v1 := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID}, "client_secret": {e.boot.ClientSecret}, "resource": {"https://management.core.windows.net/"}}
	if code, body := token(t, e, v1, "/"+e.boot.TenantID+"/oauth2/token"); code != 200 {
		t.Fatalf("v1: %d %v", code, body)
	}
	resp, err = http.Get(e.srv.URL + "/adfs/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var oidc map[string]any
	json.NewDecoder(resp.Body).Decode(&oidc)
	resp.Body.Close()
	if !strings.HasSuffix(oidc["token_endpoint"].(string), "/adfs/oauth2/token") || oidc["authorization_endpoint"] == nil {
		t.Fatalf("openid configuration %v", oidc)
	}

	// Refusals: 4xx in the OAuth envelope, never 5xx.
	bad := func(mut func(v url.Values)) url.Values {
		v := url.Values{}
		for k, x := range good {
			v[k] = append([]string(nil), x...)
		}
		mut(v)
		return v
	}
	cases := []struct {
		name   string
		form   url.Values
		path   string
		status int
		code   string
	}{
		{"wrong secret", bad(func(v url.Values) { v.Set("client_secret", "nope") }), "/" + e.boot.TenantID + "/oauth2/v2.0/token", 401, "invalid_client"},
		{"unknown client", bad(func(v url.Values) { v.Set("client_id", "nope") }), "/" + e.boot.TenantID + "/oauth2/v2.0/token", 401, "invalid_client"},
		{"unknown tenant", good, "/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", 400, "invalid_request"},
		{"bad grant", bad(func(v url.Values) { v.Set("grant_type", "password") }), "/" + e.boot.TenantID + "/oauth2/v2.0/token", 400, "unsupported_grant_type"},
		{"no scope", bad(func(v url.Values) { v.Del("scope") }), "/" + e.boot.TenantID + "/oauth2/v2.0/token", 400, "invalid_scope"},
		{"no secret", bad(func(v url.Values) { v.Del("client_secret") }), "/" + e.boot.TenantID + "/oauth2/v2.0/token", 401, "invalid_client"},
	}
	for _, c := range cases {
		code, body := token(t, e, c.form, c.path)
		if code != c.status || body["error"] != c.code {
			t.Errorf("%s: %d %v", c.name, code, body)
		}
	}
	for name, body := range map[string]string{"malformed": "%zz=%", "oversized": "client_id=" + strings.Repeat("a", 100<<10)} {
		resp, err := http.Post(e.srv.URL+"/"+e.boot.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s body: %d", name, resp.StatusCode)
		}
	}
}

func TestVerifyRejectsForgeries(t *testing.T) {
	e := setup(t, "")
	tok, _, err := e.svc.Issue(identity.Claims{ObjectID: "o", RegisteredClaims: jwt.RegisteredClaims{Audience: jwt.ClaimStrings{"a"}}})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"oid":"o"`, `"oid":"x"`, 1))) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, identity.Claims{ObjectID: "o"})
	hsTok, _ := hs.SignedString([]byte("guess"))
	expired, _, _ := e.svc.Issue(identity.Claims{ObjectID: "o", RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(-time.Hour))}})
	for name, bad := range map[string]string{"tampered": tampered, "alg none": none, "hs256": hsTok, "expired": expired, "garbage": "a.b.c", "empty": ""} {
		if _, err := e.svc.Verify(bad); !errors.Is(err, errdef.ErrUnauthenticated) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
}

func TestConcurrentVerifySecret(t *testing.T) {
	e := setup(t, "")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secret := e.boot.ClientSecret
			if i%2 == 1 {
				secret = "wrong"
			}
			_, err := e.svc.VerifySecret(context.Background(), e.boot.ClientID, secret)
			if (err == nil) != (i%2 == 0) {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}

// Secrets are stored as bcrypt verifiers only, and a new secret works
// next to the old one.
func TestSecretsStoredHashed(t *testing.T) {
	e := setup(t, "")
	p := e.principal(t)
	if len(p.Secrets) != 1 {
		t.Fatalf("secrets %+v", p.Secrets)
	}
	for _, s := range p.Secrets {
		if !strings.HasPrefix(s.Hash, "bcrypt$") || strings.Contains(s.Hash, e.boot.ClientSecret) {
			t.Fatalf("stored verifier %q", s.Hash)
		}
	}
	second, err := e.svc.AddSecret(context.Background(), e.boot.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{e.boot.ClientSecret, second} {
		if _, err := e.svc.VerifySecret(context.Background(), e.boot.ClientID, s); err != nil {
			t.Fatalf("secret %d chars: %v", len(s), err)
		}
	}
	if got := e.principal(t); len(got.Secrets) != 2 {
		t.Fatalf("after AddSecret: %d secrets", len(got.Secrets))
	}
	if _, err := e.svc.AddSecret(context.Background(), "no-such-client"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("AddSecret for unknown client: %v", err)
	}
	if _, err := identity.HashSecret(strings.Repeat("x", 73)); !errors.Is(err, errdef.ErrInvalidArgument) {
		t.Fatalf("73-byte secret: %v", err)
	}
}
