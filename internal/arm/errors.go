package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Error is an ARM error: the HTTP status and the body
// {"error":{"code","message","target"?,"details"?}} (acr-api.md §9.2).
// Providers build one when ARM documents a specific code (for example
// ResourceGroupNotFound); otherwise they return an errdef class and the
// table below picks the answer.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []*Error
	// Challenge is the WWW-Authenticate header of a 401; empty gives the
	// router's default Bearer challenge.
	Challenge string
	// RetryAfter, when set, is sent as Retry-After (whole seconds): a 429
	// or a 503 tells the client when to come back.
	RetryAfter int
	cause      error
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause given to WithCause, so errors.Is sees the class
// behind a typed ARM error.
func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that wraps cause (usually an errdef class).
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Errorf builds an ARM error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// classRow maps one errdef class to its ARM answer.
type classRow struct {
	class  error
	status int
	code   string
	// msg, when set, replaces the error's text, whose cause (a file path,
	// a driver message) is the server's business and not the caller's.
	msg string
}

// classTable is the one translation from error classes to ARM answers
// (STYLE rule 5). Anything not listed, and not an *Error, is a server
// fault: 500 InternalServerError, whose message never leaks the cause. A
// full disk is 503, which the Azure SDK retries, not the caller's fault.
var classTable = []classRow{
	{errdef.ErrNotFound, http.StatusNotFound, "ResourceNotFound", ""},
	{errdef.ErrAlreadyExists, http.StatusConflict, "Conflict", ""},
	{errdef.ErrInvalidArgument, http.StatusBadRequest, "BadRequest", ""},
	{errdef.ErrFailedPrecondition, http.StatusBadRequest, "BadRequest", ""},
	{errdef.ErrDenied, http.StatusForbidden, "AuthorizationFailed", ""},
	{errdef.ErrUnauthenticated, http.StatusUnauthorized, "AuthenticationFailed", ""},
	{errdef.ErrConflict, http.StatusConflict, "Conflict", ""},
	{errdef.ErrTooLarge, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", ""},
	{errdef.ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable", ""},
	{errdef.ErrInsufficientStorage, http.StatusServiceUnavailable, "ServiceUnavailable",
		"The registry service is out of storage space. Please retry the request later."},
}

// StatusClientClosed is the status of a request whose client went away
// before it was answered (nginx's 499). ARM has no code for it; the
// access log and metrics record it, so that a client that hung up is
// neither a server fault nor a refusal.
const StatusClientClosed = 499

// ToError finds the ARM form of err: 499 when the request's client went
// away (its context was cancelled), else the first *Error in its chain,
// else the row of its class, else a 500.
func ToError(err error) *Error {
	if errors.Is(err, context.Canceled) {
		return &Error{Status: StatusClientClosed, Code: "ClientClosedRequest",
			Message: "The client closed the connection before the request completed.", cause: err}
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	for _, row := range classTable {
		if errors.Is(err, row.class) {
			msg := row.msg
			if msg == "" {
				msg = err.Error()
			}
			return &Error{Status: row.status, Code: row.code, Message: msg, cause: err}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError",
		Message: "The server encountered an internal error. Please retry the request.", cause: err}
}

// errorBody is the wire form of an Error, fields in ARM's order.
type errorBody struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Target  string      `json:"target,omitempty"`
	Details []errorBody `json:"details,omitempty"`
}

func bodyOf(e *Error) errorBody {
	b := errorBody{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, d := range e.Details {
		b.Details = append(b.Details, bodyOf(d))
	}
	return b
}

// Body returns e as the ARM error object ({"code","message",...}), the
// form operation-status records embed.
func (e *Error) Body() map[string]any {
	m := map[string]any{"code": e.Code, "message": e.Message}
	if e.Target != "" {
		m["target"] = e.Target
	}
	if len(e.Details) > 0 {
		m["details"] = bodyOf(e).Details
	}
	return m
}

// WriteError writes err in the ARM envelope and returns the answer it
// chose, so the caller can log server faults (Status >= 500).
func WriteError(w http.ResponseWriter, err error) *Error {
	ae := ToError(err)
	WriteJSON(w, ae.Status, struct {
		Error errorBody `json:"error"`
	}{bodyOf(ae)})
	return ae
}

// AuthorizationFailed is ARM's 403 for a caller whose roles do not allow
// action at scope; it wraps errdef.ErrDenied.
func AuthorizationFailed(clientID, objectID, action, scope string) *Error {
	return Errorf(http.StatusForbidden, "AuthorizationFailed",
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		clientID, objectID, action, scope).WithCause(errdef.ErrDenied)
}

// operationNotFound answers a poll of an operation that was never
// recorded or has been purged.
func operationNotFound(id string) *Error {
	return Errorf(http.StatusNotFound, "OperationNotFound", "The operation '%s' was not found.", id).WithCause(errdef.ErrNotFound)
}

// operationFailed replays the error a failed operation recorded (its
// Body form) as the answer of its operationResults poll: 400, as ARM
// answers the result of a failed operation.
func operationFailed(body map[string]any) *Error {
	e := errorFromBody(body)
	e.Status = http.StatusBadRequest
	return e.WithCause(errdef.ErrFailedPrecondition)
}

// errorFromBody rebuilds an Error from its Body form after a JSON round
// trip.
func errorFromBody(body map[string]any) *Error {
	str := func(k string) string { s, _ := body[k].(string); return s }
	e := &Error{Code: str("code"), Message: str("message"), Target: str("target")}
	if e.Code == "" {
		e.Code = "OperationFailed"
	}
	details, _ := body["details"].([]any)
	for _, d := range details {
		if m, ok := d.(map[string]any); ok {
			e.Details = append(e.Details, errorFromBody(m))
		}
	}
	return e
}

// The router's and the api-version gate's own answers.

func invalidContent(why string) error {
	return Errorf(http.StatusBadRequest, "InvalidRequestContent",
		"The request content was invalid and could not be deserialized: '%s'.", why).WithCause(errdef.ErrInvalidArgument)
}

func errMissingAPIVersion() error {
	return Errorf(http.StatusBadRequest, "MissingApiVersionParameter",
		"The api-version query parameter (?api-version=) is required for all requests.").WithCause(errdef.ErrInvalidArgument)
}

func errInvalidAPIVersion(got string, newestFirst []string) error {
	return Errorf(http.StatusBadRequest, "InvalidApiVersionParameter",
		"The api-version '%s' is invalid. The supported versions are '%s'.", got, strings.Join(newestFirst, ",")).WithCause(errdef.ErrInvalidArgument)
}

func errNoRegisteredProvider(got, resourceType string, newestFirst []string) error {
	return Errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
		"No registered resource provider found for API version '%s' and type '%s'. The supported api-versions are '%s'.",
		got, resourceType, strings.Join(newestFirst, ", ")).WithCause(errdef.ErrInvalidArgument)
}

func errUnknownRoute(method, path string) error {
	return Errorf(http.StatusNotFound, "InvalidResourceType",
		"The resource type or route '%s %s' could not be found.", method, path).WithCause(errdef.ErrNotFound)
}

func errTooLarge() error {
	return Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
		"The request content exceeds the maximum allowed size of %d bytes.", MaxBody).WithCause(errdef.ErrTooLarge)
}

func errSubscriptionNotFound(sub string) error {
	return Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub).WithCause(errdef.ErrNotFound)
}

func errAuthenticationFailed(err error) error {
	return Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed: %v", err).WithCause(errdef.ErrUnauthenticated)
}

func errInvalidRequestURI(path string) error {
	return Errorf(http.StatusBadRequest, "InvalidRequestUri", "The request path '%s' is not valid.", path).WithCause(errdef.ErrInvalidArgument)
}
