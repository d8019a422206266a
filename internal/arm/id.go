package arm

import (
	"net/http"
	"slices"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// ID is a parsed ARM resource id:
//
//	/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/{Provider}/{Types[0]}/{Names[0]}/{Types[1]}/{Names[1]}…
//
// A subscription id has only Subscription; a resource group id adds
// ResourceGroup; a provider resource adds Provider and one name per type
// (len(Types) == len(Names)). Tenant-level provider resources
// (/providers/…) have no Subscription. ARM compares ids
// case-insensitively: use Equal, never ==.
//
// An extension resource (a diagnostic setting of a registry) is a second
// /providers/ part under another resource: only ParseExtensionID accepts
// one, and its Extends is that resource, while Subscription and
// ResourceGroup are the extended resource's.
type ID struct {
	Subscription  string
	ResourceGroup string
	Provider      string // resource provider namespace, e.g. Microsoft.ContainerRegistry
	Types         []string
	Names         []string
	// Extends is the resource an extension resource extends; nil for any
	// other id.
	Extends *ID
}

// Canonical spellings of ARM's literal id segments.
const (
	segSubscriptions  = "subscriptions"
	segResourceGroups = "resourceGroups"
	segProviders      = "providers"
)

// ParseID parses an ARM resource id. Its literal segments
// (subscriptions, resourceGroups, providers) match in any casing; names
// keep theirs. A malformed id, or an extension resource's, is a 400
// InvalidResourceId wrapping errdef.ErrInvalidArgument: callers that
// check Provider and Types to find a kind of resource need not know about
// Extends.
func ParseID(s string) (ID, error) { return parseID(s, false) }

// ParseExtensionID parses an id as ParseID does, and also an extension
// resource's (…/providers/{namespace}/{type}/{name} under another
// resource, one level deep), whose Extends is then set. The router parses
// the scopes of its routes with it; only routes whose patterns name an
// extension type ever see such an id.
func ParseExtensionID(s string) (ID, error) { return parseID(s, true) }

func parseID(s string, extensions bool) (ID, error) {
	bad := func(why string) (ID, error) {
		return ID{}, Errorf(http.StatusBadRequest, "InvalidResourceId", "The resource id '%s' is invalid: %s.", s, why).
			WithCause(errdef.ErrInvalidArgument)
	}
	if !strings.HasPrefix(s, "/") {
		return bad("it must start with '/'")
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	if slices.Contains(segs, "") {
		return bad("it has an empty segment")
	}
	var id ID
	rest := segs
	if strings.EqualFold(rest[0], segSubscriptions) {
		if len(rest) < 2 {
			return bad("the subscription id is missing")
		}
		id.Subscription, rest = rest[1], rest[2:]
		if len(rest) > 0 && strings.EqualFold(rest[0], segResourceGroups) {
			if len(rest) < 2 {
				return bad("the resource group name is missing")
			}
			id.ResourceGroup, rest = rest[1], rest[2:]
		}
	}
	if len(rest) == 0 {
		if id.Subscription == "" {
			return bad("it names no resource")
		}
		return id, nil
	}
	if !strings.EqualFold(rest[0], segProviders) {
		return bad("expected 'providers' but found '" + rest[0] + "'")
	}
	if len(rest) < 4 {
		return bad("a provider resource needs a namespace, a type and a name")
	}
	id.Provider, rest = rest[1], rest[2:]
	if len(rest)%2 != 0 {
		return bad("the resource type '" + rest[len(rest)-1] + "' has no name")
	}
	for i := 0; i < len(rest); i += 2 {
		if strings.EqualFold(rest[i], segProviders) {
			switch {
			case !extensions:
				return bad("extension resources are not supported here")
			case id.Extends != nil:
				return bad("an extension resource cannot extend another")
			case len(rest) < i+4:
				return bad("an extension resource needs a namespace, a type and a name")
			}
			base := id
			id = ID{Subscription: base.Subscription, ResourceGroup: base.ResourceGroup, Provider: rest[i+1], Extends: &base}
			i += 2
		}
		id.Types = append(id.Types, rest[i])
		id.Names = append(id.Names, rest[i+1])
	}
	return id, nil
}

// SubscriptionID is the id of a subscription.
func SubscriptionID(sub string) ID { return ID{Subscription: sub} }

// ResourceGroupID is the id of a resource group.
func ResourceGroupID(sub, rg string) ID { return ID{Subscription: sub, ResourceGroup: rg} }

// Resource returns the id of a top-level resource of provider in scope
// id (a subscription or resource group).
func (id ID) Resource(provider, typ, name string) ID {
	return ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup, Provider: provider,
		Types: []string{typ}, Names: []string{name}}
}

// Child returns the id of a child resource of id (which must be a
// provider resource): typ is the child's own segment, e.g.
// "exportPipelines".
func (id ID) Child(typ, name string) ID {
	c := id
	c.Types = append(slices.Clip(id.Types), typ)
	c.Names = append(slices.Clip(id.Names), name)
	return c
}

// Parent is the id one level up: a child's parent resource, the resource
// an extension resource extends, a top-level resource's resource group
// (or subscription), a group's subscription.
// ok is false for a subscription or tenant-level resource.
func (id ID) Parent() (parent ID, ok bool) {
	switch {
	case len(id.Types) == 1 && id.Extends != nil:
		return *id.Extends, true
	case len(id.Types) > 1:
		p := id
		p.Types, p.Names = id.Types[:len(id.Types)-1], id.Names[:len(id.Names)-1]
		return p, true
	case len(id.Types) == 1 && id.Subscription != "":
		return ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup}, true
	case len(id.Types) == 0 && id.ResourceGroup != "":
		return ID{Subscription: id.Subscription}, true
	}
	return ID{}, false
}

// Name is the resource's own name: the last name, else the group, else
// the subscription.
func (id ID) Name() string {
	switch {
	case len(id.Names) > 0:
		return id.Names[len(id.Names)-1]
	case id.ResourceGroup != "":
		return id.ResourceGroup
	}
	return id.Subscription
}

// ResourceType is the full ARM type, e.g.
// "Microsoft.ContainerRegistry/registries/exportPipelines" or
// "Microsoft.Resources/resourceGroups".
func (id ID) ResourceType() string {
	switch {
	case id.Provider != "":
		return id.Provider + "/" + strings.Join(id.Types, "/")
	case id.ResourceGroup != "":
		return "Microsoft.Resources/resourceGroups"
	}
	return "Microsoft.Resources/subscriptions"
}

// String formats the id with canonical literal segments and the names'
// own casing.
func (id ID) String() string {
	var b strings.Builder
	if id.Extends != nil {
		b.WriteString(id.Extends.String())
	} else if id.Subscription != "" {
		b.WriteString("/" + segSubscriptions + "/" + id.Subscription)
		if id.ResourceGroup != "" {
			b.WriteString("/" + segResourceGroups + "/" + id.ResourceGroup)
		}
	}
	if id.Provider != "" {
		b.WriteString("/" + segProviders + "/" + id.Provider)
		for i, t := range id.Types {
			b.WriteString("/" + t)
			if i < len(id.Names) {
				b.WriteString("/" + id.Names[i])
			}
		}
	}
	return b.String()
}

// Equal reports whether two ids name the same resource (ARM ids compare
// case-insensitively).
func (id ID) Equal(other ID) bool { return strings.EqualFold(id.String(), other.String()) }

// Contains reports whether other is id itself or lies below it (a scope
// test: a registry is within its resource group and subscription).
func (id ID) Contains(other ID) bool {
	s, o := strings.ToLower(id.String()), strings.ToLower(other.String())
	return s == o || strings.HasPrefix(o, s+"/")
}
