package insights

import (
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// The provider's ARM errors: every code this package answers with, its
// status and its errdef class, in one place (STYLE rule 5). Messages
// follow Azure's wording where it is known. None takes a credential:
// callers pass names and reasons, never keys or tokens. Classes with no
// specific code (a store fault) go through arm's class table.

func errResourceNotFound(typ, name, rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found.", typ, name, rg).
		WithCause(errdef.ErrNotFound)
}

func errSettingNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The diagnostic setting '%s' doesn't exist.", name).
		WithCause(errdef.ErrNotFound)
}

func errCategoryNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The diagnostic settings category '%s' doesn't exist for this resource.", name).
		WithCause(errdef.ErrNotFound)
}

func errAccountName(name string) error {
	return arm.Errorf(http.StatusBadRequest, "AccountNameInvalid",
		"%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name).
		WithCause(errdef.ErrInvalidArgument)
}

func errAccountTaken(name string) error {
	return arm.Errorf(http.StatusConflict, "StorageAccountAlreadyTaken", "The storage account named %s is already taken.", name).
		WithCause(errdef.ErrAlreadyExists)
}

func errLocationRequired() error {
	return badRequest("LocationRequired", "The location property is required for this definition.")
}

// errLocationChange answers a PUT that would move an account: location
// is create-only.
func errLocationChange(name, existing, asked string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation",
		"The resource '%s' already exists in location '%s'; it cannot move to '%s'.", name, existing, asked).
		WithCause(errdef.ErrFailedPrecondition)
}

func errAccountValue(field, got string, allowed []string) error {
	if got == "" {
		return badRequest("InvalidValuesForRequestParameters", "Values for request parameters are invalid: %s is required; the allowed values are %s.",
			field, strings.Join(allowed, ", "))
	}
	return badRequest("InvalidValuesForRequestParameters", "Values for request parameters are invalid: %s '%s'; the allowed values are %s.",
		field, got, strings.Join(allowed, ", "))
}

// errExtension refuses one of Bulkhead's extension properties; why never
// carries the value of a credential.
func errExtension(prop, why string) error {
	return badRequest("InvalidValuesForRequestParameters", "properties.%s: %s", prop, why)
}

func errPropertiesRequired() error {
	return badRequest("BadRequest", "The parameter 'properties' is required.")
}

func errSettingName(name string) error {
	return badRequest("BadRequest",
		"The diagnostic setting name '%s' is invalid: it must be 1-260 characters long, without control characters or any of <>*%%&:\\?+/#.", name)
}

func errUnknownCategory(name string) error {
	return badRequest("BadRequest", "Category '%s' is not supported. The supported log categories are %s.", name, strings.Join(logCategories, ", "))
}

func errUnknownCategoryGroup(name string) error {
	return badRequest("BadRequest", "Category group '%s' is not supported. The supported category groups are allLogs, audit.", name)
}

func errUnknownMetric(name string) error {
	return badRequest("BadRequest", "Metric category '%s' is not supported. The supported metric category is AllMetrics.", name)
}

func errLogEntry(field string, i int, why string) error {
	return badRequest("BadRequest", "properties.%s[%d]: %s", field, i, why)
}

func errDuplicateCategory(name string) error {
	return badRequest("BadRequest", "Category '%s' appears more than once in the diagnostic setting.", name)
}

func errNoCategories() error {
	return badRequest("BadRequest", "The diagnostic setting must list at least one log category or category group in properties.logs, or a metric in properties.metrics.")
}

func errNoDestination() error {
	return badRequest("BadRequest", "The diagnostic setting needs a destination: set properties.storageAccountId to the id of a storage account.")
}

func errUnsupportedDestination(field string) error {
	return badRequest("BadRequest", "properties.%s is not supported: Bulkhead sends diagnostic logs to storage accounts only (properties.storageAccountId).", field)
}

func errStorageAccountID(id string) error {
	return badRequest("LinkedInvalidPropertyId",
		"Property id '%s' at path 'properties.storageAccountId' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}' and names a Microsoft.Storage/storageAccounts resource.", id)
}

func errStorageAccountMissing(id string) error {
	return badRequest("BadRequest", "The storage account '%s' named by properties.storageAccountId does not exist. Create it first (az storage account create).", id)
}

func errTooManySettings(max int) error {
	return badRequest("BadRequest", "The resource already has the maximum of %d diagnostic settings. Delete one, or change an existing one.", max)
}

func errSinkReused(sink, setting, category string) error {
	return badRequest("BadRequest",
		"Data sink '%s' is already used in diagnostic setting '%s' for category '%s'. Data sinks can't be reused in different settings on the same category for the same resource.",
		sink, setting, category)
}

func errLinkedAuthorization(clientID, objectID, action, scope string) error {
	return arm.Errorf(http.StatusForbidden, "LinkedAuthorizationFailed",
		"The client '%s' with object id '%s' has permission to write the diagnostic setting, but it does not have permission to perform action '%s' on the linked scope '%s'.",
		clientID, objectID, action, scope).WithCause(errdef.ErrDenied)
}

func errFilter(filter, why string) error {
	return badRequest("BadRequest", "The $filter '%s' is invalid: %s.", filter, why)
}

func errSkipToken() error {
	return badRequest("BadRequest", "The $skipToken is invalid; start again from the first page.")
}

// badRequest is a 400 for a request the provider refuses as written.
func badRequest(code, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, code, format, args...).WithCause(errdef.ErrInvalidArgument)
}
