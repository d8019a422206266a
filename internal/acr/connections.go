package acr

import (
	"context"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// Private endpoint connections live in the registry document, where
// private endpoints (package vnet) create them; here the registry's owner
// approves, rejects and removes them, and the data plane's view of the
// registry's private subnets follows in the same transaction.

const (
	connectionType = RegistryType + "/privateEndpointConnections"
	approveAction  = RegistryType + "/privateEndpointConnectionsApproval/action"
)

func connectionNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "PrivateEndpointConnectionNotFound", "The private endpoint connection '%s' was not found.", name)
}

func findConnection(conns []network.Connection, name string) (network.Connection, bool) {
	for _, c := range conns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return network.Connection{}, false
}

func (p *Provider) listConnections(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var conns []network.Connection
	err := p.withRegistry(ctx, q, false, func(_ meta.Tx, reg meta.Registry) (err error) {
		conns, err = network.ConnectionsOf(reg.Document)
		return err
	})
	if err != nil {
		return nil, err
	}
	if conns == nil {
		conns = []network.Connection{}
	}
	return &arm.Response{Status: http.StatusOK, Body: map[string]any{"value": conns}}, nil
}

func (p *Provider) getConnection(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var c network.Connection
	err := p.withRegistry(ctx, q, false, func(_ meta.Tx, reg meta.Registry) error {
		conns, err := network.ConnectionsOf(reg.Document)
		if err != nil {
			return err
		}
		var ok bool
		if c, ok = findConnection(conns, req.ID.Name()); !ok {
			return connectionNotFound(req.ID.Name())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: c}, nil
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
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties.privateLinkServiceConnectionState.status is required: Approved or Rejected.")
	}
	want := in.Properties.PrivateLinkServiceConnectionState
	var status string
	for _, s := range []string{"Approved", "Rejected"} {
		if strings.EqualFold(want.Status, s) {
			status = s
		}
	}
	if status == "" {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The connection status '%s' is not valid; use Approved or Rejected.", want.Status)
	}
	var out network.Connection
	var opPath string
	start := p.now().UTC()
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, row meta.Registry) error {
		conns, err := network.ConnectionsOf(row.Document)
		if err != nil {
			return err
		}
		c, ok := findConnection(conns, req.ID.Name())
		if !ok {
			return connectionNotFound(req.ID.Name())
		}
		if c.Properties.PrivateLinkServiceConnectionState.Status == "Rejected" && status == "Approved" {
			return arm.Errorf(http.StatusBadRequest, "PrivateEndpointConnectionRejected",
				"The private endpoint connection '%s' was rejected and cannot be approved again; delete the private endpoint and create it anew.", c.Name)
		}
		c.Properties.PrivateLinkServiceConnectionState.Status = status
		c.Properties.PrivateLinkServiceConnectionState.Description = want.Description
		if row.Document, err = network.PutConnection(row.Document, c); err != nil {
			return err
		}
		row.UpdatedAt = start
		if err := tx.UpdateRegistry(row); err != nil {
			return err
		}
		if err := network.Refresh(tx, row, start); err != nil {
			return err
		}
		out = c
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: out, AsyncOperation: opPath}, nil
}

// deleteConnection removes a connection; its private endpoint stays, and
// shows Disconnected.
func (p *Provider) deleteConnection(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var opPath string
	start := p.now().UTC()
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, row meta.Registry) error {
		conns, err := network.ConnectionsOf(row.Document)
		if err != nil {
			return err
		}
		c, ok := findConnection(conns, req.ID.Name())
		if !ok {
			return connectionNotFound(req.ID.Name())
		}
		if row.Document, err = network.RemoveConnection(row.Document, c.Properties.PrivateEndpoint.ID); err != nil {
			return err
		}
		row.UpdatedAt = start
		if err := tx.UpdateRegistry(row); err != nil {
			return err
		}
		if err := network.Refresh(tx, row, start); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, nil, err)
}
