// Package arm holds Azure Resource Manager RPC mechanics shared by every
// resource provider: the error envelope, api-version gating, bounded JSON
// decoding, request ids and path canonicalisation. It knows nothing about
// container registries.
package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/google/uuid"
)

// Error is an ARM error with its wire code and HTTP status.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	err     error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.err }

// Errorf builds an ARM error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// classTable maps errdef classes to ARM answers when no *Error was built.
var classTable = []struct {
	class  error
	status int
	code   string
}{
	{errdef.ErrNotFound, http.StatusNotFound, "ResourceNotFound"},
	{errdef.ErrAlreadyExists, http.StatusConflict, "Conflict"},
	{errdef.ErrInvalidArgument, http.StatusBadRequest, "BadRequest"},
	{errdef.ErrFailedPrecondition, http.StatusBadRequest, "BadRequest"},
	{errdef.ErrDenied, http.StatusForbidden, "AuthorizationFailed"},
	{errdef.ErrUnauthenticated, http.StatusUnauthorized, "AuthenticationFailed"},
	{errdef.ErrConflict, http.StatusConflict, "Conflict"},
	{errdef.ErrTooLarge, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	{errdef.ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// ToError finds the ARM form of err; unknown errors are server faults.
func ToError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	for _, row := range classTable {
		if errors.Is(err, row.class) {
			return &Error{Status: row.status, Code: row.code, Message: err.Error(), err: err}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: "An internal error occurred.", err: err}
}

// WriteError writes err in the ARM envelope {"error":{code,message,target}}.
func WriteError(w http.ResponseWriter, err error) *Error {
	ae := ToError(err)
	body := map[string]any{"code": ae.Code, "message": ae.Message}
	if ae.Target != "" {
		body["target"] = ae.Target
	}
	WriteJSON(w, ae.Status, map[string]any{"error": body})
	return ae
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// RequireAPIVersion checks ?api-version= against the supported list.
func RequireAPIVersion(r *http.Request, resourceType string, supported []string) (string, error) {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return "", Errorf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if !slices.Contains(supported, strings.ToLower(v)) {
		return "", Errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location 'westus' and API version '%s' for type '%s'. The supported api-versions are '%s'.",
			v, resourceType, strings.Join(supported, ", "))
	}
	return strings.ToLower(v), nil
}

// MaxBody is the largest request body ARM handlers read.
const MaxBody = 4 << 20

// DecodeJSON reads a bounded JSON body into v. Property names match
// case-insensitively (encoding/json v1 behaviour, which ARM relies on).
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body exceeds the %d byte limit.", MaxBody)
		}
		return Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: %v.", err)
	}
	return nil
}

// SetRequestIDs sets ARM's request and correlation id headers, echoing the
// client's ids when it sent them.
func SetRequestIDs(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = reqID
	}
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-correlation-request-id", corr)
	if c := r.Header.Get("x-ms-client-request-id"); c != "" {
		h.Set("x-ms-client-request-id", c)
	}
}

// canonicalSegments are literal path segments whose casing ARM ignores;
// CanonicalPath rewrites them so Go's case-sensitive ServeMux can route.
var canonicalSegments = map[string]string{
	"subscriptions":               "subscriptions",
	"resourcegroups":              "resourceGroups",
	"providers":                   "providers",
	"microsoft.containerregistry": "Microsoft.ContainerRegistry",
	"microsoft.resources":         "Microsoft.Resources",
	"registries":                  "registries",
	"checknameavailability":       "checkNameAvailability",
	"exportpipelines":             "exportPipelines",
	"importpipelines":             "importPipelines",
	"listcredentials":             "listCredentials",
	"regeneratecredential":        "regenerateCredential",
	"listusages":                  "listUsages",
	"resources":                   "resources",
	"deployments":                 "deployments",
	"validate":                    "validate",
	"operations":                  "operations",
}

// CanonicalPath fixes the casing of ARM's literal segments. A segment
// right after a collection keyword is a resource name and keeps its casing.
func CanonicalPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if i > 0 && collections[strings.ToLower(parts[i-1])] {
			continue
		}
		if c, ok := canonicalSegments[strings.ToLower(s)]; ok {
			parts[i] = c
		}
	}
	return strings.Join(parts, "/")
}

// collections are the segments followed by a resource name.
var collections = map[string]bool{"subscriptions": true, "resourcegroups": true, "registries": true, "exportpipelines": true, "importpipelines": true, "deployments": true}
