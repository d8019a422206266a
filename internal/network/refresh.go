package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// PrivateEndpoint is the part of a private endpoint document this package
// reads.
type PrivateEndpoint struct {
	Properties struct {
		Subnet struct {
			ID string `json:"id"`
		} `json:"subnet"`
	} `json:"properties"`
}

// VirtualNetwork is the part of a virtual network document this package
// reads.
type VirtualNetwork struct {
	Properties struct {
		Subnets []Subnet `json:"subnets"`
	} `json:"properties"`
}

// Subnet is one subnet of a virtual network.
type Subnet struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
	Type       string `json:"type,omitempty"`
	Properties struct {
		AddressPrefix     string   `json:"addressPrefix,omitempty"`
		AddressPrefixes   []string `json:"addressPrefixes,omitempty"`
		ProvisioningState string   `json:"provisioningState,omitempty"`
	} `json:"properties"`
}

// Prefixes are the subnet's address ranges.
func (s Subnet) Prefixes() ([]netip.Prefix, error) {
	raw := s.Properties.AddressPrefixes
	if s.Properties.AddressPrefix != "" {
		raw = append([]string{s.Properties.AddressPrefix}, raw...)
	}
	var out []netip.Prefix
	for _, r := range raw {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			return nil, fmt.Errorf("subnet %s: address prefix %q: %w", s.Name, r, errdef.ErrInvalidArgument)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// SubnetPrefixes resolves a subnet id to its address ranges inside tx.
func SubnetPrefixes(tx meta.Resources, subnetID string) ([]netip.Prefix, error) {
	i := strings.LastIndex(strings.ToLower(subnetID), "/subnets/")
	if i < 0 {
		return nil, fmt.Errorf("'%s' is not a subnet id: %w", subnetID, errdef.ErrInvalidArgument)
	}
	vnetID, name := subnetID[:i], subnetID[i+len("/subnets/"):]
	res, err := tx.GetResource(vnetID)
	if err != nil {
		return nil, fmt.Errorf("virtual network of subnet '%s': %w", subnetID, err)
	}
	var vnet VirtualNetwork
	if err := json.Unmarshal(res.Document, &vnet); err != nil {
		return nil, fmt.Errorf("virtual network %s: %w", vnetID, err)
	}
	for _, s := range vnet.Properties.Subnets {
		if strings.EqualFold(s.Name, name) {
			return s.Prefixes()
		}
	}
	return nil, fmt.Errorf("subnet '%s': %w", subnetID, errdef.ErrNotFound)
}

// endpointReader is what PrivateSubnets reads: a registry's connection
// rows, and the private endpoints and virtual networks they lead to.
type endpointReader interface {
	meta.Connections
	meta.Resources
}

// PrivateSubnets computes the subnets of a registry's approved private
// endpoint connections, each once. A connection whose endpoint or subnet
// is gone lets nobody in.
func PrivateSubnets(tx endpointReader, registryKey string) ([]netip.Prefix, error) {
	conns, err := tx.ListConnections(registryKey)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, c := range conns {
		if c.Status != meta.ConnectionApproved {
			continue
		}
		res, err := tx.GetResource(c.PrivateEndpointID)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var pe PrivateEndpoint
		if err := json.Unmarshal(res.Document, &pe); err != nil {
			return nil, fmt.Errorf("private endpoint %s: %w", c.PrivateEndpointID, err)
		}
		prefixes, err := SubnetPrefixes(tx, pe.Properties.Subnet.ID)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, p := range prefixes {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// RefreshPrivateSubnets recomputes a registry's PrivateSubnets fact from
// its connection rows and stores it, inside the transaction that changed
// them, so the data plane never sees a connection change without its
// effect.
func RefreshPrivateSubnets(tx meta.Tx, registryKey string) error {
	subnets, err := PrivateSubnets(tx, registryKey)
	if err != nil {
		return err
	}
	return tx.SetPrivateSubnets(registryKey, subnets)
}

// ClientAddr is the address a request comes from: the TCP peer, or, when
// the peer is a trusted proxy, the nearest X-Forwarded-For hop that is not
// one. Forwarded headers from anyone else are ignored, so a client cannot
// claim a private address.
func ClientAddr(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !inAny(addr, trusted) {
		return addr
	}
	var hops []string
	for _, h := range forwardedFor {
		for _, part := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return addr // a malformed hop: trust nothing beyond the last good one
		}
		addr = a.Unmap()
		if !inAny(addr, trusted) {
			return addr
		}
	}
	return addr
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// StoreConnection creates or replaces a private endpoint connection row
// and refreshes its registry's PrivateSubnets in the same transaction:
// the one way, with DropConnection, that connections change.
func StoreConnection(tx meta.Tx, c meta.PrivateEndpointConnection) error {
	if err := tx.PutConnection(c); err != nil {
		return err
	}
	return RefreshPrivateSubnets(tx, c.RegistryKey)
}

// DropConnection deletes a connection row (ErrNotFound when absent) and
// refreshes its registry's PrivateSubnets in the same transaction.
func DropConnection(tx meta.Tx, registryKey, name string) error {
	if err := tx.DeleteConnection(registryKey, name); err != nil {
		return err
	}
	return RefreshPrivateSubnets(tx, registryKey)
}
