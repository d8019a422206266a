package oci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// maxAuthHeader bounds the Authorization header; anything longer is not a
// credential we issued.
const maxAuthHeader = 16 << 10

// caller is the authenticated principal of one request.
type caller struct {
	principalID string
	tenantID    string
	// access is the token's grant when the caller presented a Bearer token;
	// nil for Basic callers, whose every request is checked against RBAC.
	access []identity.Access
	bearer bool
}

// service is the token audience for requests to this host: the registry's
// login server in host mode, the listener's host in path mode.
func (s *Service) service(r *http.Request, hostReg string) string {
	if hostReg != "" {
		return hostReg + s.suffix
	}
	return r.Host
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// authenticate establishes who is calling. It accepts HTTP Basic with a
// registry's admin user or a service principal's clientId:secret, or a
// Bearer access token minted by /oauth2/token for this service.
func (s *Service) authenticate(r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return caller{}, fmt.Errorf("authentication required: %w", errdef.ErrUnauthenticated)
	}
	if len(h) > maxAuthHeader {
		return caller{}, fmt.Errorf("authorization header too long: %w", errdef.ErrUnauthenticated)
	}
	kind, cred, _ := strings.Cut(h, " ")
	switch strings.ToLower(kind) {
	case "basic":
		return s.basic(r, cred)
	case "bearer":
		claims, err := s.tokens.Verify(strings.TrimSpace(cred), s.service(r, s.hostRegistry(r)))
		if err != nil || claims.GrantType != grantAccess {
			return caller{}, fmt.Errorf("invalid access token: %w", errdef.ErrUnauthenticated)
		}
		return caller{principalID: claims.ObjectID, tenantID: claims.TenantID, access: claims.Access, bearer: true}, nil
	}
	return caller{}, fmt.Errorf("unsupported authorization scheme: %w", errdef.ErrUnauthenticated)
}

func (s *Service) basic(r *http.Request, cred string) (caller, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return caller{}, fmt.Errorf("malformed basic credentials: %w", errdef.ErrUnauthenticated)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return caller{}, fmt.Errorf("malformed basic credentials: %w", errdef.ErrUnauthenticated)
	}
	// One sign-in attempt of user from the client's address, whichever
	// kind of principal user turns out to be: failures are throttled
	// (signin.Guard), so that guessing is slow and costs little CPU.
	var who caller
	err = s.guard.Attempt(user, s.clientAddr(r), func() error {
		var err error
		who, err = s.signIn(r, user, pass)
		return err
	})
	return who, err
}

// signIn checks Basic credentials as a registry's admin user, a
// repository token or a service principal, in that order.
func (s *Service) signIn(r *http.Request, user, pass string) (caller, error) {
	if who, ok, err := s.adminUser(r.Context(), user, pass); ok {
		return who, err
	}
	if who, ok, err := s.tokenUser(r, user, pass); ok {
		return who, err
	}
	p, err := s.tokens.VerifySecret(r.Context(), user, pass)
	if errors.Is(err, errdef.ErrUnauthenticated) {
		return caller{}, fmt.Errorf("invalid credentials: %w", errdef.ErrUnauthenticated)
	}
	if err != nil {
		// A store failure or a cancelled request says nothing about the
		// credentials: it must not read as a wrong password.
		return caller{}, fmt.Errorf("check credentials: %w", err)
	}
	return caller{principalID: p.ObjectID, tenantID: p.TenantID}, nil
}

// Token actions (Docker token scope grammar) and the RBAC action each needs.
var tokenActions = map[string]string{
	"pull":   authz.ActionPull,
	"push":   authz.ActionPush,
	"delete": authz.ActionDelete,
}

// authorize checks the caller may perform the request's action on the
// addressed repository. Catalog and base need only authentication here;
// the catalog filters by what the caller may read.
func (s *Service) authorize(r *http.Request, c *call, rt route) error {
	if rt.action == "" {
		if c.caller.bearer && c.req.kind == kindCatalog && !c.caller.allows("registry", "catalog", "*") {
			return fmt.Errorf("token lacks registry:catalog:*: %w", errdef.ErrDenied)
		}
		return nil
	}
	return s.allowed(r, c, c.reg, c.req.repo, c.name(), rt.action)
}

// allowed is the one data-plane permission check: Bearer callers need the
// action in their token's grant for name; Basic callers need an RBAC role
// at the registry.
func (s *Service) allowed(r *http.Request, c *call, reg meta.Registry, repo, name, action string) error {
	if c.caller.bearer {
		// An admin user's or a repository token's access token names
		// repositories, not the registry's key: it must not open a
		// registry recreated under the same name.
		if key, ok := c.caller.boundTo(); ok && key != reg.Key {
			return fmt.Errorf("token of a deleted registry's user: %w", errdef.ErrDenied)
		}
		if c.caller.allows("repository", name, action) {
			return nil
		}
		return fmt.Errorf("token lacks repository:%s:%s: %w", name, action, errdef.ErrDenied)
	}
	return s.meta.View(r.Context(), func(tx meta.Tx) error {
		return permits(tx, c.caller, reg, repo, tokenActions[action])
	})
}

func (c caller) allows(typ, name, action string) bool {
	for _, a := range c.access {
		if a.Type == typ && a.Name == name && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*")) {
			return true
		}
	}
	return false
}

// challenge answers an authentication or authorization failure. Bearer
// callers that lack a scope get 401 with the scope they need (pull plus
// the route's action), so clients fetch a better token (Docker token
// spec); Basic callers that are known but not allowed get 403 DENIED.
func (s *Service) challenge(w http.ResponseWriter, r *http.Request, c *call, rt route, err error) {
	if !errors.Is(err, errdef.ErrUnauthenticated) && !errors.Is(err, errdef.ErrDenied) {
		s.answerError(w, r, err) // a store failure, a cancelled request: no challenge
		return
	}
	if errors.Is(err, errdef.ErrDenied) && !c.caller.bearer {
		writeError(w, r, fail(codeDenied, "requested access to the resource is denied", err))
		return
	}
	hostReg := s.hostRegistry(r)
	v := fmt.Sprintf(`Bearer realm="%s://%s/oauth2/token",service="%s"`, scheme(r), r.Host, s.service(r, hostReg))
	switch c.req.kind {
	case kindBase:
	case kindCatalog:
		v += `,scope="registry:catalog:*"`
	default:
		actions := "pull"
		if rt.action != "" && rt.action != "pull" {
			actions = "pull," + rt.action
		}
		v += fmt.Sprintf(`,scope="repository:%s:%s"`, c.name(), actions)
	}
	w.Header().Set("WWW-Authenticate", v)
	msg := "authentication required"
	if errors.Is(err, errdef.ErrDenied) {
		msg = "requested access to the resource is denied"
	}
	writeError(w, r, fail(codeUnauthorized, msg, err))
}

// Grant types carried in our data-plane JWTs.
const (
	grantAccess  = "access_token"
	grantRefresh = "refresh_token"
)

// serveToken implements the registry's token endpoint: GET with Basic
// credentials (Docker token spec) and POST with grant_type password or
// refresh_token (OAuth2 form, as ACR documents it in acr-api.md §10.1).
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request, hostReg string) {
	var (
		who    caller
		err    error
		scopes []string
	)
	switch r.Method {
	case http.MethodGet:
		scopes = r.URL.Query()["scope"]
		who, err = s.authenticate(r)
		if err == nil && who.bearer {
			err = fmt.Errorf("use Basic credentials or a refresh token: %w", errdef.ErrUnauthenticated)
		}
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if perr := r.ParseForm(); perr != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
			return
		}
		for _, sc := range r.PostForm["scope"] {
			scopes = append(scopes, strings.Fields(sc)...)
		}
		switch r.PostForm.Get("grant_type") {
		case "password":
			who, err = s.basic(r, base64.StdEncoding.EncodeToString([]byte(r.PostForm.Get("username")+":"+r.PostForm.Get("password"))))
		case "refresh_token":
			who, err = s.refreshCaller(r, hostReg, r.PostForm.Get("refresh_token"))
		default:
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token")
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, r, fail(codeUnsupported, "method not allowed"))
		return
	}
	user := basicUser(r)
	if r.Method == http.MethodPost {
		user = r.PostForm.Get("username")
	}
	s.noteLogin(r, s.registryForLogin(r, scopeRegistry(hostReg, scopes)), who, user)
	if errors.Is(err, errdef.ErrUnauthenticated) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="%s"`, s.service(r, hostReg)))
		writeError(w, r, fail(codeUnauthorized, "authentication required", err))
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	access, err := s.grant(r, hostReg, who, scopes)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	now := time.Now()
	tok, exp, err := s.tokens.Issue(s.claims(r, hostReg, who, grantAccess, access, now, s.tokenTTL))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	resp := map[string]any{"token": tok, "access_token": tok, "expires_in": int(time.Until(exp).Seconds()), "issued_at": now.UTC().Format(time.RFC3339)}
	if r.Method == http.MethodPost && r.PostForm.Get("access_type") == "offline" {
		if rt, _, err := s.tokens.Issue(s.claims(r, hostReg, who, grantRefresh, nil, now, 3*time.Hour)); err == nil {
			resp["refresh_token"] = rt
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp)
}

// serveExchange trades an Entra access token for an ACR refresh token
// (the `az acr login` path, acr-api.md §10.1 step 2).
func (s *Service) serveExchange(w http.ResponseWriter, r *http.Request, hostReg string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, r, fail(codeUnsupported, "method not allowed"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	gt := r.PostForm.Get("grant_type")
	tok := r.PostForm.Get("access_token")
	if gt != "access_token" && gt != "access_token_refresh_token" || tok == "" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be access_token with an access_token")
		return
	}
	// Only a token meant for us: a management token (az sends its ARM
	// token) or one for ACR's resource, never one minted for another
	// service that trusts our published key; and of the tenant the client
	// names, when it names one.
	claims, err := s.tokens.Verify(tok)
	s.noteLogin(r, s.registryForLogin(r, hostReg), caller{principalID: claims.ObjectID, tenantID: claims.TenantID}, "")
	if err != nil || !claims.ForExchange() {
		audit.NoteFrom(r.Context()).ErrorCode = "invalid_grant"
		writeOAuthError(w, http.StatusUnauthorized, "invalid_grant", "the access token is not valid, or not for the management plane or the registry")
		return
	}
	if t := r.PostForm.Get("tenant"); t != "" && !strings.EqualFold(t, claims.TenantID) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_grant", "the access token is not of the tenant the request names")
		return
	}
	who := caller{principalID: claims.ObjectID, tenantID: claims.TenantID}
	rt, _, err := s.tokens.Issue(s.claims(r, hostReg, who, grantRefresh, nil, time.Now(), 3*time.Hour))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"refresh_token": rt})
}

func (s *Service) refreshCaller(r *http.Request, hostReg, tok string) (caller, error) {
	claims, err := s.tokens.Verify(tok, s.service(r, hostReg))
	if err != nil || claims.GrantType != grantRefresh {
		return caller{}, fmt.Errorf("invalid refresh token: %w", errdef.ErrUnauthenticated)
	}
	return caller{principalID: claims.ObjectID, tenantID: claims.TenantID}, nil
}

func (s *Service) claims(r *http.Request, hostReg string, who caller, grant string, access []identity.Access, now time.Time, ttl time.Duration) identity.Claims {
	return identity.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        uuid.NewString(),
			Subject:   who.principalID,
			Issuer:    "Bulkhead Container Registry",
			Audience:  jwt.ClaimStrings{s.service(r, hostReg)},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		TenantID:  who.tenantID,
		ObjectID:  who.principalID,
		GrantType: grant,
		Access:    access,
	}
}

// grant intersects the requested scopes with what RBAC allows. Scopes
// that name unknown registries or that the caller may not use are left
// out, as the Docker token spec asks; the registry then answers 401/403.
func (s *Service) grant(r *http.Request, hostReg string, who caller, scopes []string) ([]identity.Access, error) {
	var out []identity.Access
	for _, sc := range scopes {
		typ, rest, ok := strings.Cut(sc, ":")
		i := strings.LastIndex(rest, ":")
		if !ok || i <= 0 {
			continue
		}
		name, actions := rest[:i], strings.Split(rest[i+1:], ",")
		switch typ {
		case "registry":
			if name == "catalog" {
				out = append(out, identity.Access{Type: typ, Name: name, Actions: []string{"*"}})
			}
		case "repository":
			reg, repo := hostReg, name
			if reg == "" {
				var ok bool
				if reg, repo, ok = strings.Cut(name, "/"); !ok {
					continue
				}
			}
			var granted []string
			err := s.meta.View(r.Context(), func(tx meta.Tx) error {
				rg, err := tx.RegistryByName(reg)
				if err != nil {
					return err
				}
				// No token for a registry the client cannot reach.
				if network.Check(rg, s.clientAddr(r)) != nil {
					return nil
				}
				for _, a := range actions {
					want := []string{a}
					if a == "*" {
						want = []string{"pull", "push", "delete"}
					}
					for _, w := range want {
						if act, ok := tokenActions[w]; ok && !slices.Contains(granted, w) && permits(tx, who, rg, repo, act) == nil {
							granted = append(granted, w)
						}
					}
				}
				return nil
			})
			if err != nil && !errors.Is(err, errdef.ErrNotFound) {
				return nil, err
			}
			if len(granted) > 0 {
				out = append(out, identity.Access{Type: typ, Name: name, Actions: granted})
			}
		}
	}
	return out, nil
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
