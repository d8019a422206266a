package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// Failed client-credential sign-ins are throttled per client and address
// (429, AADSTS50053, Retry-After), without checking the secret any more;
// a forged X-Forwarded-For does not dodge it, and the same client signing
// in from another address (here through a trusted proxy) still gets in.
func TestTokenEndpointThrottle(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "meta.db"))
	guard := signin.New(signin.Options{PrincipalBurst: 3, PrincipalEvery: time.Hour, AddressBurst: 100})
	serve := func(trusted ...netip.Prefix) *httptest.Server {
		svc, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{Guard: guard, TrustedProxies: trusted})
		if err != nil {
			t.Fatal(err)
		}
		router, err := arm.NewRouter(arm.RouterOptions{Store: store, Authenticate: svc.AuthenticateARM,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, svc.Table())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(router)
		t.Cleanup(srv.Close)
		return srv
	}
	direct, proxied := serve(), serve(netip.MustParsePrefix("127.0.0.1/32"))
	boot, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := boot.Bootstrap(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(srv *httptest.Server, secret, forwardedFor string) (*http.Response, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {b.ClientID}, "client_secret": {secret}, "scope": {"https://management.azure.com/.default"}}
		req, _ := http.NewRequest("POST", srv.URL+"/"+b.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	for i := range 3 {
		if resp, m := signIn(direct, "wrong", ""); resp.StatusCode != 401 || m["error"] != "invalid_client" {
			t.Fatalf("failure %d: %d %v", i, resp.StatusCode, m)
		}
	}
	for _, c := range []struct{ name, secret, xff string }{
		{"a fourth wrong secret", "wrong", ""},
		{"the right secret", b.ClientSecret, ""},
		{"a forged X-Forwarded-For", b.ClientSecret, "203.0.113.9"},
	} {
		resp, m := signIn(direct, c.secret, c.xff)
		desc, _ := m["error_description"].(string)
		if resp.StatusCode != 429 || m["error"] != "invalid_client" || !strings.HasPrefix(desc, "AADSTS50053: ") || resp.Header.Get("Retry-After") != "3600" {
			t.Errorf("%s: %d %v %v", c.name, resp.StatusCode, resp.Header, m)
		}
	}
	if resp, m := signIn(proxied, b.ClientSecret, "203.0.113.9"); resp.StatusCode != 200 || m["access_token"] == nil {
		t.Fatalf("the client from another address: %d %v", resp.StatusCode, m)
	}
}

// Concurrent checks of one secret share one bcrypt comparison, run in the
// guard's slots. When the client of the check under way goes away, that
// ends its check only: a client waiting on the same check still gets its
// answer.
func TestSharedCheckOutlivesItsLeader(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "meta.db"))
	guard := signin.New(signin.Options{Checks: 1})
	svc, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Bootstrap(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	hold, held := make(chan struct{}), make(chan struct{})
	go guard.Check(context.Background(), func() { close(held); <-hold })
	<-held
	leaderCtx, leave := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() {
		_, err := svc.VerifySecret(leaderCtx, b.ClientID, b.ClientSecret)
		leader <- err
	}()
	for guard.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	follower := make(chan error, 1)
	go func() {
		_, err := svc.VerifySecret(context.Background(), b.ClientID, b.ClientSecret)
		follower <- err
	}()
	time.Sleep(20 * time.Millisecond) // the follower joins the check under way
	leave()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Fatalf("the leader whose client went away: %v", err)
	}
	close(hold)
	if err := <-follower; err != nil {
		t.Fatalf("the follower: %v", err)
	}
}
