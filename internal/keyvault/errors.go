package keyvault

import (
	"fmt"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// The provider's ARM errors: every code this package answers with, its
// status and its errdef class, in one place (STYLE rule 5). Messages
// follow Microsoft.KeyVault's wording where it is known. None takes a
// secret's value: callers pass names, never values. Classes with no
// specific code (a store fault) go through arm's class table.

func errVaultNotFound(name, rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found.", VaultType, name, rg).
		WithCause(errdef.ErrNotFound)
}

func errSecretNotFound(vault, name, rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s/%s' under resource group '%s' was not found.", SecretType, vault, name, rg).
		WithCause(errdef.ErrNotFound)
}

func errVaultName(name string) error {
	return arm.Errorf(http.StatusBadRequest, "VaultNameNotValid",
		"The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.", name).
		WithCause(errdef.ErrInvalidArgument)
}

func errVaultExists(name string) error {
	return arm.Errorf(http.StatusConflict, "VaultAlreadyExists",
		"The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name).
		WithCause(errdef.ErrAlreadyExists)
}

func errSecretName(name string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
		"The secret name '%s' is invalid. A secret's name must be 1-127 characters long and contain only alphanumeric characters and hyphens.", name).
		WithCause(errdef.ErrInvalidArgument)
}

func errLocationRequired() error {
	return badRequest("LocationRequired", "The location property is required for this definition.")
}

// errLocationChange answers a PUT that would move a vault: location is
// create-only.
func errLocationChange(name, existing, asked string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation",
		"The resource '%s' already exists in location '%s'; it cannot move to '%s'.", name, existing, asked).
		WithCause(errdef.ErrFailedPrecondition)
}

func errPropertiesRequired() error {
	return badRequest("BadRequest", "The parameter 'properties' is required.")
}

func errTenantID(got string) error {
	if got == "" {
		return badRequest("BadRequest", "The parameter 'properties.tenantId' is required.")
	}
	return badRequest("BadRequest", "An invalid value was provided for 'properties.tenantId': '%s' is not a GUID.", got)
}

func errSKURequired() error {
	return badRequest("BadRequest", "The parameter 'properties.sku' is required, for example {\"family\": \"A\", \"name\": \"standard\"}.")
}

func errSKUName(got string) error {
	return badRequest("BadRequest", "The value '%s' of 'properties.sku.name' is invalid. The allowed values are 'standard' and 'premium'.", got)
}

func errSKUFamily(got string) error {
	return badRequest("BadRequest", "The value '%s' of 'properties.sku.family' is invalid. The allowed value is 'A'.", got)
}

func errAccessPolicy(i int, field string) error {
	return badRequest("BadRequest", "The parameter 'properties.accessPolicies[%d].%s' is required and must be a GUID.", i, field)
}

func errRetention(days int32) error {
	return badRequest("BadRequest", "The value %d of 'properties.softDeleteRetentionInDays' is invalid. It must be between 7 and 90.", days)
}

func errPurgeProtection() error {
	return badRequest("BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.")
}

func errPublicNetworkAccess(got string) error {
	return badRequest("BadRequest", "The value '%s' of 'properties.publicNetworkAccess' is invalid. The allowed values are 'Enabled' and 'Disabled'.", got)
}

func errSecretValueRequired() error {
	return badRequest("BadRequest", "The parameter 'properties.value' is required to create a secret.")
}

func errSecretValueTooLarge(n int) error {
	return badRequest("BadRequest", "The secret value is %d bytes; the maximum is %d bytes (25 KiB).", n, maxSecretValue)
}

func errSecretBody(why string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
		"The request content was invalid and could not be deserialized: '%s'.", why).WithCause(errdef.ErrInvalidArgument)
}

func errCheckNameType(got string) error {
	return badRequest("BadRequest", "The resource type '%s' is invalid; expected '%s'.", got, VaultType)
}

// badRequest is a 400 for a request the provider refuses as written.
func badRequest(code, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, code, format, args...).WithCause(errdef.ErrInvalidArgument)
}

// The resolver's errors (Provider.Secret): classes only, no HTTP, for the
// pipeline runner to record in a run's status.

func errURI(uri, why string) error {
	if uri == "" {
		return fmt.Errorf("keyVaultUri: %s: %w", why, errdef.ErrInvalidArgument)
	}
	return fmt.Errorf("keyVaultUri %q: %s: %w", uri, why, errdef.ErrInvalidArgument)
}

func errResolve(vault, secret, why string) error {
	return fmt.Errorf("key vault %s, secret %s: %s: %w", vault, secret, why, errdef.ErrNotFound)
}
