package vnet

import (
	"net/http"
	"net/netip"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// The provider's ARM errors: every code this package answers with, its
// status and its errdef class, in one place (STYLE rule 5). Messages
// follow Microsoft.Network's wording where it is known. Error classes
// with no specific code (a store fault, an unknown registry) go through
// arm's class table instead.

func errNotFound(typ, name, rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found.", typ, name, rg).
		WithCause(errdef.ErrNotFound)
}

func errInvalidName(name string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
		"Resource name %s is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.", name).
		WithCause(errdef.ErrInvalidArgument)
}

func errLocationRequired() error {
	return invalid("LocationRequired", "The location property is required for this definition.")
}

// errLocationChange answers a PUT that would move a resource: location is
// create-only.
func errLocationChange(name, existing, asked string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation",
		"The resource '%s' already exists in location '%s'; it cannot move to '%s'.", name, existing, asked).
		WithCause(errdef.ErrFailedPrecondition)
}

func errAddressSpaceRequired() error {
	return invalid("InvalidAddressSpace", "properties.addressSpace.addressPrefixes needs at least one CIDR range, for example 10.0.0.0/16.")
}

func errAddressSpacePrefix(prefix string) error {
	return invalid("InvalidAddressPrefixFormat", "Address prefix %s of the address space is not a valid CIDR range.", prefix)
}

func errDuplicateSubnet(name string) error {
	return invalid("DuplicateResourceName", "The subnet name %s appears more than once.", name)
}

func errSubnetPrefix(name string) error {
	return invalid("InvalidAddressPrefixFormat", "Subnet %s needs a valid addressPrefix (CIDR), for example 10.0.1.0/24.", name)
}

func errSubnetOutsideVNet(name string, p netip.Prefix) error {
	return invalid("NetcfgSubnetRangeOutsideVnet",
		"Subnet '%s' is not valid because its IP address range %s is outside the IP address range of the virtual network.", name, p)
}

func errSubnetsOverlap(name string, p, other netip.Prefix) error {
	return invalid("NetcfgSubnetRangesOverlap",
		"Subnet '%s' is not valid because its IP address range %s overlaps with that of another subnet (%s).", name, p, other)
}

// errSubnetInUse refuses to delete a subnet (or its virtual network) that
// a private endpoint is in.
func errSubnetInUse(subnet, endpoint string) error {
	return arm.Errorf(http.StatusBadRequest, "InUseSubnetCannotBeDeleted",
		"Subnet %s is in use by %s and cannot be deleted. Delete the private endpoint first.", subnet, endpoint).
		WithCause(errdef.ErrFailedPrecondition)
}

// errSubnetRangeInUse refuses to change the range of a subnet that a
// private endpoint is in: the registries it reaches trust that range.
func errSubnetRangeInUse(subnet, endpoint string) error {
	return arm.Errorf(http.StatusBadRequest, "InUseSubnetCannotBeUpdated",
		"Subnet %s is in use by %s; its address range cannot change.", subnet, endpoint).
		WithCause(errdef.ErrFailedPrecondition)
}

// invalid is a 400 for a request the provider refuses as written. The
// private endpoint handlers (endpoints.go) still name their codes at the
// call site through it; their bodies are being reworked on another branch
// (connections as meta rows), and they move to named constructors above
// once that lands.
func invalid(code, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, code, format, args...).WithCause(errdef.ErrInvalidArgument)
}
