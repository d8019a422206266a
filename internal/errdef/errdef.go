// Package errdef defines the few error classes that domain code returns.
//
// Domain packages wrap a class with context (fmt.Errorf("blob %s: %w", d,
// errdef.ErrNotFound)); each plane translates classes to wire codes once, in
// its own errors.go table. Nothing here knows about HTTP.
package errdef

import "errors"

// The error classes. Check them with errors.Is, never with ==.
var (
	// ErrNotFound means the named thing does not exist (or is not visible to
	// the caller, which must look the same).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a create collided with an existing thing.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument means the request itself is malformed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition means the request is well formed but the current
	// state forbids it (for example a policy rule).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrDenied means the caller is authenticated but not allowed.
	ErrDenied = errors.New("denied")
	// ErrUnauthenticated means the caller did not prove who it is.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrConflict means a concurrent change won; retrying may succeed.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means a dependency is temporarily unavailable.
	ErrUnavailable = errors.New("unavailable")
	// ErrTooLarge means a body or value exceeds a documented limit.
	ErrTooLarge = errors.New("too large")
	// ErrInsufficientStorage means the storage behind a store is full (no
	// space left, quota exhausted). Nothing is wrong with the request: it
	// may succeed once space is freed, so planes answer it as a retryable
	// server-side condition, never as the client's fault.
	ErrInsufficientStorage = errors.New("insufficient storage")
)

// Classes returns every class above, in declaration order, as a new slice.
// Each plane's table test walks it, so a class added here without a row in
// a plane's errors.go table fails that test instead of answering 500.
func Classes() []error {
	return []error{
		ErrNotFound,
		ErrAlreadyExists,
		ErrInvalidArgument,
		ErrFailedPrecondition,
		ErrDenied,
		ErrUnauthenticated,
		ErrConflict,
		ErrUnavailable,
		ErrTooLarge,
		ErrInsufficientStorage,
	}
}
