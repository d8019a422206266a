// Package network answers "is this request private for registry R, and
// may it reach R?" (DESIGN.md "Network model"). A request is private when
// its source address lies in the subnet of an Approved private endpoint of
// R. Public requests are refused when R has publicNetworkAccess Disabled,
// and otherwise filtered by networkRuleSet (defaultAction Deny + ipRules).
// The management plane is never filtered, as in ARM.
//
// Everything it reads about a registry comes from the typed facts on its
// meta row (meta.RegistryFacts), which internal/acr derives from the
// registry's document; this package never decodes that document.
package network

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Resource types this package reads.
const (
	VirtualNetworkType  = "Microsoft.Network/virtualNetworks"
	PrivateEndpointType = "Microsoft.Network/privateEndpoints"
)

// ParsePrefix reads an IPv4 address or CIDR, as ipRules and subnets hold
// them; a bare address is a /32.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Denied is the refusal of a request by network rules. It wraps
// errdef.ErrDenied.
type Denied struct {
	Addr   netip.Addr
	Reason string
}

func (d *Denied) Error() string {
	return fmt.Sprintf("client with IP '%s' is not allowed access: %s. Refer https://aka.ms/acr/firewall to grant access.", d.Addr, d.Reason)
}

// Unwrap classifies the refusal.
func (d *Denied) Unwrap() error { return errdef.ErrDenied }

// Check lets addr reach reg, or returns a *Denied. It reads only the
// row's facts, so the data plane's hot path neither decodes nor allocates
// unless it refuses. Facts that were never derived (Version 0) refuse
// everyone: an unknown setting must not read as "open".
func Check(reg meta.Registry, addr netip.Addr) error {
	f := &reg.Facts
	addr = addr.Unmap()
	if f.Version == 0 {
		return &Denied{Addr: addr, Reason: "the registry's network settings are not known yet; try again shortly"}
	}
	if !f.PublicAccessDisabled && !f.DefaultDeny || inAny(addr, f.PrivateSubnets) {
		return nil
	}
	if f.PublicAccessDisabled {
		return &Denied{Addr: addr, Reason: "the registry has public network access disabled and the request does not come from one of its private endpoints"}
	}
	if inAny(addr, f.IPRules) {
		return nil
	}
	return &Denied{Addr: addr, Reason: "the address is not in the registry's IP rules"}
}

// Private reports whether addr comes from one of reg's approved private
// endpoints: the audit trail tells pulls from inside its network apart
// from pulls from outside it.
func Private(reg meta.Registry, addr netip.Addr) bool {
	return inAny(addr.Unmap(), reg.Facts.PrivateSubnets)
}
