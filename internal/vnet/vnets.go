package vnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// VirtualNetwork is a virtual network as stored and served.
type VirtualNetwork struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location,omitempty"`
	Etag       string            `json:"etag,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		AddressSpace *struct {
			AddressPrefixes []string `json:"addressPrefixes"`
		} `json:"addressSpace"`
		Subnets           []network.Subnet `json:"subnets"`
		ProvisioningState string           `json:"provisioningState,omitempty"`
	} `json:"properties"`
}

// readVNet loads the virtual network id names; the router has checked
// the route's action.
func (p *Provider) readVNet(ctx context.Context, id arm.ID) (VirtualNetwork, error) {
	var v VirtualNetwork
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		_, err := load(tx, id.String(), network.VirtualNetworkType, id.Name(), id.ResourceGroup, &v)
		return err
	})
	return v, err
}

func (p *Provider) getVNet(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	v, err := p.readVNet(ctx, q.ID)
	if err != nil {
		return nil, err
	}
	return arm.OK(v), nil
}

func (p *Provider) listVNets(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	return p.list(ctx, q, network.VirtualNetworkType, rawDoc)
}

func (p *Provider) listSubnets(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	v, err := p.readVNet(ctx, q.ID)
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": v.Properties.Subnets}), nil
}

// getSubnet answers one subnet; q.ID is the subnet's id, its parent the
// virtual network's.
func (p *Provider) getSubnet(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	vnetID, _ := q.ID.Parent()
	v, err := p.readVNet(ctx, vnetID)
	if err != nil {
		return nil, err
	}
	for _, s := range v.Properties.Subnets {
		if strings.EqualFold(s.Name, q.ID.Name()) {
			return arm.OK(s), nil
		}
	}
	return nil, errNotFound(network.VirtualNetworkType+"/subnets", vnetID.Name()+"/"+q.ID.Name(), q.ID.ResourceGroup)
}

// putVNet creates or replaces a virtual network. Subnets that private
// endpoints use may neither go away nor change their ranges.
func (p *Provider) putVNet(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	name := q.ID.Name()
	if err := checkName(name); err != nil {
		return nil, err
	}
	var in VirtualNetwork
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	id := q.ID.String()
	if err := validateVNet(id, &in); err != nil {
		return nil, err
	}
	status := http.StatusCreated
	var opPath string
	var before any
	start := p.now().UTC()
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		if err := arm.RequireGroup(tx, q.ID); err != nil {
			return err
		}
		var old VirtualNetwork
		res, err := load(tx, id, network.VirtualNetworkType, name, q.ID.ResourceGroup, &old)
		switch {
		case err == nil:
			status, before = http.StatusOK, old
			if !strings.EqualFold(arm.NormLocation(old.Location), arm.NormLocation(in.Location)) {
				return errLocationChange(name, old.Location, in.Location)
			}
			if err := keepUsedSubnets(tx, q.ID.Subscription, old, in); err != nil {
				return err
			}
			in.Name = old.Name
		case isNotFound(err):
			res.CreatedAt = start
			in.Name = name
		default:
			return err
		}
		in.ID, in.Type, in.Etag = id, network.VirtualNetworkType, etag(start)
		in.Location = arm.NormLocation(in.Location)
		in.Properties.ProvisioningState = "Succeeded"
		if err := tx.PutResource(meta.Resource{ID: id, Type: network.VirtualNetworkType, Document: mustJSON(in), CreatedAt: res.CreatedAt, UpdatedAt: start}); err != nil {
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

// validateVNet checks the address space and the subnets, and fills in the
// subnets' read-only fields.
func validateVNet(id string, v *VirtualNetwork) error {
	if v.Location == "" {
		return errLocationRequired()
	}
	if v.Properties.AddressSpace == nil || len(v.Properties.AddressSpace.AddressPrefixes) == 0 {
		return errAddressSpaceRequired()
	}
	var space []netip.Prefix
	for _, s := range v.Properties.AddressSpace.AddressPrefixes {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return errAddressSpacePrefix(s)
		}
		space = append(space, pfx.Masked())
	}
	seen := map[string]bool{}
	var taken []netip.Prefix
	for i := range v.Properties.Subnets {
		s := &v.Properties.Subnets[i]
		if err := checkName(s.Name); err != nil {
			return err
		}
		if seen[strings.ToLower(s.Name)] {
			return errDuplicateSubnet(s.Name)
		}
		seen[strings.ToLower(s.Name)] = true
		prefixes, err := s.Prefixes()
		if err != nil || len(prefixes) == 0 {
			return errSubnetPrefix(s.Name)
		}
		for _, sp := range prefixes {
			within := false
			for _, a := range space {
				within = within || a.Bits() <= sp.Bits() && a.Contains(sp.Addr())
			}
			if !within {
				return errSubnetOutsideVNet(s.Name, sp)
			}
			for _, t := range taken {
				if t.Overlaps(sp) {
					return errSubnetsOverlap(s.Name, sp, t)
				}
			}
			taken = append(taken, sp)
		}
		s.ID, s.Type = id+"/subnets/"+s.Name, network.VirtualNetworkType+"/subnets"
		s.Properties.ProvisioningState = "Succeeded"
	}
	return nil
}

// endpointsIn maps the subnets of virtual network vnetID to the private
// endpoints (of subscription sub) in them.
func endpointsIn(tx meta.Tx, sub, vnetID string) (map[string][]string, error) {
	rows, err := tx.ListResources("/subscriptions/"+sub, network.PrivateEndpointType, meta.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	used := map[string][]string{} // subnet name (lower) → endpoint ids
	prefix := strings.ToLower(vnetID) + "/subnets/"
	for _, row := range rows {
		var pe network.PrivateEndpoint
		if json.Unmarshal(row.Document, &pe) != nil {
			continue
		}
		if sid := strings.ToLower(pe.Properties.Subnet.ID); strings.HasPrefix(sid, prefix) {
			used[sid[len(prefix):]] = append(used[sid[len(prefix):]], row.ID)
		}
	}
	return used, nil
}

// keepUsedSubnets refuses a replacement that removes or re-ranges a subnet
// a private endpoint is in.
func keepUsedSubnets(tx meta.Tx, sub string, old, next VirtualNetwork) error {
	used, err := endpointsIn(tx, sub, old.ID)
	if err != nil {
		return err
	}
	for _, o := range old.Properties.Subnets {
		pes := used[strings.ToLower(o.Name)]
		if len(pes) == 0 {
			continue
		}
		var kept *network.Subnet
		for i := range next.Properties.Subnets {
			if strings.EqualFold(next.Properties.Subnets[i].Name, o.Name) {
				kept = &next.Properties.Subnets[i]
			}
		}
		if kept == nil {
			return errSubnetInUse(o.Name, pes[0])
		}
		a, _ := o.Prefixes()
		b, _ := kept.Prefixes()
		if fmt.Sprint(a) != fmt.Sprint(b) {
			return errSubnetRangeInUse(o.Name, pes[0])
		}
	}
	return nil
}

// deleteVNet removes a virtual network none of whose subnets has a
// private endpoint in it.
func (p *Provider) deleteVNet(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	id := q.ID.String()
	var opPath string
	var before any
	start := p.now().UTC()
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		var v VirtualNetwork
		if _, err := load(tx, id, network.VirtualNetworkType, q.ID.Name(), q.ID.ResourceGroup, &v); isNotFound(err) {
			return errdef.ErrNotFound
		} else if err != nil {
			return err
		}
		before = v
		used, err := endpointsIn(tx, q.ID.Subscription, v.ID)
		if err != nil {
			return err
		}
		for subnet, pes := range used {
			return errSubnetInUse(subnet, pes[0])
		}
		if err := tx.DeleteResource(id); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.ID.Subscription, namespace, v.Location, start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, before, err)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
