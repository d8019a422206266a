package identity

import (
	"context"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
)

// Caller is the authenticated principal of a request. It is authz.Caller
// under another name, not a copy: the request's caller has one context key
// (owned by authz, which acr and deployments read without importing
// identity), so a value set through either package is seen by both.
type Caller = authz.Caller

// KindServicePrincipal is Caller.Kind for a service principal, the only
// kind of principal Bulkhead has.
const KindServicePrincipal = "ServicePrincipal"

// WithPrincipal returns ctx carrying the caller (STYLE rule 6). The server
// sets it once, after authentication.
func WithPrincipal(ctx context.Context, c Caller) context.Context {
	return authz.WithPrincipal(ctx, c)
}

// CallerFromContext returns the request's caller, or an error wrapping
// errdef.ErrUnauthenticated when none was set (fail closed: a missing
// caller is never an anonymous default).
func CallerFromContext(ctx context.Context) (Caller, error) {
	return authz.CallerFromContext(ctx)
}

// Caller returns the caller that a verified Entra-style token identifies:
// oid, appid and tid.
func (c Claims) Caller() Caller {
	return Caller{ObjectID: c.ObjectID, ClientID: c.AppID, TenantID: c.TenantID, Kind: KindServicePrincipal}
}
