package oci

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/bulkhead-registry/bulkhead/internal/audit"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// code is a distribution-spec error code
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes).
type code string

// Error codes used by this plane.
const (
	codeBlobUnknown         code = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   code = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   code = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       code = "DIGEST_INVALID"
	codeManifestBlobUnknown code = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     code = "MANIFEST_INVALID"
	codeManifestUnknown     code = "MANIFEST_UNKNOWN"
	codeNameInvalid         code = "NAME_INVALID"
	codeNameUnknown         code = "NAME_UNKNOWN"
	codeSizeInvalid         code = "SIZE_INVALID"
	codeUnauthorized        code = "UNAUTHORIZED"
	codeDenied              code = "DENIED"
	codeUnsupported         code = "UNSUPPORTED"
	codeTooManyRequests     code = "TOOMANYREQUESTS"
	codeRangeInvalid        code = "RANGE_INVALID"
	codeUnavailable         code = "UNAVAILABLE"
	codePaginationInvalid   code = "PAGINATION_NUMBER_INVALID"
)

// apiError is a data-plane error with its wire code and status. Handlers
// build one with fail(); domain errors without one go through the class
// table in status().
type apiError struct {
	code   code
	status int
	msg    string
	err    error // wrapped cause, for errors.Is and logs
	// retryAfter, when set, is sent as Retry-After (whole seconds).
	retryAfter int
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}
func (e *apiError) Unwrap() error { return e.err }

// fail builds an apiError. The status comes from the code table so that a
// code always has the same status.
func fail(c code, msg string, cause ...error) *apiError {
	e := &apiError{code: c, status: codeStatus[c], msg: msg}
	if len(cause) > 0 {
		e.err = cause[0]
	}
	return e
}

// withStatus overrides the table's status for the few answers the spec
// gives a more specific status than the code's usual one (413 for a too
// large manifest).
func withStatus(e *apiError, status int) *apiError {
	e.status = status
	return e
}

// codeStatus is the one table from wire code to HTTP status.
var codeStatus = map[code]int{
	codeBlobUnknown:         http.StatusNotFound,
	codeBlobUploadInvalid:   http.StatusBadRequest,
	codeBlobUploadUnknown:   http.StatusNotFound,
	codeDigestInvalid:       http.StatusBadRequest,
	codeManifestBlobUnknown: http.StatusBadRequest,
	codeManifestInvalid:     http.StatusBadRequest,
	codeManifestUnknown:     http.StatusNotFound,
	codeNameInvalid:         http.StatusBadRequest,
	codeNameUnknown:         http.StatusNotFound,
	codeSizeInvalid:         http.StatusBadRequest,
	codeUnauthorized:        http.StatusUnauthorized,
	codeDenied:              http.StatusForbidden,
	codeUnsupported:         http.StatusMethodNotAllowed,
	codeTooManyRequests:     http.StatusTooManyRequests,
	codeRangeInvalid:        http.StatusRequestedRangeNotSatisfiable,
	codeUnavailable:         http.StatusServiceUnavailable,
	codePaginationInvalid:   http.StatusBadRequest,
}

// classRow is the wire answer for one errdef class.
type classRow struct {
	class  error
	code   code
	status int
	// msg, when set, replaces the error's text, whose cause (a file path,
	// a driver message) is the server's business and not the client's.
	msg string
	// retryAfter is the Retry-After (seconds) the answer carries, if any.
	retryAfter int
}

// classTable is the one translation from errdef classes to data-plane
// answers (STYLE rule 5), for errors that reach writeError without an
// apiError; a handler that knows the resource (a blob, a manifest, an
// upload) answers with its own code instead. It has a row for every class
// in errdef.Classes (TestClassTable), so bad input or a refused request
// never becomes a 500.
//
// distribution-spec v1.1.1 requires a 4xx body's code to be one of its
// fourteen codes (#error-codes), so 4xx rows use only those. The spec has
// no code for "conflicts with the current state": those rows answer 409
// with DENIED, its one code for a refused operation that names no resource
// kind. The 503 rows use UNAVAILABLE, the code distribution's registry
// answers with; the spec's list covers 4xx bodies only, and TOOMANYREQUESTS
// would tell the client it is being rate limited, which it is not.
//
// A full disk (ErrInsufficientStorage) is 503 UNAVAILABLE with Retry-After,
// not 507 Insufficient Storage and not distribution's 500: the request was
// fine, and 503 is the one status every common client retries. docker
// retries any 5xx; go-containerregistry (crane) retries 408, 429, 500,
// 502-504 and treats UNAVAILABLE as temporary; containers/image (podman,
// skopeo) retries only 502-504; none of them retries 507. A row's
// status may differ from codeStatus when HTTP has a more precise one (413
// for an exceeded limit, as the spec asks for a manifest over the limit).
//
// Order matters only for an error that wraps two classes: the first row
// that matches wins, so problems with the caller come first, then with the
// request, then with the current state, then with a dependency.
var classTable = []classRow{
	{errdef.ErrUnauthenticated, codeUnauthorized, http.StatusUnauthorized, "", 0},
	{errdef.ErrDenied, codeDenied, http.StatusForbidden, "", 0},
	{errdef.ErrTooLarge, codeSizeInvalid, http.StatusRequestEntityTooLarge, "", 0},
	{errdef.ErrInvalidArgument, codeNameInvalid, http.StatusBadRequest, "", 0},
	{errdef.ErrNotFound, codeNameUnknown, http.StatusNotFound, "", 0},
	{errdef.ErrAlreadyExists, codeDenied, http.StatusConflict, "", 0},
	{errdef.ErrFailedPrecondition, codeDenied, http.StatusConflict, "", 0},
	{errdef.ErrConflict, codeDenied, http.StatusConflict, "", 0},
	{errdef.ErrUnavailable, codeUnavailable, http.StatusServiceUnavailable, "", 0},
	{errdef.ErrInsufficientStorage, codeUnavailable, http.StatusServiceUnavailable,
		"the registry is out of storage space; retry later", storageRetryAfter},
}

// storageRetryAfter is how long a client should wait before retrying on a
// full disk: long enough for garbage collection or an operator to free
// space, short enough for a push to recover within its retries.
const storageRetryAfter = 60

// codeInternal answers a genuine server fault (storage I/O, a bug): an
// error that is neither an apiError nor of an errdef class.
const codeInternal code = "INTERNAL_ERROR"

// statusClientClosed is the status of a request whose client went
// away before it was answered (nginx's 499): its context was cancelled,
// so whatever failed after that is no fault of the server nor of the
// client's credentials. It is what the access log and metrics record; a
// client that only half-closed its socket may still read it.
const statusClientClosed = 499

// toAPIError finds the wire form of err: 499 for a request its client
// abandoned (whatever failed because of that), else the first apiError in
// its chain, else a NAME_INVALID for a bad name, else its class's row,
// else a 500 whose message does not leak the cause.
func toAPIError(err error) *apiError {
	if errors.Is(err, context.Canceled) {
		return &apiError{code: codeUnavailable, status: statusClientClosed, msg: "the client closed the request", err: err}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	// A sign-in the guard refused: too many failures from this client
	// (TOOMANYREQUESTS, the spec's code for it), or a server saturated
	// with secret checks (503). Either may retry after a while.
	if th, ok := errors.AsType[*signin.Throttled](err); ok {
		if th.Busy {
			return &apiError{code: codeUnavailable, status: http.StatusServiceUnavailable, msg: th.Error(), err: err, retryAfter: th.Seconds()}
		}
		return &apiError{code: codeTooManyRequests, status: http.StatusTooManyRequests, msg: th.Error(), err: err, retryAfter: th.Seconds()}
	}
	var ni nameInvalid
	if errors.As(err, &ni) {
		return fail(codeNameInvalid, ni.msg, err)
	}
	for _, row := range classTable {
		if errors.Is(err, row.class) {
			msg := row.msg
			if msg == "" {
				msg = err.Error()
			}
			return &apiError{code: row.code, status: row.status, msg: msg, err: err, retryAfter: row.retryAfter}
		}
	}
	return &apiError{code: codeInternal, status: http.StatusInternalServerError, msg: "internal error", err: err}
}

type wireError struct {
	Code    code   `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail"`
}

// writeError writes err in the distribution-spec envelope. HEAD answers
// carry no body.
func writeError(w http.ResponseWriter, r *http.Request, err error) *apiError {
	ae := toAPIError(err)
	audit.NoteFrom(r.Context()).ErrorCode = string(ae.code)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.Header().Del("Docker-Content-Digest")
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	w.WriteHeader(ae.status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(struct {
			Errors []wireError `json:"errors"`
		}{[]wireError{{Code: ae.code, Message: ae.msg, Detail: struct{}{}}}})
	}
	return ae
}
