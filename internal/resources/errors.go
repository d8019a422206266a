package resources

import (
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// The provider's ARM errors: every code this package answers with, its
// status and its errdef class, in one place (STYLE rule 5).

func errSubscriptionNotFound(sub string) error {
	return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub).
		WithCause(errdef.ErrNotFound)
}

func errGroupNotFound(rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg).
		WithCause(errdef.ErrNotFound)
}

func errInvalidGroupName(rg string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceGroupName",
		"Resource group name '%s' is invalid: resource group names only allow up to 90 characters and can only include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters.", rg).
		WithCause(errdef.ErrInvalidArgument)
}

func errLocationRequired() error {
	return arm.Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.").
		WithCause(errdef.ErrInvalidArgument)
}

// errGroupLocation is ARM's answer to a PUT that moves a resource group.
func errGroupLocation(asked, existing string) error {
	return arm.Errorf(http.StatusConflict, "InvalidResourceGroupLocation",
		"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", asked, existing).
		WithCause(errdef.ErrFailedPrecondition)
}

func errFilterTooLong() error {
	return arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "The $filter is longer than %d bytes.", maxFilter).
		WithCause(errdef.ErrInvalidArgument)
}
