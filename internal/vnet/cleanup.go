package vnet

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// GroupDeleted keeps registries elsewhere honest when a resource group
// goes: a deleted private endpoint's connection leaves its registry, and a
// registry whose approved endpoint sat in a deleted virtual network's
// subnet recomputes its private subnets. Without it a deleted network
// would stay "private" for the registry and let its clients in.
func (p *Provider) GroupDeleted(tx meta.Tx, deleted []meta.Resource) error {
	var goneNets []string
	for _, res := range deleted {
		switch {
		case strings.EqualFold(res.Type, network.VirtualNetworkType):
			goneNets = append(goneNets, strings.ToLower(res.ID)+"/subnets/")
		case strings.EqualFold(res.Type, network.PrivateEndpointType):
			if err := p.dropDeletedEndpoint(tx, res); err != nil {
				return err
			}
		}
	}
	if len(goneNets) == 0 {
		return nil
	}
	endpoints, err := tx.ListResources("", network.PrivateEndpointType, meta.Page{})
	if err != nil {
		return err
	}
	refreshed := map[string]bool{}
	for _, res := range endpoints {
		var pe PrivateEndpoint
		if json.Unmarshal(res.Document, &pe) != nil || pe.Properties.Subnet == nil || !inAny(pe.Properties.Subnet.ID, goneNets) {
			continue
		}
		reg, err := endpointRegistry(tx, pe)
		if errors.Is(err, errdef.ErrNotFound) || err == nil && refreshed[reg.Key] {
			continue
		}
		if err != nil {
			return err
		}
		refreshed[reg.Key] = true
		if err := network.RefreshPrivateSubnets(tx, reg.Key); err != nil {
			return err
		}
	}
	return nil
}

// dropDeletedEndpoint removes a deleted endpoint's connection from its
// registry, when the registry is still there.
func (p *Provider) dropDeletedEndpoint(tx meta.Tx, res meta.Resource) error {
	var pe PrivateEndpoint
	if json.Unmarshal(res.Document, &pe) != nil {
		return nil
	}
	pe.ID = res.ID
	reg, err := endpointRegistry(tx, pe)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return dropEndpointConnection(tx, reg, res.ID)
}

// endpointRegistry is the registry a private endpoint connects to.
func endpointRegistry(tx meta.Tx, pe PrivateEndpoint) (meta.Registry, error) {
	if len(pe.Properties.PrivateLinkServiceConnections)+len(pe.Properties.ManualPrivateLinkServiceConnections) != 1 {
		return meta.Registry{}, errdef.ErrNotFound
	}
	lc, _ := pe.connection()
	return registryOf(tx, lc.Properties.PrivateLinkServiceID)
}

func inAny(subnetID string, prefixes []string) bool {
	id := strings.ToLower(subnetID)
	for _, p := range prefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}
