package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Routes registers the token service's public (unauthenticated) routes on
// mux:
//
//	POST /{tenant}/oauth2/v2.0/token                    client credentials, scope=<resource>/.default
//	POST /{tenant}/oauth2/token                         the same, v1 (resource=<resource>)
//	GET  /{tenant}/discovery/v2.0/keys                  JWKS
//	GET  /{tenant}/discovery/keys                       JWKS
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/.well-known/openid-configuration
//	GET  /metadata/endpoints                            az cloud register's autodetection
//
// {tenant} is a tenant id or an alias (adfs, common, organizations) for
// the client's own tenant. The ADFS flavour az 2.45 needs is the tenant
// "adfs" of the same routes: its MSAL reads /adfs/.well-known/openid-configuration
// and posts to the token_endpoint found there, /adfs/oauth2/token
// (az-cli.md §2). An authority ending in "adfs" is the only one for which
// that MSAL skips instance discovery, which it would send to
// login.microsoftonline.com, never to us; so /common/discovery/instance is
// not served.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("POST /{tenant}/oauth2/token", s.serveToken)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.serveJWKS)
	mux.HandleFunc("GET /{tenant}/discovery/keys", s.serveJWKS)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveOpenID)
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", s.serveOpenID)
	mux.HandleFunc("GET /metadata/endpoints", s.serveCloudMetadata)
}

// maxFormBytes bounds a token request body: a form with a client id, a
// secret and a scope is far smaller.
const maxFormBytes = 64 << 10

// baseURL is the scheme and host the request came in on: documents built
// from it point clients back at the address they used.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oauthError writes the Entra/OAuth2 error envelope (RFC 6749 §5.2 plus
// Entra's error_codes, timestamp, trace_id and correlation_id). aadsts is
// the Entra error number, also quoted at the start of desc.
func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc), "error_codes": []int{aadsts},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": uuid.NewString(), "correlation_id": uuid.NewString(),
	})
}

// errUnknownTenant is resolveTenant's answer for a tenant we do not have.
var errUnknownTenant = fmt.Errorf("tenant: %w", errdef.ErrNotFound)

// resolveTenant maps the path's tenant segment to a tenant id. The aliases
// adfs, common and organizations name no tenant (the empty id): the
// client's own tenant is meant, or the form's "tenant" when given (az's
// MSAL sends none in ADFS mode). Anything else must be a tenant we have.
func (s *Service) resolveTenant(r *http.Request, segment string) (string, error) {
	switch strings.ToLower(segment) {
	case "adfs", "common", "organizations":
		segment = r.PostForm.Get("tenant")
		if segment == "" {
			return "", nil
		}
	}
	var tenants []meta.Tenant
	if err := s.store.View(r.Context(), func(tx meta.Tx) (err error) {
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		return "", err
	}
	for _, t := range tenants {
		if strings.EqualFold(t.ID, segment) {
			return t.ID, nil
		}
	}
	return "", errUnknownTenant
}

// invalidClient is Entra's answer to any bad client credential; the same
// for an unknown client, a wrong or expired secret and a client of another
// tenant, so that it reveals nothing.
const invalidClient = "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."

// serveToken is the client-credentials token endpoint: v2 takes scope
// ("<resource>/.default"), v1 takes resource. RFC 6749 §4.4; Entra's
// client-credentials flow. Client credentials come in the form
// (client_secret_post) or as HTTP Basic (client_secret_basic).
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			oauthError(w, http.StatusRequestEntityTooLarge, "invalid_request", 90014, "The request body is too large.")
			return
		}
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type %.64q; use client_credentials.", gt))
		return
	}
	tenant, err := s.resolveTenant(r, r.PathValue("tenant"))
	if errors.Is(err, errUnknownTenant) {
		oauthError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%.64s' not found. Check to make sure you have the correct tenant ID.", r.PathValue("tenant")))
		return
	}
	if err != nil {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" && secret == "" {
		clientID, secret = u, p
	}
	if clientID == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if secret == "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	audience := resourceScope(r.PostForm.Get("scope"))
	if audience == "" {
		audience = r.PostForm.Get("resource")
	}
	if audience == "" || strings.ContainsAny(audience, " \t") || len(audience) > 1024 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", 1002012, "Provide one scope ending in /.default (or a v1 resource).")
		return
	}
	p, err := s.VerifySecret(r.Context(), clientID, secret)
	if err != nil && !errors.Is(err, errdef.ErrUnauthenticated) {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		return
	}
	if err != nil || (tenant != "" && !strings.EqualFold(p.TenantID, tenant)) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215, invalidClient)
		return
	}
	now := s.now()
	tok, exp, err := s.Issue(Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID: uuid.NewString(), Subject: p.ObjectID, Issuer: baseURL(r) + "/" + p.TenantID + "/v2.0",
			Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		},
		TenantID: p.TenantID, ObjectID: p.ObjectID, AppID: p.ClientID,
	})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", 90015, "The token could not be signed.")
		return
	}
	secs := int(exp.Sub(now).Seconds())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// serveJWKS publishes the signing key (RFC 7517) so that third parties can
// verify our tokens.
func (s *Service) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"keys": []jwk{publicJWK(&s.key.PublicKey, s.kid)}})
}

// serveOpenID is OpenID Connect Discovery 1.0 §4 for the tenant (or
// alias) in the path; v1 and v2 differ in endpoint paths and issuer. MSAL
// needs token_endpoint and authorization_endpoint (az-cli.md §2).
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
