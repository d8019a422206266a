package oci

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
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

// classTable maps errdef classes that reach the plane without an apiError.
// Unknown errors become 500 UNAVAILABLE-free "internal" answers only for
// genuine server faults (storage I/O), never for bad input.
var classTable = []struct {
	class error
	code  code
}{
	{errdef.ErrUnauthenticated, codeUnauthorized},
	{errdef.ErrDenied, codeDenied},
	{errdef.ErrTooLarge, codeSizeInvalid},
	{errdef.ErrInvalidArgument, codeNameInvalid},
	{errdef.ErrUnavailable, codeUnavailable},
}

// toAPIError finds the wire form of err.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ni nameInvalid
	if errors.As(err, &ni) {
		return fail(codeNameInvalid, ni.msg, err)
	}
	for _, row := range classTable {
		if errors.Is(err, row.class) {
			return fail(row.code, err.Error(), err)
		}
	}
	return &apiError{code: "INTERNAL_ERROR", status: http.StatusInternalServerError, msg: "internal error", err: err}
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.Header().Del("Docker-Content-Digest")
	w.WriteHeader(ae.status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(struct {
			Errors []wireError `json:"errors"`
		}{[]wireError{{Code: ae.code, Message: ae.msg, Detail: struct{}{}}}})
	}
	return ae
}
