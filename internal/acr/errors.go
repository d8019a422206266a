package acr

import (
	"errors"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// The provider's ARM errors: every code this package answers with, its
// status and its errdef class, in one place (STYLE rule 5). Error classes
// with no specific ARM code go through arm's class table instead. Messages
// follow the real service's wording where it is known (acr-api.md §9.2).

func errGroupNotFound(rg string) error {
	return fail("ResourceGroupNotFound", "Resource group '%s' could not be found.", rg).
		WithCause(errdef.ErrNotFound)
}

func errRegistryNotFound(rg, name string) error {
	return fail("ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		RegistryType, name, rg).WithCause(errdef.ErrNotFound)
}

func errInvalidRegistryName(name string) error {
	return fail("InvalidResourceName", "Resource name '%s' is invalid: registry names may contain only alpha numeric characters and must be between 5 and 50 characters.", name).
		WithCause(errdef.ErrInvalidArgument)
}

func errCheckNameType(got string) error {
	return fail("InvalidResourceType", "The resource type '%s' is not valid; the type must be %s.", got, RegistryType).WithCause(errdef.ErrInvalidArgument)
}

func errLocationRequired() error {
	return fail("LocationRequired", "The location property is required for this definition.").
		WithCause(errdef.ErrInvalidArgument)
}

func errSKURequired() error {
	return fail("InvalidRequestContent", "The sku property (with sku.name) is required.").
		WithCause(errdef.ErrInvalidArgument)
}

func errSKUNotSupported(name SKUName) error {
	return fail("SkuNotSupported", "The SKU '%s' is not supported; use Basic, Standard or Premium.", name).WithCause(errdef.ErrInvalidArgument)
}

func errReadOnlyChanged(property, value string) error {
	return fail("ReadOnlyPropertyCannotBeChanged", "The property '%s' is read-only and cannot be changed (it is %s).", property, value).WithCause(errdef.ErrInvalidArgument)
}

// errRegistryLocation is the answer to a PUT that moves a registry:
// location is create-only (x-ms-mutability read, create).
func errRegistryLocation(name, existing, rg, asked string) error {
	return fail("InvalidResourceLocation", "The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
		name, existing, rg, asked).WithCause(errdef.ErrFailedPrecondition)
}

// errNameInUse is the real service's answer when a registry name is taken
// anywhere in the service (names are global, compared case-insensitively).
func errNameInUse(loginServer string) error {
	return fail("AlreadyInUse", "The registry DNS name %s is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability",
		loginServer).WithCause(errdef.ErrAlreadyExists)
}

func errPatchInvalid(err error) error {
	return fail("InvalidRequestContent", "The request content was invalid and could not be deserialized: %v.", err).
		WithCause(errdef.ErrInvalidArgument)
}

func errSKUMustBeTier() error {
	return fail("SkuNotSupported", "The SKU must be Basic, Standard or Premium.").WithCause(errdef.ErrInvalidArgument)
}

func errNotUpdatable(k string, updatable []string) error {
	return fail("InvalidRequestContent", "The property '%s' cannot be updated with PATCH; updatable properties are %s.", k, strings.Join(updatable, ", ")).
		WithCause(errdef.ErrInvalidArgument)
}

func errPropertiesNotObject() error {
	return fail("InvalidRequestContent", "properties must be an object.").WithCause(errdef.ErrInvalidArgument)
}

func errPropertyNotUpdatable(k string) error {
	return fail("InvalidRequestContent", "The property 'properties.%s' cannot be updated with PATCH (it is read-only or set only at creation).", k).
		WithCause(errdef.ErrInvalidArgument)
}

func errPasswordName(names ...string) error {
	return fail("InvalidRequestContent", "name must be %s.", strings.Join(names, " or ")).
		WithCause(errdef.ErrInvalidArgument)
}

func errAdminUserDisabled(name string) error {
	return fail("AdminUserDisabled", "The admin user of registry '%s' is disabled. Run 'az acr update -n %s --admin-enabled true' to enable it.", name, name).
		WithCause(errdef.ErrFailedPrecondition)
}

func isNotFound(err error) bool { return errors.Is(err, errdef.ErrNotFound) }

func errLinkedAuthorization(targetID, sourceID string) error {
	return fail("LinkedAuthorizationFailed", "The client has permission to perform action '%s/importImage/action' on scope '%s'; however, it does not have permission to perform action 'read' on the linked scope(s) '%s'.",
		RegistryType, targetID, sourceID).WithCause(errdef.ErrDenied)
}

func errInvalidParameters(format string, args ...any) error {
	return fail("InvalidParameters", format, args...).WithCause(errdef.ErrInvalidArgument)
}

// importError maps the copy's failures to ARM errors.
func importError(err error) error {
	trim := func(class error) string { return strings.TrimSuffix(err.Error(), ": "+class.Error()) }
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return fail("ImageNotFound", "%s", trim(errdef.ErrNotFound)).WithCause(err)
	case errors.Is(err, errdef.ErrConflict):
		return fail("TagAlreadyExists", "%s", trim(errdef.ErrConflict)).WithCause(err)
	case errors.Is(err, errdef.ErrInvalidArgument):
		return fail("InvalidParameters", "%s", trim(errdef.ErrInvalidArgument)).WithCause(err)
	}
	return err
}
