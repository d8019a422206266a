package identity

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/audit"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Table declares the token service's public routes for arm's router:
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
//
// Every route is anonymous (it is how a client gets a token, or what a
// client reads before it has one) and accepts any api-version. Errors
// are written in the OAuth2/Entra envelope, not ARM's.
func (s *Service) Table() arm.Table {
	token := arm.Anonymous("the token endpoint is how a client gets a token: it checks the client's own credentials from the form")
	public := arm.Anonymous("signing keys and discovery documents are public, for anyone who verifies our tokens")
	none := arm.MovesNoContent("the token service issues tokens and publishes keys and metadata; it reads no registry")
	anyVersion := arm.AnyAPIVersion()
	return arm.Table{Name: "identity", WriteError: writeError, Routes: []arm.Route{
		{Method: "POST", Pattern: "/{tenant}/oauth2/v2.0/token", Versions: anyVersion, Access: token, Egress: none, Handle: s.token},
		{Method: "POST", Pattern: "/{tenant}/oauth2/token", Versions: anyVersion, Access: token, Egress: none, Handle: s.token},
		{Method: "GET", Pattern: "/{tenant}/discovery/v2.0/keys", Versions: anyVersion, Access: public, Egress: none, Handle: s.jwks},
		{Method: "GET", Pattern: "/{tenant}/discovery/keys", Versions: anyVersion, Access: public, Egress: none, Handle: s.jwks},
		{Method: "GET", Pattern: "/{tenant}/v2.0/.well-known/openid-configuration", Versions: anyVersion, Access: public, Egress: none, Handle: s.openID(true)},
		{Method: "GET", Pattern: "/{tenant}/.well-known/openid-configuration", Versions: anyVersion, Access: public, Egress: none, Handle: s.openID(false)},
		{Method: "GET", Pattern: "/metadata/endpoints", Versions: anyVersion,
			Access: arm.Anonymous("az reads the cloud's endpoints before it has signed in"), Egress: none, Handle: s.cloudMetadata},
	}}
}

// maxFormBytes bounds a token request body: a form with a client id, a
// secret and a scope is far smaller.
const maxFormBytes = 64 << 10

// formType is the media type of a token request (RFC 6749 §4.4.2).
const formType = "application/x-www-form-urlencoded"

// tokenForm parses the token request's form from the body the router
// read, as net/http's ParseForm would: another media type gives an empty
// form (and so a missing grant_type), a malformed Content-Type or body is
// refused.
func tokenForm(q *arm.Request) (url.Values, error) {
	body := q.Body()
	if len(body) > maxFormBytes {
		return nil, errBodyTooLarge()
	}
	ct := q.HTTP.Header.Get("Content-Type")
	if ct == "" {
		return url.Values{}, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, errNotForm()
	}
	if mt != formType {
		return url.Values{}, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errNotForm()
	}
	return form, nil
}

// baseURL is the scheme and host the request came in on: documents built
// from it point clients back at the address they used.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// errNoSuchTenant is resolveTenant's answer for a tenant we do not have.
var errNoSuchTenant = fmt.Errorf("tenant: %w", errdef.ErrNotFound)

// resolveTenant maps the path's tenant segment to a tenant id. The aliases
// adfs, common and organizations name no tenant (the empty id): the
// client's own tenant is meant, or the form's "tenant" when given (az's
// MSAL sends none in ADFS mode). Anything else must be a tenant we have.
func (s *Service) resolveTenant(ctx context.Context, form url.Values, segment string) (string, error) {
	switch strings.ToLower(segment) {
	case "adfs", "common", "organizations":
		segment = form.Get("tenant")
		if segment == "" {
			return "", nil
		}
	}
	var tenants []meta.Tenant
	if err := s.store.View(ctx, func(tx meta.Tx) (err error) {
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
	return "", errNoSuchTenant
}

// token is the client-credentials token endpoint: v2 takes scope
// ("<resource>/.default"), v1 takes resource. RFC 6749 §4.4; Entra's
// client-credentials flow. Client credentials come in the form
// (client_secret_post) or as HTTP Basic (client_secret_basic).
func (s *Service) token(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	form, err := tokenForm(q)
	if err != nil {
		return nil, err
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return nil, errMissingParameter("grant_type")
	default:
		return nil, errUnsupportedGrant(gt)
	}
	tenant, err := s.resolveTenant(ctx, form, q.Value("tenant"))
	if errors.Is(err, errNoSuchTenant) {
		return nil, errTenantNotFound(q.Value("tenant"))
	}
	if err != nil {
		return nil, errTransient(err)
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := q.HTTP.BasicAuth(); ok && clientID == "" && secret == "" {
		clientID, secret = u, p
	}
	if clientID == "" {
		return nil, errMissingParameter("client_id")
	}
	noteSignIn(ctx, q, tenant, clientID, "")
	if secret == "" {
		return nil, errNoSecret()
	}
	audience := resourceScope(form.Get("scope"))
	if audience == "" {
		audience = form.Get("resource")
	}
	if audience == "" || strings.ContainsAny(audience, " \t") || len(audience) > 1024 {
		return nil, errInvalidScope()
	}
	// One sign-in attempt of clientID from the client's address: a wrong
	// secret, or a client of another tenant, is a failure the guard counts.
	var p meta.Principal
	err = s.guard.Attempt(clientID, network.ClientAddr(q.HTTP.RemoteAddr, q.HTTP.Header.Values("X-Forwarded-For"), s.trusted), func() error {
		var err error
		if p, err = s.VerifySecret(ctx, clientID, secret); err == nil && tenant != "" && !strings.EqualFold(p.TenantID, tenant) {
			return errBadCredentials
		}
		return err
	})
	if th, ok := errors.AsType[*signin.Throttled](err); ok {
		return nil, errThrottled(th)
	}
	if errors.Is(err, errdef.ErrUnauthenticated) {
		return nil, errInvalidClient()
	}
	if err != nil {
		return nil, errTransient(err)
	}
	noteSignIn(ctx, q, tenant, clientID, p.ObjectID)
	now := s.now()
	tok, exp, err := s.Issue(Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID: uuid.NewString(), Subject: p.ObjectID, Issuer: baseURL(q.HTTP) + "/" + p.TenantID + "/v2.0",
			Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		},
		TenantID: p.TenantID, ObjectID: p.ObjectID, AppID: p.ClientID,
	})
	if err != nil {
		return nil, errSigning(err)
	}
	secs := int(exp.Sub(now).Seconds())
	// RFC 6749 §5.1: a token answer must not be cached.
	return &arm.Response{Status: http.StatusOK, Header: http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}},
		Body: map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok}}, nil
}

// jwks publishes the signing key (RFC 7517) so that third parties can
// verify our tokens.
func (s *Service) jwks(context.Context, *arm.Request) (*arm.Response, error) {
	return arm.OK(map[string]any{"keys": []jwk{publicJWK(&s.key.PublicKey, s.kid)}}), nil
}

// openID is OpenID Connect Discovery 1.0 §4 for the tenant (or alias) in
// the path; v1 and v2 differ in endpoint paths and issuer. MSAL needs
// token_endpoint and authorization_endpoint (az-cli.md §2).
func (s *Service) openID(v2 bool) arm.Handler {
	return func(_ context.Context, q *arm.Request) (*arm.Response, error) {
		base := baseURL(q.HTTP) + "/" + q.Value("tenant")
		tokenPath, keysPath, issuer := "/oauth2/token", "/discovery/keys", base
		if v2 {
			tokenPath, keysPath, issuer = "/oauth2/v2.0/token", "/discovery/v2.0/keys", base+"/v2.0"
		}
		return arm.OK(map[string]any{
			"issuer":                                issuer,
			"token_endpoint":                        base + tokenPath,
			"authorization_endpoint":                base + "/oauth2/authorize",
			"jwks_uri":                              base + keysPath,
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
			"grant_types_supported":                 []string{"client_credentials"},
			"response_types_supported":              []string{"token"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"tenant_region_scope":                   "WW",
		}), nil
	}
}

// cloudMetadata answers az cloud register's autodetection (az-cli.md §2):
// the login endpoint must end in "adfs".
func (s *Service) cloudMetadata(_ context.Context, q *arm.Request) (*arm.Response, error) {
	base := baseURL(q.HTTP)
	return arm.OK(map[string]any{
		"galleryEndpoint": base + "/gallery/",
		"graphEndpoint":   base + "/graph/",
		"portalEndpoint":  base + "/portal/",
		"authentication": map[string]any{
			"loginEndpoint": base + "/adfs",
			"audiences":     []string{base + "/"},
		},
		"name": "Bulkhead",
	}), nil
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

// noteSignIn asks for a sign-in record of clientID in the tenant's stream:
// every attempt at the token service is audited, whatever its outcome
// (the server completes the record with the answer's status).
func noteSignIn(ctx context.Context, q *arm.Request, tenant, clientID, objectID string) {
	if tenant == "" {
		tenant = "common" // a multi-tenant authority; the tenant is not known yet
	}
	if len(clientID) > 128 {
		clientID = clientID[:128]
	}
	n := audit.NoteFrom(ctx)
	id := objectID
	if id == "" {
		id = clientID
	}
	n.Principal, n.Want = id, true
	n.Rec = audit.Record{ResourceID: "/tenants/" + tenant, Category: audit.CategorySignIn, OperationName: audit.OpLogin, Identity: id,
		CallerIPAddress: n.ClientAddr,
		Properties: audit.Properties{Caller: clientID, IdentityType: audit.IdentityServicePrincipal, UserTenantID: tenant,
			Route: q.HTTP.Method + " " + q.HTTP.URL.Path}}
}
