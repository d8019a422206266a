package vnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

const (
	registryType = "Microsoft.ContainerRegistry/registries"
	// approveAction lets a caller's new endpoints be approved at once.
	approveAction = registryType + "/privateEndpointConnectionsApproval/action"
)

// PrivateEndpoint is a private endpoint as stored and served.
type PrivateEndpoint struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location,omitempty"`
	Etag       string            `json:"etag,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		Subnet *struct {
			ID string `json:"id"`
		} `json:"subnet"`
		PrivateLinkServiceConnections       []LinkConnection `json:"privateLinkServiceConnections"`
		ManualPrivateLinkServiceConnections []LinkConnection `json:"manualPrivateLinkServiceConnections"`
		NetworkInterfaces                   []any            `json:"networkInterfaces"`
		CustomDNSConfigs                    []any            `json:"customDnsConfigs"`
		ProvisioningState                   string           `json:"provisioningState,omitempty"`
	} `json:"properties"`
}

// LinkConnection is one connection of a private endpoint to a service.
type LinkConnection struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
	Type       string `json:"type,omitempty"`
	Properties struct {
		PrivateLinkServiceID              string           `json:"privateLinkServiceId"`
		GroupIDs                          []string         `json:"groupIds"`
		RequestMessage                    string           `json:"requestMessage,omitempty"`
		PrivateLinkServiceConnectionState *connectionState `json:"privateLinkServiceConnectionState,omitempty"`
		ProvisioningState                 string           `json:"provisioningState,omitempty"`
	} `json:"properties"`
}

type connectionState struct {
	Status          string `json:"status"`
	Description     string `json:"description"`
	ActionsRequired string `json:"actionsRequired"`
}

// the one connection of an endpoint, and whether it is a manual one.
func (pe *PrivateEndpoint) connection() (*LinkConnection, bool) {
	if len(pe.Properties.PrivateLinkServiceConnections) == 1 {
		return &pe.Properties.PrivateLinkServiceConnections[0], false
	}
	return &pe.Properties.ManualPrivateLinkServiceConnections[0], true
}

func (p *Provider) getEndpoint(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	id := q.ID.String()
	var pe PrivateEndpoint
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := load(tx, id, network.PrivateEndpointType, q.ID.Name(), q.ID.ResourceGroup, &pe); err != nil {
			return err
		}
		return withState(tx, &pe)
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(pe), nil
}

func (p *Provider) listEndpoints(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	return p.list(ctx, q, network.PrivateEndpointType, func(tx meta.Tx, doc []byte) (any, error) {
		var pe PrivateEndpoint
		if err := json.Unmarshal(doc, &pe); err != nil {
			return nil, err
		}
		return pe, withState(tx, &pe)
	})
}

// withState fills the connection state from the registry's side, where
// approvals happen: a connection the registry no longer has is
// Disconnected.
func withState(tx meta.Tx, pe *PrivateEndpoint) error {
	lc, _ := pe.connection()
	state := &connectionState{Status: "Disconnected", Description: "The registry has no connection for this private endpoint.", ActionsRequired: "None"}
	reg, err := registryOf(tx, lc.Properties.PrivateLinkServiceID)
	if err == nil {
		c, ok, err := connectionOf(tx, reg, pe.ID)
		if err != nil {
			return err
		}
		if ok {
			state = &connectionState{Status: string(c.Status), Description: c.Description, ActionsRequired: c.ActionsRequired}
		}
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	lc.Properties.PrivateLinkServiceConnectionState = state
	return nil
}

// registryOf resolves a registry resource id of this service.
func registryOf(tx meta.Tx, id string) (meta.Registry, error) {
	parsed, err := arm.ParseID(id)
	if err != nil || !strings.EqualFold(parsed.Provider, "Microsoft.ContainerRegistry") || len(parsed.Types) != 1 || !strings.EqualFold(parsed.Types[0], "registries") {
		return meta.Registry{}, errdef.ErrNotFound
	}
	reg, err := tx.RegistryByName(parsed.Names[0])
	if err != nil {
		return reg, err
	}
	if !strings.EqualFold(reg.ResourceID, id) {
		return reg, errdef.ErrNotFound
	}
	return reg, nil
}

// putEndpoint creates a private endpoint (its subnet and target are fixed
// once created) and, in the same transaction, its connection on the
// registry and the registry's private subnets.
func (p *Provider) putEndpoint(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	name := q.ID.Name()
	if err := checkName(name); err != nil {
		return nil, err
	}
	var in PrivateEndpoint
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if in.Location == "" {
		return nil, invalid("LocationRequired", "The location property is required for this definition.")
	}
	if in.Properties.Subnet == nil || in.Properties.Subnet.ID == "" {
		return nil, invalid("InvalidRequestFormat", "properties.subnet.id is required: the subnet the private endpoint is in.")
	}
	if len(in.Properties.PrivateLinkServiceConnections)+len(in.Properties.ManualPrivateLinkServiceConnections) != 1 {
		return nil, invalid("InvalidRequestFormat", "A private endpoint needs exactly one entry in privateLinkServiceConnections or manualPrivateLinkServiceConnections.")
	}
	id := q.ID.String()
	lc, manual := in.connection()
	if lc.Name == "" {
		lc.Name = name
	}
	if len(lc.Properties.GroupIDs) != 1 || !strings.EqualFold(lc.Properties.GroupIDs[0], "registry") {
		return nil, invalid("PrivateEndpointBadRequest", "groupIds must be [\"registry\"]: the only private link sub-resource of a container registry.")
	}
	lc.Properties.GroupIDs = []string{"registry"}
	caller, err := authz.CallerFromContext(ctx)
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	var opPath string
	var before any
	start := p.now().UTC()
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		if err := arm.RequireGroup(tx, q.ID); err != nil {
			return err
		}
		var old PrivateEndpoint
		res, err := load(tx, id, network.PrivateEndpointType, name, q.ID.ResourceGroup, &old)
		switch {
		case err == nil:
			status, before = http.StatusOK, old
			olc, _ := old.connection()
			if !strings.EqualFold(old.Properties.Subnet.ID, in.Properties.Subnet.ID) || !strings.EqualFold(olc.Properties.PrivateLinkServiceID, lc.Properties.PrivateLinkServiceID) {
				return invalid("PrivateEndpointCannotBeUpdated", "The subnet and the target of private endpoint %s cannot change; delete it and create a new one.", name)
			}
		case isNotFound(err):
			res.CreatedAt = start
		default:
			return err
		}
		if _, err := network.SubnetPrefixes(tx, in.Properties.Subnet.ID); errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrInvalidArgument) {
			return invalid("InvalidResourceReference", "Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists.", in.Properties.Subnet.ID, id)
		} else if err != nil {
			return err
		}
		reg, err := registryOf(tx, lc.Properties.PrivateLinkServiceID)
		if errors.Is(err, errdef.ErrNotFound) {
			return invalid("PrivateLinkServiceNotFound", "The private link service %s was not found; it must be a container registry of this service.", lc.Properties.PrivateLinkServiceID)
		} else if err != nil {
			return err
		}
		if reg.Facts.SKU != "Premium" {
			return invalid("PrivateEndpointNotSupported", "Private endpoints are supported for Premium registries only; registry '%s' is %s. Upgrade it with 'az acr update --sku Premium'.", reg.Name, reg.Facts.SKU)
		}
		conn, err := endpointConnection(tx, reg, id, connectionName(name, id), status == http.StatusOK, start)
		if err != nil {
			return err
		}
		if conn.Status == "" {
			conn.Status, conn.Description = meta.ConnectionPending, lc.Properties.RequestMessage
			if !manual && authz.Check(tx, caller.ObjectID, reg.ResourceID, approveAction) == nil {
				conn.Status, conn.Description = meta.ConnectionApproved, "Auto-Approved"
			}
		}
		// The endpoint first: the registry's private subnets read it.
		in.ID, in.Name, in.Type, in.Etag = id, name, network.PrivateEndpointType, etag(start)
		in.Location = arm.NormLocation(in.Location)
		lc.ID, lc.Type = id+"/privateLinkServiceConnections/"+lc.Name, network.PrivateEndpointType+"/privateLinkServiceConnections"
		lc.Properties.ProvisioningState = "Succeeded"
		lc.Properties.PrivateLinkServiceConnectionState = nil
		if in.Properties.PrivateLinkServiceConnections == nil {
			in.Properties.PrivateLinkServiceConnections = []LinkConnection{}
		}
		if in.Properties.ManualPrivateLinkServiceConnections == nil {
			in.Properties.ManualPrivateLinkServiceConnections = []LinkConnection{}
		}
		in.Properties.NetworkInterfaces, in.Properties.CustomDNSConfigs = []any{}, []any{}
		in.Properties.ProvisioningState = "Succeeded"
		if err := tx.PutResource(meta.Resource{ID: id, Type: network.PrivateEndpointType, Document: mustJSON(in), CreatedAt: res.CreatedAt, UpdatedAt: start}); err != nil {
			return err
		}
		if err := network.StoreConnection(tx, conn); err != nil {
			return err
		}
		if err := withState(tx, &in); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.ID.Subscription, namespace, in.Location, start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: in, AsyncOperation: opPath, Before: before, After: in}, nil
}

// connectionName names an endpoint's connection on the registry: the
// endpoint's name and a stable suffix of its id, as ACR shows them.
func connectionName(name, id string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(id)))
	return name + "." + hex.EncodeToString(sum[:4])
}

// deleteEndpoint removes the endpoint and its connection on the registry,
// and with it the subnet's access.
func (p *Provider) deleteEndpoint(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	id := q.ID.String()
	var opPath string
	var before any
	start := p.now().UTC()
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		var pe PrivateEndpoint
		if _, err := load(tx, id, network.PrivateEndpointType, q.ID.Name(), q.ID.ResourceGroup, &pe); isNotFound(err) {
			return errdef.ErrNotFound
		} else if err != nil {
			return err
		}
		before = pe
		lc, _ := pe.connection()
		reg, err := registryOf(tx, lc.Properties.PrivateLinkServiceID)
		switch {
		case err == nil:
			if err := dropEndpointConnection(tx, reg, id); err != nil {
				return err
			}
		case !errors.Is(err, errdef.ErrNotFound):
			return err
		}
		if err := tx.DeleteResource(id); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.ID.Subscription, namespace, pe.Location, start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, before, err)
}
