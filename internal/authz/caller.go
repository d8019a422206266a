package authz

import (
	"context"
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Caller is the authenticated principal of a request. The server sets it once
// after authentication; handlers read it and pass it to Check.
type Caller struct {
	ObjectID string
	ClientID string
	TenantID string
	Kind     string // "ServicePrincipal"
}

type callerKey struct{}

// WithPrincipal returns ctx carrying the caller.
func WithPrincipal(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller, or an error wrapping
// errdef.ErrUnauthenticated when none was set (fail closed).
func CallerFromContext(ctx context.Context) (Caller, error) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok || c.ObjectID == "" {
		return Caller{}, fmt.Errorf("no authenticated caller: %w", errdef.ErrUnauthenticated)
	}
	return c, nil
}
