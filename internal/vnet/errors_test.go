package vnet

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Every row of the error table: its status, its code and its class, and
// none of them a server fault.
func TestErrorTable(t *testing.T) {
	p, q := netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.0.0/25")
	for _, c := range []struct {
		err    error
		status int
		code   string
		class  error
	}{
		{arm.ErrGroupNotFound("rg"), 404, "ResourceGroupNotFound", errdef.ErrNotFound},
		{errNotFound("t", "n", "rg"), 404, "ResourceNotFound", errdef.ErrNotFound},
		{errInvalidName("-"), 400, "InvalidResourceName", errdef.ErrInvalidArgument},
		{errLocationRequired(), 400, "LocationRequired", errdef.ErrInvalidArgument},
		{errLocationChange("n", "westus", "eastus"), 400, "InvalidResourceLocation", errdef.ErrFailedPrecondition},
		{errAddressSpaceRequired(), 400, "InvalidAddressSpace", errdef.ErrInvalidArgument},
		{errAddressSpacePrefix("x"), 400, "InvalidAddressPrefixFormat", errdef.ErrInvalidArgument},
		{errDuplicateSubnet("a"), 400, "DuplicateResourceName", errdef.ErrInvalidArgument},
		{errSubnetPrefix("a"), 400, "InvalidAddressPrefixFormat", errdef.ErrInvalidArgument},
		{errSubnetOutsideVNet("a", p), 400, "NetcfgSubnetRangeOutsideVnet", errdef.ErrInvalidArgument},
		{errSubnetsOverlap("a", p, q), 400, "NetcfgSubnetRangesOverlap", errdef.ErrInvalidArgument},
		{errSubnetInUse("a", "pe"), 400, "InUseSubnetCannotBeDeleted", errdef.ErrFailedPrecondition},
		{errSubnetRangeInUse("a", "pe"), 400, "InUseSubnetCannotBeUpdated", errdef.ErrFailedPrecondition},
		{invalid("Some", "x %d", 1), 400, "Some", errdef.ErrInvalidArgument},
	} {
		ae := arm.ToError(c.err)
		if ae.Status != c.status || ae.Code != c.code || !errors.Is(c.err, c.class) || ae.Message == "" {
			t.Errorf("%v: %d %s (class %v), want %d %s %v", c.err, ae.Status, ae.Code, errors.Is(c.err, c.class), c.status, c.code, c.class)
		}
	}
}
