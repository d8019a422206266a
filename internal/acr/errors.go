package acr

import (
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// The provider's ARM errors: every code this package answers with, its
// status and its errdef class, in one place (STYLE rule 5). Error classes
// with no specific ARM code go through arm's class table instead. Messages
// follow the real service's wording where it is known (acr-api.md §9.2).

func errSubscriptionNotFound(sub string) error {
	return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub).
		WithCause(errdef.ErrNotFound)
}

func errGroupNotFound(rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg).
		WithCause(errdef.ErrNotFound)
}

func errRegistryNotFound(rg, name string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		RegistryType, name, rg).WithCause(errdef.ErrNotFound)
}

func errUnknownRoute(method, path string) error {
	return arm.Errorf(http.StatusNotFound, "InvalidResourceType",
		"The resource type or route '%s %s' could not be found.", method, path).WithCause(errdef.ErrNotFound)
}

func errInvalidGroupName(rg string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceGroupName",
		"Resource group name '%s' is invalid: resource group names only allow up to 90 characters and can only include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters.", rg).
		WithCause(errdef.ErrInvalidArgument)
}

func errInvalidRegistryName(name string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
		"Resource name '%s' is invalid: registry names may contain only alpha numeric characters and must be between 5 and 50 characters.", name).
		WithCause(errdef.ErrInvalidArgument)
}

func errCheckNameType(got string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceType",
		"The resource type '%s' is not valid; the type must be %s.", got, RegistryType).WithCause(errdef.ErrInvalidArgument)
}

func errLocationRequired() error {
	return arm.Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.").
		WithCause(errdef.ErrInvalidArgument)
}

func errSKURequired() error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The sku property (with sku.name) is required.").
		WithCause(errdef.ErrInvalidArgument)
}

func errSKUNotSupported(name SKUName) error {
	return arm.Errorf(http.StatusBadRequest, "SkuNotSupported",
		"The SKU '%s' is not supported; use Basic, Standard or Premium.", name).WithCause(errdef.ErrInvalidArgument)
}

func errReadOnlyChanged(property, value string) error {
	return arm.Errorf(http.StatusBadRequest, "ReadOnlyPropertyCannotBeChanged",
		"The property '%s' is read-only and cannot be changed (it is %s).", property, value).WithCause(errdef.ErrInvalidArgument)
}

// errGroupLocation is ARM's answer to a PUT that moves a resource group.
func errGroupLocation(asked, existing string) error {
	return arm.Errorf(http.StatusConflict, "InvalidResourceGroupLocation",
		"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", asked, existing).
		WithCause(errdef.ErrFailedPrecondition)
}

// errRegistryLocation is the answer to a PUT that moves a registry:
// location is create-only (x-ms-mutability read, create).
func errRegistryLocation(name, existing, rg, asked string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation",
		"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
		name, existing, rg, asked).WithCause(errdef.ErrFailedPrecondition)
}

// errNameInUse is the real service's answer when a registry name is taken
// anywhere in the service (names are global, compared case-insensitively).
func errNameInUse(loginServer string) error {
	return arm.Errorf(http.StatusConflict, "AlreadyInUse",
		"The registry DNS name %s is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability",
		loginServer).WithCause(errdef.ErrAlreadyExists)
}

// fail writes err in the ARM envelope. Server faults are logged with the
// request id, because their cause is not sent to the client.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ae := arm.WriteError(w, err); ae.Status >= http.StatusInternalServerError {
		p.log.ErrorContext(r.Context(), "management request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get(arm.HeaderRequestID), "err", err)
	}
}
