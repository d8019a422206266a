package vnet

import (
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

// readVNet loads the addressed virtual network after checking action.
func (p *Provider) readVNet(r *http.Request, action string) (VirtualNetwork, error) {
	id := resourceID(r, "virtualNetworks")
	var v VirtualNetwork
	err := p.meta.View(r.Context(), func(tx meta.Tx) error {
		if err := arm.Authorize(r.Context(), tx, id, action); err != nil {
			return err
		}
		_, err := load(tx, id, network.VirtualNetworkType, r.PathValue("name"), r.PathValue("rg"), &v)
		return err
	})
	return v, err
}

func (p *Provider) getVNet(w http.ResponseWriter, r *http.Request) error {
	v, err := p.readVNet(r, network.VirtualNetworkType+"/read")
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (p *Provider) listVNets(w http.ResponseWriter, r *http.Request) error {
	return p.list(w, r, network.VirtualNetworkType, rawDoc)
}

func (p *Provider) listSubnets(w http.ResponseWriter, r *http.Request) error {
	v, err := p.readVNet(r, network.VirtualNetworkType+"/subnets/read")
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": v.Properties.Subnets})
	return nil
}

func (p *Provider) getSubnet(w http.ResponseWriter, r *http.Request) error {
	v, err := p.readVNet(r, network.VirtualNetworkType+"/subnets/read")
	if err != nil {
		return err
	}
	for _, s := range v.Properties.Subnets {
		if strings.EqualFold(s.Name, r.PathValue("subnet")) {
			arm.WriteJSON(w, http.StatusOK, s)
			return nil
		}
	}
	return notFound(network.VirtualNetworkType+"/subnets", r.PathValue("name")+"/"+r.PathValue("subnet"), r.PathValue("rg"))
}

// putVNet creates or replaces a virtual network. Subnets that private
// endpoints use may neither go away nor change their ranges.
func (p *Provider) putVNet(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName(name); err != nil {
		return err
	}
	var in VirtualNetwork
	if err := arm.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id := resourceID(r, "virtualNetworks")
	if err := validateVNet(id, &in); err != nil {
		return err
	}
	status := http.StatusCreated
	var opPath string
	start := p.now().UTC()
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := arm.Authorize(r.Context(), tx, id, network.VirtualNetworkType+"/write"); err != nil {
			return err
		}
		if err := requireGroup(tx, r); err != nil {
			return err
		}
		var old VirtualNetwork
		res, err := load(tx, id, network.VirtualNetworkType, name, r.PathValue("rg"), &old)
		switch {
		case err == nil:
			status = http.StatusOK
			if !strings.EqualFold(arm.NormLocation(old.Location), arm.NormLocation(in.Location)) {
				return arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation", "The resource '%s' already exists in location '%s'; it cannot move to '%s'.", name, old.Location, in.Location)
			}
			if err := keepUsedSubnets(tx, r, old, in); err != nil {
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
		opPath, err = arm.RecordOperation(tx, r.PathValue("sub"), namespace, in.Location, start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		return err
	}
	arm.SetAsyncHeaders(w, r, opPath)
	arm.WriteJSON(w, status, in)
	return nil
}

func invalid(code, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, code, format, args...).WithCause(errdef.ErrInvalidArgument)
}

// validateVNet checks the address space and the subnets, and fills in the
// subnets' read-only fields.
func validateVNet(id string, v *VirtualNetwork) error {
	if v.Location == "" {
		return invalid("LocationRequired", "The location property is required for this definition.")
	}
	if v.Properties.AddressSpace == nil || len(v.Properties.AddressSpace.AddressPrefixes) == 0 {
		return invalid("InvalidAddressSpace", "properties.addressSpace.addressPrefixes needs at least one CIDR range, for example 10.0.0.0/16.")
	}
	var space []netip.Prefix
	for _, s := range v.Properties.AddressSpace.AddressPrefixes {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return invalid("InvalidAddressPrefixFormat", "Address prefix %s of the address space is not a valid CIDR range.", s)
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
			return invalid("DuplicateResourceName", "The subnet name %s appears more than once.", s.Name)
		}
		seen[strings.ToLower(s.Name)] = true
		prefixes, err := s.Prefixes()
		if err != nil || len(prefixes) == 0 {
			return invalid("InvalidAddressPrefixFormat", "Subnet %s needs a valid addressPrefix (CIDR), for example 10.0.1.0/24.", s.Name)
		}
		for _, sp := range prefixes {
			within := false
			for _, a := range space {
				within = within || a.Bits() <= sp.Bits() && a.Contains(sp.Addr())
			}
			if !within {
				return invalid("NetcfgSubnetRangeOutsideVnet", "Subnet '%s' is not valid because its IP address range %s is outside the IP address range of the virtual network.", s.Name, sp)
			}
			for _, t := range taken {
				if t.Overlaps(sp) {
					return invalid("NetcfgSubnetRangesOverlap", "Subnet '%s' is not valid because its IP address range %s overlaps with that of another subnet (%s).", s.Name, sp, t)
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
// endpoints (of the subscription) in them.
func endpointsIn(tx meta.Tx, r *http.Request, vnetID string) (map[string][]string, error) {
	rows, err := tx.ListResources("/subscriptions/"+r.PathValue("sub"), network.PrivateEndpointType, meta.Page{Limit: 1000})
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
func keepUsedSubnets(tx meta.Tx, r *http.Request, old, next VirtualNetwork) error {
	used, err := endpointsIn(tx, r, old.ID)
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
			return arm.Errorf(http.StatusBadRequest, "InUseSubnetCannotBeDeleted", "Subnet %s is in use by %s and cannot be deleted. Delete the private endpoint first.", o.Name, pes[0])
		}
		a, _ := o.Prefixes()
		b, _ := kept.Prefixes()
		if fmt.Sprint(a) != fmt.Sprint(b) {
			return arm.Errorf(http.StatusBadRequest, "InUseSubnetCannotBeUpdated", "Subnet %s is in use by %s; its address range cannot change.", o.Name, pes[0])
		}
	}
	return nil
}

func (p *Provider) deleteVNet(w http.ResponseWriter, r *http.Request) error {
	id := resourceID(r, "virtualNetworks")
	var opPath string
	start := p.now().UTC()
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := arm.Authorize(r.Context(), tx, id, network.VirtualNetworkType+"/delete"); err != nil {
			return err
		}
		var v VirtualNetwork
		if _, err := load(tx, id, network.VirtualNetworkType, r.PathValue("name"), r.PathValue("rg"), &v); isNotFound(err) {
			return errdef.ErrNotFound
		} else if err != nil {
			return err
		}
		used, err := endpointsIn(tx, r, v.ID)
		if err != nil {
			return err
		}
		for subnet, pes := range used {
			return arm.Errorf(http.StatusBadRequest, "InUseSubnetCannotBeDeleted", "Subnet %s is in use by %s and cannot be deleted. Delete the private endpoint first.", subnet, pes[0])
		}
		if err := tx.DeleteResource(id); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, r.PathValue("sub"), namespace, v.Location, start, p.now().UTC(), nil)
		return err
	})
	return arm.AnswerDelete(w, r, opPath, err)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
