package vnet

import (
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// A private endpoint's side of its registry connection: the connection is
// a row of the registry (meta.Connections), found by the endpoint's id,
// and every change to it refreshes the registry's private subnets in the
// same transaction (network.StoreConnection, network.DropConnection).

// connectionOf finds the registry's connection to private endpoint peID.
func connectionOf(tx meta.Connections, reg meta.Registry, peID string) (meta.PrivateEndpointConnection, bool, error) {
	conns, err := tx.ListConnections(reg.Key)
	if err != nil {
		return meta.PrivateEndpointConnection{}, false, err
	}
	for _, c := range conns {
		if strings.EqualFold(c.PrivateEndpointID, peID) {
			return c, true, nil
		}
	}
	return meta.PrivateEndpointConnection{}, false, nil
}

// endpointConnection is the connection row a PUT of private endpoint peID
// writes. An update of the endpoint keeps the registry's decision (and
// the row's name); otherwise Status is left empty for the caller to
// decide.
func endpointConnection(tx meta.Connections, reg meta.Registry, peID, name string, update bool, now time.Time) (meta.PrivateEndpointConnection, error) {
	c := meta.PrivateEndpointConnection{RegistryKey: reg.Key, Name: name, PrivateEndpointID: peID,
		ActionsRequired: "None", ProvisioningState: "Succeeded", CreatedAt: now, UpdatedAt: now}
	if !update {
		return c, nil
	}
	old, ok, err := connectionOf(tx, reg, peID)
	if err != nil || !ok {
		return c, err
	}
	c.Name, c.Status, c.Description, c.ActionsRequired = old.Name, old.Status, old.Description, old.ActionsRequired
	return c, nil
}

// dropEndpointConnection removes the registry's connection to private
// endpoint peID, if the registry still has one.
func dropEndpointConnection(tx meta.Tx, reg meta.Registry, peID string) error {
	c, ok, err := connectionOf(tx, reg, peID)
	if err != nil || !ok {
		return err
	}
	return network.DropConnection(tx, reg.Key, c.Name)
}
