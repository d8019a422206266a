// Package network answers "is this request private for registry R, and
// may it reach R?" (DESIGN.md "Network model"). A request is private when
// its source address lies in the subnet of an Approved private endpoint of
// R. Public requests are refused when R has publicNetworkAccess Disabled,
// and otherwise filtered by networkRuleSet (defaultAction Deny + ipRules).
// The management plane is never filtered, as in ARM.
package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Resource types this package reads and writes.
const (
	VirtualNetworkType  = "Microsoft.Network/virtualNetworks"
	PrivateEndpointType = "Microsoft.Network/privateEndpoints"
	// viewType stores a registry's private subnets, derived from its
	// approved private endpoint connections; internal, never served.
	viewType   = "Microsoft.ContainerRegistry/registries/networkAccess"
	viewSuffix = "/networkAccess/default"
)

// Rules are the network settings of a registry, from its document.
type Rules struct {
	PublicAccessDisabled bool
	DefaultDeny          bool
	IPRules              []netip.Prefix
}

// Restricted reports whether some public address may be refused, which is
// when the private subnets need to be known at all.
func (r Rules) Restricted() bool { return r.PublicAccessDisabled || r.DefaultDeny }

// registryDoc is the part of a registry document this package reads.
type registryDoc struct {
	Properties struct {
		PublicNetworkAccess string `json:"publicNetworkAccess"`
		NetworkRuleSet      *struct {
			DefaultAction string `json:"defaultAction"`
			IPRules       []struct {
				Value string `json:"value"`
			} `json:"ipRules"`
		} `json:"networkRuleSet"`
		PrivateEndpointConnections []Connection `json:"privateEndpointConnections"`
	} `json:"properties"`
}

// Connection is a private endpoint connection as a registry document
// holds it.
type Connection struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		PrivateEndpoint struct {
			ID string `json:"id"`
		} `json:"privateEndpoint"`
		PrivateLinkServiceConnectionState struct {
			Status          string `json:"status"`
			Description     string `json:"description"`
			ActionsRequired string `json:"actionsRequired"`
		} `json:"privateLinkServiceConnectionState"`
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

// Approved reports whether the connection lets its endpoint's subnet in.
func (c Connection) Approved() bool {
	return strings.EqualFold(c.Properties.PrivateLinkServiceConnectionState.Status, "Approved")
}

// RulesOf reads a registry document's network settings. An address rule
// that does not parse is skipped: it can only narrow who gets in.
func RulesOf(doc []byte) (Rules, error) {
	var d registryDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return Rules{}, fmt.Errorf("registry document: %w", err)
	}
	r := Rules{PublicAccessDisabled: strings.EqualFold(d.Properties.PublicNetworkAccess, "Disabled")}
	if rs := d.Properties.NetworkRuleSet; rs != nil {
		r.DefaultDeny = strings.EqualFold(rs.DefaultAction, "Deny")
		for _, ip := range rs.IPRules {
			if p, err := ParsePrefix(ip.Value); err == nil {
				r.IPRules = append(r.IPRules, p)
			}
		}
	}
	return r, nil
}

// ConnectionsOf lists the private endpoint connections in a registry
// document.
func ConnectionsOf(doc []byte) ([]Connection, error) {
	var d registryDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("registry document: %w", err)
	}
	return d.Properties.PrivateEndpointConnections, nil
}

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

// View is what a registry's approved private endpoints make private.
type View struct {
	PrivateSubnets []netip.Prefix `json:"privateSubnets"`
}

// Private reports whether addr is inside one of the registry's private
// endpoints' subnets.
func (v View) Private(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range v.PrivateSubnets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
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

// Decide lets addr reach a registry with rules and view, or returns a
// *Denied.
func Decide(rules Rules, view View, addr netip.Addr) error {
	addr = addr.Unmap()
	if !rules.Restricted() || view.Private(addr) {
		return nil
	}
	if rules.PublicAccessDisabled {
		return &Denied{Addr: addr, Reason: "the registry has public network access disabled and the request does not come from one of its private endpoints"}
	}
	for _, p := range rules.IPRules {
		if p.Contains(addr) {
			return nil
		}
	}
	return &Denied{Addr: addr, Reason: "the address is not in the registry's IP rules"}
}

// Gate applies network rules to stored registries on the data plane. It
// remembers the rules of each registry document it has read, keyed by the
// document's bytes, so the hot path does not decode the same JSON on every
// request; a changed document is a new key, so nothing stale is applied.
// The zero value is ready to use.
type Gate struct {
	mu    sync.RWMutex
	seed  maphash.Seed
	rules map[uint64]Rules
}

// gateCacheMax bounds the remembered documents; past it the cache starts
// over.
const gateCacheMax = 4096

func (g *Gate) rulesOf(doc []byte) (Rules, error) {
	g.mu.RLock()
	seeded := g.rules != nil
	var h uint64
	if seeded {
		h = maphash.Bytes(g.seed, doc)
		if r, ok := g.rules[h]; ok {
			g.mu.RUnlock()
			return r, nil
		}
	}
	g.mu.RUnlock()
	r, err := RulesOf(doc)
	if err != nil {
		return r, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rules == nil || len(g.rules) >= gateCacheMax {
		if g.rules == nil {
			g.seed = maphash.MakeSeed()
		}
		g.rules = make(map[uint64]Rules)
	}
	g.rules[maphash.Bytes(g.seed, doc)] = r
	return r, nil
}

// Check is Decide for a stored registry, reading its view inside tx only
// when its rules can refuse someone.
func (g *Gate) Check(tx meta.Tx, reg meta.Registry, addr netip.Addr) error {
	rules, err := g.rulesOf(reg.Document)
	if err != nil {
		return err
	}
	if !rules.Restricted() {
		return nil
	}
	view, err := Load(tx, reg.ResourceID)
	if err != nil {
		return err
	}
	return Decide(rules, view, addr)
}

// Load reads a registry's view; a registry without one has no private
// endpoints.
func Load(tx meta.Tx, registryID string) (View, error) {
	var v View
	res, err := tx.GetResource(registryID + viewSuffix)
	if errors.Is(err, errdef.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(res.Document, &v); err != nil {
		return v, fmt.Errorf("network view of %s: %w", registryID, err)
	}
	return v, nil
}

// PutConnection adds c to a registry document's privateEndpointConnections,
// replacing the connection of the same private endpoint.
func PutConnection(doc []byte, c Connection) ([]byte, error) {
	return editConnections(doc, func(conns []any) []any {
		out := conns[:0]
		for _, x := range conns {
			if !sameEndpoint(x, c.Properties.PrivateEndpoint.ID) {
				out = append(out, x)
			}
		}
		var m map[string]any
		b, _ := json.Marshal(c)
		json.Unmarshal(b, &m)
		return append(out, m)
	})
}

// RemoveConnection drops the connection of private endpoint peID.
func RemoveConnection(doc []byte, peID string) ([]byte, error) {
	return editConnections(doc, func(conns []any) []any {
		out := conns[:0]
		for _, x := range conns {
			if !sameEndpoint(x, peID) {
				out = append(out, x)
			}
		}
		return out
	})
}

func sameEndpoint(x any, peID string) bool {
	b, _ := json.Marshal(x)
	var c Connection
	json.Unmarshal(b, &c)
	return strings.EqualFold(c.Properties.PrivateEndpoint.ID, peID)
}

// editConnections rewrites properties.privateEndpointConnections and
// leaves every other field of the document as it was.
func editConnections(doc []byte, edit func([]any) []any) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("registry document: %w", err)
	}
	props, _ := d["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		d["properties"] = props
	}
	conns, _ := props["privateEndpointConnections"].([]any)
	next := edit(conns)
	if next == nil {
		next = []any{}
	}
	props["privateEndpointConnections"] = next
	return json.Marshal(d)
}
