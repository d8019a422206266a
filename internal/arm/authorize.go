package arm

import (
	"context"
	"errors"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Authorize checks, inside tx, that the request's caller may perform
// action at scope. A refusal is ARM's 403 AuthorizationFailed; any other
// failure (no caller, a store error) is returned as it is.
func Authorize(ctx context.Context, tx meta.Tx, scope, action string) error {
	c, err := authz.CallerFromContext(ctx)
	if err != nil {
		return err
	}
	err = authz.Check(tx, c.ObjectID, scope, action)
	if errors.Is(err, errdef.ErrDenied) {
		return AuthorizationFailed(c.ClientID, c.ObjectID, action, scope)
	}
	return err
}
