package identity_test

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/golang-jwt/jwt/v5"
)

// The token service issues tokens for any one resource, as Entra does,
// but only a token for the management plane opens it: one of ARM's
// resource ids, or this server's own address as the client named it
// (az's --endpoint-resource-manager, https://H/). Our signing key is
// public, so a token minted for another service (Graph, an app that
// trusts our key, az's https://H/graph/) must never pass.
func TestManagementAudience(t *testing.T) {
	e := setup(t, "")
	issue := func(scope string) string {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID}, "client_secret": {e.boot.ClientSecret}, "scope": {scope}}
		code, body := token(t, e, form, "/"+e.boot.TenantID+"/oauth2/v2.0/token")
		if code != 200 {
			t.Fatalf("%s: %d %v", scope, code, body)
		}
		return body["access_token"].(string)
	}
	authenticate := func(tok string) error {
		r := httptest.NewRequest("GET", e.srv.URL+"/subscriptions/s", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, err := e.svc.AuthenticateARM(r)
		return err
	}
	for _, scope := range []string{
		"https://management.azure.com/.default", "https://management.azure.com//.default",
		"https://management.core.windows.net//.default", "https://management.core.windows.net/.default",
		e.srv.URL + "//.default", e.srv.URL + "/.default", // az and bulkhead's own CLI
		strings.Replace(e.srv.URL, "http://", "https://", 1) + "//.default", // behind a TLS proxy
	} {
		if err := authenticate(issue(scope)); err != nil {
			t.Errorf("a management token for %s refused: %v", scope, err)
		}
	}
	for _, scope := range []string{
		"https://graph.microsoft.com/.default", e.srv.URL + "/graph//.default", "https://containerregistry.azure.net/.default",
		"https://management.azure.com.evil.example/.default", "https://app.example//.default", "api://some-app/.default",
		e.srv.URL + "/subscriptions/.default", "ftp" + strings.TrimPrefix(e.srv.URL, "http") + "/.default",
	} {
		tok := issue(scope)
		err := authenticate(tok)
		ae, ok := errors.AsType[*arm.Error](err)
		if !ok || ae.Status != 401 || ae.Code != "InvalidAuthenticationTokenAudience" || !errors.Is(err, errdef.ErrUnauthenticated) {
			t.Errorf("a token for %s opened the management plane: %v", scope, err)
			continue
		}
		if !strings.Contains(ae.Message, "https://management.azure.com") || !strings.Contains(ae.Challenge, `error="invalid_token"`) {
			t.Errorf("%s: %s / %s", scope, ae.Message, ae.Challenge)
		}
	}
	// A token that names our address but was issued through another one
	// (its issuer): the audience is someone else's.
	forged, _, err := e.svc.Issue(identity.Claims{ObjectID: e.boot.ObjectID, TenantID: e.boot.TenantID, AppID: e.boot.ClientID,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "https://app.example/" + e.boot.TenantID + "/v2.0", Audience: jwt.ClaimStrings{e.srv.URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := authenticate(forged); err == nil {
		t.Error("a token for our address issued through app.example opened the management plane")
	}
}
