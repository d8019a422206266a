package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
	"github.com/google/uuid"
)

// The token service's errors, in one place (STYLE rule 5). Its own routes
// answer in the OAuth2 envelope that MSAL and the Azure SDKs parse
// (RFC 6749 §5.2 plus Entra's AADSTS numbers); the management plane's
// Bearer check answers in ARM's envelope, as ARM does.

// oauthError is a refusal of the token service: the HTTP status, the
// RFC 6749 §5.2 error code, the Entra error number (AADSTS…) and the
// description sent to the client. class is the errdef class; cause, when
// set, is a server-side failure that is logged and never sent.
type oauthError struct {
	status int
	code   string
	aadsts int
	desc   string
	class  error
	cause  error
	// retryAfter, when set, is sent as Retry-After (whole seconds).
	retryAfter int
}

// Error returns the wire description, and the cause for the log.
func (e *oauthError) Error() string {
	msg := fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.desc)
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the class and the cause, for errors.Is.
func (e *oauthError) Unwrap() []error {
	var out []error
	for _, err := range []error{e.class, e.cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func errBodyTooLarge() *oauthError {
	return &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", aadsts: 90014,
		desc: "The request body is too large.", class: errdef.ErrTooLarge}
}

func errNotForm() *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", aadsts: 900144,
		desc: "The request body must be application/x-www-form-urlencoded.", class: errdef.ErrInvalidArgument}
}

func errMissingParameter(name string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", aadsts: 900144,
		desc: fmt.Sprintf("The request body must contain the following parameter: '%s'.", name), class: errdef.ErrInvalidArgument}
}

func errUnsupportedGrant(grant string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type", aadsts: 70003,
		desc: fmt.Sprintf("The app requested an unsupported grant type %.64q; use client_credentials.", grant), class: errdef.ErrInvalidArgument}
}

func errTenantNotFound(segment string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", aadsts: 90002,
		desc: fmt.Sprintf("Tenant '%.64s' not found. Check to make sure you have the correct tenant ID.", segment), class: errdef.ErrNotFound}
}

// errNoSecret is Entra's answer to a client that sent no credential.
func errNoSecret() *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", aadsts: 7000218,
		desc: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", class: errdef.ErrUnauthenticated}
}

func errInvalidScope() *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_scope", aadsts: 1002012,
		desc: "Provide one scope ending in /.default (or a v1 resource).", class: errdef.ErrInvalidArgument}
}

// errInvalidClient is Entra's answer to any bad client credential; the
// same for an unknown client, a wrong or expired secret and a client of
// another tenant, so that it reveals nothing.
func errInvalidClient() *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", aadsts: 7000215,
		desc:  "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
		class: errdef.ErrUnauthenticated}
}

// statusClientClosed is the status of a request whose client went away
// (nginx's 499), so that the access log neither blames the server nor the
// client's credentials.
const statusClientClosed = 499

// errClientGone answers a request whose context was cancelled: its client
// closed the connection, and nothing failed that is worth an error.
func errClientGone(cause error) *oauthError {
	return &oauthError{status: statusClientClosed, code: "temporarily_unavailable", aadsts: 90033,
		desc: "The request was cancelled by the client.", cause: cause}
}

// errTransient is a store failure while checking a request: the client
// may retry. A cancelled request is the client's doing, not the store's.
func errTransient(cause error) *oauthError {
	if errors.Is(cause, context.Canceled) {
		return errClientGone(cause)
	}
	return &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", aadsts: 90033,
		desc: "A transient error has occurred. Please try again.", class: errdef.ErrUnavailable, cause: cause}
}

// errThrottled answers a sign-in the guard refused without checking it:
// 429 with Entra's code for a sign-in locked after too many failures
// (AADSTS50053, which Entra also gives for an address with malicious
// activity), or, when the server is saturated with checks, 503 like a
// transient error. Both carry Retry-After, which MSAL honours.
func errThrottled(th *signin.Throttled) *oauthError {
	if th.Busy {
		return &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", aadsts: 90033,
			desc: "A transient error has occurred: too many sign-ins are being checked. Please try again.", class: th, retryAfter: th.Seconds()}
	}
	return &oauthError{status: http.StatusTooManyRequests, code: "invalid_client", aadsts: 50053,
		desc:  fmt.Sprintf("The sign-in is locked because of too many attempts with an incorrect client id or secret from this address. Try again in %d seconds.", th.Seconds()),
		class: th, retryAfter: th.Seconds()}
}

func errSigning(cause error) *oauthError {
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", aadsts: 90015,
		desc: "The token could not be signed.", cause: cause}
}

// classTable answers, in the OAuth envelope, the errors that are not the
// token service's own: those of the router (a body over arm.MaxBody, an
// unreadable body). Anything else is a server fault whose cause is never
// sent.
var classTable = []struct {
	class error
	to    func() *oauthError
}{
	{errdef.ErrTooLarge, errBodyTooLarge},
	{errdef.ErrInvalidArgument, errNotForm},
}

// toOAuth finds the OAuth answer to err.
func toOAuth(err error) *oauthError {
	if oe, ok := errors.AsType[*oauthError](err); ok {
		return oe
	}
	if errors.Is(err, context.Canceled) {
		return errClientGone(err)
	}
	if th, ok := errors.AsType[*signin.Throttled](err); ok {
		return errThrottled(th)
	}
	for _, row := range classTable {
		if errors.Is(err, row.class) {
			return row.to()
		}
	}
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", aadsts: 50000,
		desc: "There was an error issuing a token or an issue with the sign-in service.", cause: err}
}

// writeError writes err in the Entra/OAuth2 envelope (RFC 6749 §5.2 plus
// Entra's error_codes, timestamp, trace_id and correlation_id) and returns
// the status: the token service's Table.WriteError. The description
// starts with the AADSTS number, as Entra's do.
func writeError(w http.ResponseWriter, err error) int {
	e := toOAuth(err)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": e.code, "error_description": fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.desc), "error_codes": []int{e.aadsts},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": uuid.NewString(), "correlation_id": uuid.NewString(),
	})
	return e.status
}

// errNoBearer is ARM's 401 for a management request without a Bearer
// token.
func errNoBearer() error {
	return arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed",
		"Authentication failed. The 'Authorization' header is missing or not a Bearer token.").WithCause(errdef.ErrUnauthenticated)
}

// errWrongAudience is ARM's 401 for a valid token issued for another
// resource, in ARM's words, with its allowed audiences and ours.
func errWrongAudience(r *http.Request, c Claims) error {
	var allowed []string
	for _, a := range append(slices.Clone(armAudiences), arm.BaseURL(r)+"/") {
		allowed = append(allowed, "'"+a+"'")
	}
	e := arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
		"The access token has been obtained for wrong audience or resource '%.256s'. It should exactly match with one of the allowed audiences %s.",
		strings.Join(c.Audience, "','"), strings.Join(allowed, ","))
	e.Challenge = fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token", error_description="The access token has been obtained for wrong audience or resource."`,
		arm.BaseURL(r), c.TenantID)
	return e.WithCause(errdef.ErrUnauthenticated)
}

// errInvalidToken is ARM's 401 for a Bearer token that does not verify or
// is not a management token.
func errInvalidToken() error {
	return arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.").
		WithCause(errdef.ErrUnauthenticated)
}
