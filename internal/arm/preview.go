package arm

import (
	"context"
	"errors"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Previewer is the optional capability of a Dispatcher to preview a write
// (STYLE rule 3: found by type assertion). *Router implements it.
type Previewer interface {
	// Preview serves c as Dispatcher.Call does (authentication, the
	// api-version gate, authorization of the route's own action), but
	// runs the route's Preview instead of its handler and tells no write
	// hook: nothing is written. ok is false, and res empty, when the route
	// c matches declares no Preview: the caller predicts the write itself.
	// A path that matches no route is answered with the router's error,
	// as Call answers it.
	Preview(ctx context.Context, base *http.Request, c Call) (res Result, ok bool)
}

// previewKey carries the state of one Router.Preview to serve;
// unexported, so only this package can start a preview.
type previewKey struct{}

// preview is one Router.Preview as serve sees it.
type preview struct {
	unsupported bool // the matched route declares no Preview
}

// Preview implements Previewer.
func (rt *Router) Preview(ctx context.Context, base *http.Request, c Call) (Result, bool) {
	pv := &preview{}
	res := rt.Call(context.WithValue(ctx, previewKey{}, pv), base, c)
	if pv.unsupported {
		return Result{}, false
	}
	return res, true
}

// previewOf returns the preview r is part of, if any. A call made in
// process by a previewing handler is a preview too, so it cannot write
// either.
func previewOf(r *http.Request) (*preview, bool) {
	pv, ok := r.Context().Value(previewKey{}).(*preview)
	return pv, ok
}

// errNoPreview answers a preview of a route without one; only in-process
// callers see it, and Preview turns it into ok == false.
func errNoPreview(method, path string) error {
	return Errorf(http.StatusNotImplemented, "PreviewNotSupported",
		"The route '%s %s' offers no preview.", method, path).WithCause(errdef.ErrFailedPrecondition)
}

// PreviewStore returns store with every Update rolled back. fn runs in a
// real write transaction, so it reads, checks and writes exactly as it
// would; Update then returns fn's error, or nil when fn succeeded, and
// nothing fn wrote is committed. A handler whose only effects are its
// store transactions (meta.Store already requires Update's fn to have no
// other) can serve as its own Route.Preview by running on it. Its later
// transactions do not see its earlier ones: a handler that writes in two
// transactions and reads its first write back cannot preview this way.
func PreviewStore(store meta.Store) meta.Store { return rollbackStore{store} }

type rollbackStore struct{ meta.Store }

// errRolledBack makes the backend roll back a transaction whose fn
// succeeded.
var errRolledBack = errors.New("preview: rolled back")

func (s rollbackStore) Update(ctx context.Context, fn func(tx meta.Tx) error) error {
	err := s.Store.Update(ctx, func(tx meta.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRolledBack
	})
	if errors.Is(err, errRolledBack) {
		return nil
	}
	return err
}

// Close does nothing: the store belongs to whoever opened it.
func (s rollbackStore) Close() error { return nil }
