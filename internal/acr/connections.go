package acr

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// Private endpoint connections are child rows of the registry (meta),
// which private endpoints (package vnet) create; here the registry's owner
// approves, rejects and removes them, and the registry's private subnets
// fact follows in the same transaction (network.StoreConnection).

const (
	connectionType = RegistryType + "/privateEndpointConnections"
	approveAction  = RegistryType + "/privateEndpointConnectionsApproval/action"
)

func connectionNotFound(name string) error {
	return fail("PrivateEndpointConnectionNotFound", "The private endpoint connection '%s' was not found.", name).
		WithCause(errdef.ErrNotFound)
}

// findConnection reads the registry's connection name, or 404s.
func findConnection(tx meta.Tx, reg meta.Registry, name string) (meta.PrivateEndpointConnection, error) {
	c, err := tx.Connection(reg.Key, name)
	if errors.Is(err, errdef.ErrNotFound) {
		return c, connectionNotFound(name)
	}
	return c, err
}

func (p *Provider) listConnections(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var conns []PrivateEndpointConnection
	err := p.withRegistry(ctx, q, false, func(tx meta.Tx, reg meta.Registry) (err error) {
		conns, err = connectionsOf(tx, reg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: map[string]any{"value": conns}}, nil
}

func (p *Provider) getConnection(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var out PrivateEndpointConnection
	err := p.withRegistry(ctx, q, false, func(tx meta.Tx, reg meta.Registry) error {
		c, err := findConnection(tx, reg, req.ID.Name())
		out = renderConnection(reg, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: out}, nil
}

// putConnection approves or rejects a connection. Connections are created
// by private endpoints only, so an unknown name is 404.
func (p *Provider) putConnection(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var in struct {
		Properties *struct {
			PrivateLinkServiceConnectionState *struct {
				Status      string `json:"status"`
				Description string `json:"description"`
			} `json:"privateLinkServiceConnectionState"`
		} `json:"properties"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Properties == nil || in.Properties.PrivateLinkServiceConnectionState == nil {
		return nil, fail("InvalidRequestContent", "properties.privateLinkServiceConnectionState.status is required: Approved or Rejected.")
	}
	want := in.Properties.PrivateLinkServiceConnectionState
	var status meta.ConnectionStatus
	for _, s := range []meta.ConnectionStatus{meta.ConnectionApproved, meta.ConnectionRejected} {
		if strings.EqualFold(want.Status, string(s)) {
			status = s
		}
	}
	if status == "" {
		return nil, fail("InvalidRequestContent", "The connection status '%s' is not valid; use Approved or Rejected.", want.Status)
	}
	var out, before PrivateEndpointConnection
	var opPath string
	start := p.now().UTC()
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, row meta.Registry) error {
		c, err := findConnection(tx, row, req.ID.Name())
		if err != nil {
			return err
		}
		if c.Status == meta.ConnectionRejected && status == meta.ConnectionApproved {
			return fail("PrivateEndpointConnectionRejected", "The private endpoint connection '%s' was rejected and cannot be approved again; delete the private endpoint and create it anew.", c.Name)
		}
		before = renderConnection(row, c)
		c.Status, c.Description, c.UpdatedAt = status, want.Description, start
		if err := network.StoreConnection(tx, c); err != nil {
			return err
		}
		out = renderConnection(row, c)
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: out, AsyncOperation: opPath, Before: before, After: out}, nil
}

// deleteConnection removes a connection; its private endpoint stays, and
// shows Disconnected.
func (p *Provider) deleteConnection(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var opPath string
	start := p.now().UTC()
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, row meta.Registry) error {
		c, err := findConnection(tx, row, req.ID.Name())
		if err != nil {
			return err
		}
		if err := network.DropConnection(tx, row.Key, c.Name); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, nil, err)
}
