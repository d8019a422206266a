// Package vnet is the Microsoft.Network provider, as much of it as private
// endpoints need (DESIGN.md "Network model"): virtual networks with
// subnets, and private endpoints that connect a subnet to a registry. A
// private endpoint creates a connection on the registry, Approved when its
// creator may approve connections there and Pending otherwise; the data
// plane lets the subnets of approved connections in (package network).
package vnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

const namespace = "Microsoft.Network"

// apiVersions are the Microsoft.Network versions the az CLI and the SDKs
// of the last years send.
var apiVersions = []string{
	"2020-05-01", "2020-06-01", "2020-07-01", "2020-08-01", "2020-11-01", "2021-02-01", "2021-03-01", "2021-05-01",
	"2021-08-01", "2022-01-01", "2022-05-01", "2022-07-01", "2022-09-01", "2022-11-01", "2023-02-01", "2023-04-01",
	"2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01",
	"2024-10-01", "2025-01-01", "2025-03-01", "2025-05-01",
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_]$|^[a-zA-Z0-9]$`)

// Options configure the provider. The router logs server faults, so the
// provider needs no logger.
type Options struct {
	// Meta is where networks, endpoints and registries live.
	Meta meta.Store
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Provider serves Microsoft.Network resources. It is safe for concurrent
// use.
type Provider struct {
	meta meta.Store
	now  func() time.Time
}

// New returns the provider.
func New(o Options) *Provider {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Provider{meta: o.Meta, now: o.Now}
}

// Table declares the provider's routes for arm's router (DESIGN.md "The
// front door"). Reads and writes check the real Microsoft.Network actions
// at the resource (lists at the resource group); the provider metadata is
// open to every caller. No route moves artifact content.
func (p *Provider) Table() arm.Table {
	const (
		rg        = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
		vnetRead  = network.VirtualNetworkType + "/read"
		vnetWrite = network.VirtualNetworkType + "/write"
		vnetDel   = network.VirtualNetworkType + "/delete"
		subRead   = network.VirtualNetworkType + "/subnets/read"
		peRead    = network.PrivateEndpointType + "/read"
		peWrite   = network.PrivateEndpointType + "/write"
		peDel     = network.PrivateEndpointType + "/delete"
	)
	vnets := arm.APIVersions(network.VirtualNetworkType, apiVersions...)
	subnets := arm.APIVersions(network.VirtualNetworkType+"/subnets", apiVersions...)
	endpoints := arm.APIVersions(network.PrivateEndpointType, apiVersions...)
	none := arm.MovesNoContent("network metadata: virtual networks, subnets and private endpoints hold no artifacts; " +
		"a private endpoint only changes who may reach a registry's data plane, which checks every pull itself")
	routes := []arm.Route{
		{Method: "GET", Pattern: rg + "/virtualNetworks", Versions: vnets, Action: vnetRead, Egress: none, Handle: p.listVNets},
		{Method: "GET", Pattern: rg + "/virtualNetworks/{name}", Versions: vnets, Action: vnetRead, Egress: none, Handle: p.getVNet},
		{Method: "PUT", Pattern: rg + "/virtualNetworks/{name}", Versions: vnets, Action: vnetWrite, Egress: none, Handle: p.putVNet},
		{Method: "DELETE", Pattern: rg + "/virtualNetworks/{name}", Versions: vnets, Action: vnetDel, Egress: none, Handle: p.deleteVNet},
		{Method: "GET", Pattern: rg + "/virtualNetworks/{name}/subnets", Versions: subnets, Action: subRead, Egress: none, Handle: p.listSubnets},
		{Method: "GET", Pattern: rg + "/virtualNetworks/{name}/subnets/{subnet}", Versions: subnets, Action: subRead, Egress: none, Handle: p.getSubnet},
		{Method: "GET", Pattern: rg + "/privateEndpoints", Versions: endpoints, Action: peRead, Egress: none, Handle: p.listEndpoints},
		{Method: "GET", Pattern: rg + "/privateEndpoints/{name}", Versions: endpoints, Action: peRead, Egress: none, Handle: p.getEndpoint},
		{Method: "PUT", Pattern: rg + "/privateEndpoints/{name}", Versions: endpoints, Action: peWrite, Egress: none, Handle: p.putEndpoint},
		{Method: "DELETE", Pattern: rg + "/privateEndpoints/{name}", Versions: endpoints, Action: peDel, Egress: none, Handle: p.deleteEndpoint},
		// az reads the provider metadata with the Microsoft.Resources
		// api-version of its generic resource commands, not ours.
		{Method: "GET", Pattern: "/subscriptions/{sub}/providers/Microsoft.Network", Versions: arm.AnyAPIVersion(),
			Access: arm.AnyCaller("provider metadata lists resource types and api-versions, the same for every caller; it names no resource"),
			Egress: none, Handle: arm.ProviderInfo(namespace, apiVersions, "virtualNetworks", "virtualNetworks/subnets", "privateEndpoints", "locations/operationStatuses")},
	}
	return arm.Table{Name: namespace, Routes: append(routes, arm.OperationTable(p.meta, namespace)...)}
}

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return errInvalidName(name)
	}
	return nil
}

// load reads a stored document of this provider.
func load(tx meta.Tx, id, typ, name, rg string, v any) (meta.Resource, error) {
	res, err := tx.GetResource(id)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(res.Type, typ) {
		return res, errNotFound(typ, name, rg)
	}
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(res.Document, v); err != nil {
		return res, fmt.Errorf("%s: %w", id, err)
	}
	return res, nil
}

// list answers the resources of type typ in the addressed resource group;
// the router has checked the read action on the group.
func (p *Provider) list(ctx context.Context, q *arm.Request, typ string, render func(tx meta.Tx, doc []byte) (any, error)) (*arm.Response, error) {
	out := []any{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if err := arm.RequireGroup(tx, q.ID); err != nil {
			return err
		}
		rows, err := tx.ListResources(q.ID.String(), typ, meta.Page{Limit: 1000})
		if err != nil {
			return err
		}
		for _, row := range rows {
			v, err := render(tx, row.Document)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

// isNotFound reports whether load found nothing at the id.
func isNotFound(err error) bool { return errors.Is(err, errdef.ErrNotFound) }

func rawDoc(_ meta.Tx, doc []byte) (any, error) { return json.RawMessage(doc), nil }

// etag is a weak entity tag of a document.
func etag(now time.Time) string { return fmt.Sprintf("W/\"%x\"", now.UnixNano()) }
