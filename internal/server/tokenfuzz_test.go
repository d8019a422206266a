package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/oci"
	"github.com/bulkhead-registry/bulkhead/internal/server"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
	"github.com/golang-jwt/jwt/v5"
)

// fuzzHost is the Host of every fuzzed request; data-plane tokens are
// issued for it.
const fuzzHost = "bulkhead.test"

// tokenWorld is the whole server (both planes behind the one chain) on a
// fresh data directory, with the values fuzz inputs may name: XTENANTX,
// XCLIENTX, XSECRETX, and tokens XMGMTX (a management token), XGRAPHX
// (one for another audience), XREFRESHX (a registry refresh token).
type tokenWorld struct {
	handler http.Handler
	values  *strings.Replacer
	// trail is the world's audit trail: every fuzzed sign-in goes
	// through it too.
	trail *audit.Log
	boot  identity.Bootstrap
	store meta.Store
}

func newTokenWorld(t testing.TB) *tokenWorld {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	guard := signin.New(signin.Options{})
	ids, err := identity.New(store, filepath.Join(dir, "keys"), identity.Options{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := ids.Bootstrap(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	data := oci.New(oci.Options{Meta: store, Content: blobs, Tokens: ids, Guard: guard, Logger: log})
	key, err := audit.LoadKey(filepath.Join(dir, "keys", "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(audit.Options{Dir: filepath.Join(dir, "audit"), Key: key, Node: "test", Meta: store, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	mgmt, err := server.Management(server.ManagementOptions{Meta: store, Identity: ids, Logger: log, Content: blobs, Audit: trail})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(&config.Config{}, log, server.Planes{Data: data, Management: mgmt, IsData: oci.IsDataPlane, Audit: trail})
	issue := func(aud, grant string) string {
		now := time.Now()
		tok, _, err := ids.Issue(identity.Claims{ObjectID: boot.ObjectID, TenantID: boot.TenantID, AppID: boot.ClientID, GrantType: grant,
			RegisteredClaims: jwt.RegisteredClaims{Issuer: "http://" + fuzzHost + "/" + boot.TenantID + "/v2.0", Audience: jwt.ClaimStrings{aud},
				NotBefore: jwt.NewNumericDate(now.Add(-time.Minute))}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return &tokenWorld{handler: srv.Handler(), trail: trail, boot: boot, store: store, values: strings.NewReplacer("XTENANTX", boot.TenantID, "XCLIENTX", boot.ClientID,
		"XSECRETX", boot.ClientSecret, "XMGMTX", issue("https://management.azure.com", ""), "XGRAPHX", issue("https://graph.microsoft.com", ""),
		"XREFRESHX", issue(fuzzHost, "refresh_token"))}
}

// tokenPaths are the token endpoints a fuzz input picks from; "{t}" is
// the input's tenant segment.
var tokenPaths = []string{"/{t}/oauth2/v2.0/token", "/{t}/oauth2/token", "/adfs/oauth2/token", "/oauth2/exchange", "/oauth2/token"}

// FuzzTokenEndpoints sends any form, query, method, media type and
// Authorization header to the token endpoints of both planes: the token
// service's client-credentials endpoints (v2, v1, ADFS) and the data
// plane's /oauth2/exchange and /oauth2/token. Whatever comes in, the
// answer is never a 5xx (a panic would be one: the chain recovers it), and
// it is JSON in the endpoint's envelope: the OAuth/Entra one (error,
// error_description with its AADSTS number) on the token service, the
// distribution-spec one or the OAuth one on the data plane, or a token.
func FuzzTokenEndpoints(f *testing.F) {
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const ct = "application/x-www-form-urlencoded"
	for _, s := range []struct {
		target                       uint8
		tenant, method, ctype, query string
		body, auth                   string
		peer                         uint8
	}{
		{0, "XTENANTX", "POST", ct, "", form("grant_type", "client_credentials", "client_id", "XCLIENTX", "client_secret", "XSECRETX", "scope", "https://management.azure.com/.default"), "", 1},
		{0, "XTENANTX", "POST", ct, "", form("grant_type", "client_credentials", "client_id", "XCLIENTX", "client_secret", "wrong", "scope", "https://graph.microsoft.com/.default"), "", 2},
		{1, "common", "POST", ct + "; charset=utf-8", "", form("grant_type", "client_credentials", "resource", "https://management.core.windows.net/", "tenant", "XTENANTX"), "Basic WENMSUVOVFg6WFNFQ1JFVFg=", 3},
		{0, "organizations", "POST", ct, "", form("grant_type", "client_credentials", "client_id", "XCLIENTX", "client_secret", "XSECRETX", "scope", "a/.default b/.default"), "", 20},
		{2, "", "POST", ct, "", form("grant_type", "client_credentials", "client_id", "XCLIENTX", "client_secret", "XSECRETX", "scope", "https://h//.default openid offline_access"), "", 4},
		{0, "00000000-0000-0000-0000-000000000000", "POST", ct, "", "%zz=%", "", 5},
		{1, "XTENANTX", "POST", "application/json", "", `{"grant_type":"client_credentials"}`, "", 6},
		{0, "XTENANTX", "GET", "", "grant_type=client_credentials", "", "", 7},
		{3, "", "POST", ct, "", form("grant_type", "access_token", "service", fuzzHost, "tenant", "XTENANTX", "access_token", "XMGMTX"), "", 8},
		{3, "", "POST", ct, "", form("grant_type", "access_token_refresh_token", "access_token", "XGRAPHX"), "", 9},
		{3, "", "GET", "", "", "", "", 10},
		{3, "", "POST", ct, "", form("grant_type", "access_token", "access_token", "a.b.c", "tenant", "x"), "", 11},
		{4, "", "GET", "", "service=" + fuzzHost + "&scope=repository:reg/app:pull", "", "Basic WENMSUVOVFg6WFNFQ1JFVFg=", 12},
		{4, "", "GET", "", "scope=registry:catalog:*", "", "Basic Og==", 13},
		{4, "", "POST", ct, "", form("grant_type", "refresh_token", "service", fuzzHost, "scope", "repository:reg/app:pull,push", "refresh_token", "XREFRESHX"), "", 14},
		{4, "", "POST", ct, "", form("grant_type", "password", "username", "someregistry", "password", "x", "access_type", "offline"), "", 15},
		{4, "", "POST", ct, "", form("grant_type", "refresh_token", "refresh_token", "XMGMTX"), "", 16},
		{4, "", "DELETE", "", "", "", "Bearer XMGMTX", 17},
		{4, "", "POST", "multipart/form-data; boundary=x", "", "--x\r\n\r\n", "", 18},
		{4, "", "HEAD", "", "", "", "", 19},
	} {
		f.Add(s.target, s.tenant, s.method, s.ctype, s.query, []byte(s.body), s.auth, s.peer)
	}
	w := newTokenWorld(f)
	f.Fuzz(func(t *testing.T, target uint8, tenant, method, ctype, query string, body []byte, auth string, peer uint8) {
		if !validMethod(method) {
			method = "POST"
		}
		if tenant = w.values.Replace(tenant); tenant == "" {
			tenant = "common"
		}
		path := strings.Replace(tokenPaths[int(target)%len(tokenPaths)], "{t}", url.PathEscape(tenant), 1)
		u := &url.URL{Scheme: "http", Host: fuzzHost, RawPath: path, RawQuery: w.values.Replace(query)}
		u.Path, _ = url.PathUnescape(path)
		req, err := http.NewRequest(method, u.String(), bytes.NewReader([]byte(w.values.Replace(string(body)))))
		if err != nil {
			t.Skip(err)
		}
		req.RemoteAddr = "198.51.100." + string(rune('0'+peer%10)) + ":4321"
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic ")); err == nil && strings.HasPrefix(auth, "Basic ") {
			auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(w.values.Replace(string(b))))
		}
		if auth != "" {
			req.Header.Set("Authorization", w.values.Replace(auth))
		}
		rec := httptest.NewRecorder()
		w.handler.ServeHTTP(rec, req)
		checkTokenAnswer(t, req, rec, int(target)%len(tokenPaths) < 3)
	})
}

// validMethod reports whether m is an HTTP token, which http.NewRequest
// requires.
func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func checkTokenAnswer(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder, identityPlane bool) {
	t.Helper()
	where := req.Method + " " + req.URL.String()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", where, rec.Code, rec.Body)
	}
	if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%s: 429 without Retry-After", where)
	}
	if req.Method == http.MethodHead || rec.Code == http.StatusNotFound && !identityPlane && rec.Body.Len() == 0 {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: %d with a body that is no JSON object: %v: %q", where, rec.Code, err, rec.Body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%s: Content-Type %q", where, rec.Header().Get("Content-Type"))
	}
	switch {
	case rec.Code < 300:
		if m["access_token"] == nil && m["refresh_token"] == nil && m["keys"] == nil && m["issuer"] == nil {
			t.Fatalf("%s: %d without a token: %v", where, rec.Code, m)
		}
	case identityPlane:
		desc, _ := m["error_description"].(string)
		code, _ := m["error"].(string)
		if code == "" || !strings.HasPrefix(desc, "AADSTS") || m["error_codes"] == nil {
			// Routes the token service does not own (a GET of a token
			// path) are the management router's: ARM's envelope.
			if e, _ := m["error"].(map[string]any); e == nil || e["code"] == nil || e["message"] == nil {
				t.Fatalf("%s: %d not in the OAuth or ARM envelope: %v", where, rec.Code, m)
			}
		}
	default:
		if errs, _ := m["errors"].([]any); len(errs) > 0 {
			e, _ := errs[0].(map[string]any)
			if e["code"] == nil || e["message"] == nil {
				t.Fatalf("%s: %d with a malformed errors envelope: %v", where, rec.Code, m)
			}
			return
		}
		if code, _ := m["error"].(string); code == "" || m["error_description"] == nil {
			t.Fatalf("%s: %d in no envelope: %v", where, rec.Code, m)
		}
	}
}
