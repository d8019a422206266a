package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Routes registers the token service's public (unauthenticated) routes:
// the Entra v1/v2 token endpoints, OpenID discovery and JWKS, their ADFS
// flavour (az's MSAL only skips online instance discovery for an authority
// ending in "adfs"), and the cloud metadata document az reads.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("POST /{tenant}/oauth2/token", s.serveToken)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.serveJWKS)
	mux.HandleFunc("GET /{tenant}/discovery/keys", s.serveJWKS)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveOpenID)
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", s.serveOpenID)
	mux.HandleFunc("GET /metadata/endpoints", s.serveCloudMetadata)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oauthError writes the Entra/OAuth2 error envelope.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": desc, "error_codes": []int{},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": uuid.NewString(), "correlation_id": uuid.NewString(),
	})
}

// resolveTenant maps the path's tenant segment to a tenant id: an id we
// know, or one of the aliases (adfs, common, organizations) meaning the
// only tenant.
func (s *Service) resolveTenant(r *http.Request, segment string) (string, error) {
	var tenants []meta.Tenant
	if err := s.store.View(r.Context(), func(tx meta.Tx) (err error) {
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		return "", err
	}
	switch strings.ToLower(segment) {
	case "adfs", "common", "organizations":
		if t := r.FormValue("tenant"); t != "" {
			segment = t
		} else if len(tenants) > 0 {
			return tenants[0].ID, nil
		}
	}
	for _, t := range tenants {
		if strings.EqualFold(t.ID, segment) {
			return t.ID, nil
		}
	}
	return "", errors.New("tenant not found")
}

// serveToken is the client-credentials token endpoint (v2 with scope, v1
// with resource).
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			oauthError(w, http.StatusRequestEntityTooLarge, "invalid_request", "AADSTS90014: The request body is too large.")
			return
		}
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type %q; use client_credentials.", gt))
		return
	}
	tenant, err := s.resolveTenant(r, r.PathValue("tenant"))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", r.PathValue("tenant")))
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, secret = u, p
	}
	if clientID == "" || secret == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain client_id and client_secret.")
		return
	}
	audience := resourceScope(r.PostForm.Get("scope"))
	if audience == "" {
		audience = r.PostForm.Get("resource")
	}
	if audience == "" || strings.ContainsAny(audience, " \t") {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012: Provide one scope ending in /.default (or a v1 resource).")
		return
	}
	p, err := s.VerifySecret(r.Context(), clientID, secret)
	if err != nil || !strings.EqualFold(p.TenantID, tenant) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	now := s.now()
	tok, exp, err := s.Issue(Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID: uuid.NewString(), Subject: p.ObjectID, Issuer: baseURL(r) + "/" + tenant + "/v2.0",
			Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		},
		TenantID: tenant, ObjectID: p.ObjectID, AppID: p.ClientID,
	})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not sign the token")
		return
	}
	secs := int(exp.Sub(now).Seconds())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

func (s *Service) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"keys": []jwk{publicJWK(&s.key.PublicKey, s.kid)}})
}

func (s *Service) serveOpenID(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("tenant")
	base := baseURL(r) + "/" + t
	v2 := strings.Contains(r.URL.Path, "/v2.0/")
	tokenPath, keysPath := "/oauth2/token", "/discovery/keys"
	if v2 {
		tokenPath, keysPath = "/oauth2/v2.0/token", "/discovery/v2.0/keys"
	}
	issuer := base
	if v2 {
		issuer += "/v2.0"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                issuer,
		"token_endpoint":                        base + tokenPath,
		"authorization_endpoint":                base + "/oauth2/authorize",
		"jwks_uri":                              base + keysPath,
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "WW",
	})
}

// serveCloudMetadata answers az cloud register's autodetection
// (az-cli.md §2): the login endpoint must end in "adfs".
func (s *Service) serveCloudMetadata(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"galleryEndpoint": base + "/gallery/",
		"graphEndpoint":   base + "/graph/",
		"portalEndpoint":  base + "/portal/",
		"authentication": map[string]any{
			"loginEndpoint": base + "/adfs",
			"audiences":     []string{base + "/"},
		},
		"name": "Bulkhead",
	})
}

// resourceScope picks the one resource scope out of a v2 scope list and
// strips its "/.default"; MSAL adds the OpenID scopes, which Entra ignores
// for client credentials.
func resourceScope(scope string) string {
	var out []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		out = append(out, strings.TrimSuffix(s, "/.default"))
	}
	if len(out) != 1 {
		return strings.Join(out, " ")
	}
	return out[0]
}
