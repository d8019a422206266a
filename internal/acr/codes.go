package acr

import (
	"fmt"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// code is one ARM error code this provider answers with: its HTTP status
// and the errdef class it wraps.
type code struct {
	status int
	class  error
}

// codes is the provider's one table from ARM error codes to statuses
// (STYLE rule 5): handlers name a code with fail and never a status.
// Codes follow the real service's (acr-api.md §9.2).
var codes = map[string]code{
	"AdminUserDisabled":                 {http.StatusBadRequest, errdef.ErrFailedPrecondition},
	"InvalidParameters":                 {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"InvalidRequestContent":             {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"InvalidResourceLocation":           {http.StatusBadRequest, errdef.ErrFailedPrecondition},
	"InvalidResourceName":               {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"InvalidResourceType":               {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"LocationRequired":                  {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"PrivateEndpointConnectionRejected": {http.StatusBadRequest, errdef.ErrFailedPrecondition},
	"ReadOnlyPropertyCannotBeChanged":   {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"ScopeMapNotFound":                  {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"SkuDowngradeNotSupported":          {http.StatusBadRequest, errdef.ErrFailedPrecondition},
	"SkuNotSupported":                   {http.StatusBadRequest, errdef.ErrInvalidArgument},
	"SystemScopeMapReadOnly":            {http.StatusBadRequest, errdef.ErrFailedPrecondition},
	"ZoneRedundancyCannotBeChanged":     {http.StatusBadRequest, errdef.ErrFailedPrecondition},
	"AlreadyInUse":                      {http.StatusConflict, errdef.ErrAlreadyExists},
	"Conflict":                          {http.StatusConflict, errdef.ErrConflict},
	"ScopeMapInUse":                     {http.StatusConflict, errdef.ErrConflict},
	"TagAlreadyExists":                  {http.StatusConflict, errdef.ErrConflict},
	"LinkedAuthorizationFailed":         {http.StatusForbidden, errdef.ErrDenied},
	"ImageNotFound":                     {http.StatusNotFound, errdef.ErrNotFound},
	"PrivateEndpointConnectionNotFound": {http.StatusNotFound, errdef.ErrNotFound},
	"ResourceGroupNotFound":             {http.StatusNotFound, errdef.ErrNotFound},
	"ResourceNotFound":                  {http.StatusNotFound, errdef.ErrNotFound},
	"SourceRegistryNotFound":            {http.StatusNotFound, errdef.ErrNotFound},
	// Refusals of the egress gate keep the gate's own code; they are all
	// failed preconditions of the registry's policy.
	"EgressRefused": {http.StatusBadRequest, errdef.ErrFailedPrecondition},
}

// fail builds the ARM error for code with a formatted message. A code
// missing from the table is a programming error: it answers 500 (and the
// table test lists every code the package uses).
func fail(c, format string, args ...any) *arm.Error {
	row, ok := codes[c]
	if !ok {
		return arm.Errorf(http.StatusInternalServerError, "InternalServerError", "unknown error code %q", c).
			WithCause(fmt.Errorf("acr: error code %q is not in the table", c))
	}
	return arm.Errorf(row.status, c, format, args...).WithCause(row.class)
}
