// Package resources is the Microsoft.Resources provider, as much of it as
// clients need before and around registries: subscriptions, tenants,
// resource groups, and the generic resource list (az resource list/show
// find a registry by name there). Deployments have their own provider in
// package deployments.
package resources

import (
	"log/slog"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Namespace is this provider's ARM namespace.
const Namespace = "Microsoft.Resources"

// ResourceGroupType is the ARM type of resource groups.
const ResourceGroupType = "Microsoft.Resources/resourceGroups"

// Resource-group actions checked by the router.
const (
	groupRead   = "Microsoft.Resources/subscriptions/resourceGroups/read"
	groupWrite  = "Microsoft.Resources/subscriptions/resourceGroups/write"
	groupDelete = "Microsoft.Resources/subscriptions/resourceGroups/delete"
)

// apiVersions are the Microsoft.Resources api-versions for subscriptions,
// tenants, resource groups and generic resources (what az and the SDKs
// send).
var apiVersions = []string{
	"2015-01-01", "2016-06-01", "2018-05-01", "2019-05-01", "2019-06-01", "2019-07-01", "2019-08-01", "2019-10-01", "2019-11-01",
	"2020-01-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-01-01", "2022-09-01", "2022-12-01",
	"2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01",
}

var (
	groupVersions     = arm.PlatformAPIVersions(ResourceGroupType, apiVersions...)
	resourcesVersions = arm.PlatformAPIVersions(Namespace, apiVersions...)
)

// Tracker is a provider whose top-level resources the generic resource
// list shows. Each provider decodes only its own documents.
type Tracker interface {
	// Tracked lists the provider's top-level resources under scope (a
	// subscription or resource group id) of type typ ("" for all its
	// types) that readable says the caller may read.
	Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error)
}

// Cleaner is a provider whose state outside a resource group depends on
// resources inside it (a registry's private subnets on another group's
// private endpoints). Deleting a group calls it in the same transaction,
// after the group's resources are gone, with what was deleted.
type Cleaner interface {
	GroupDeleted(tx meta.Tx, deleted []meta.Resource) error
}

// Options configure the provider. Meta is required.
type Options struct {
	Meta meta.Store
	// Trackers are the providers whose resources the generic list shows.
	Trackers []Tracker
	// Cleaners are told about every resource group deletion.
	Cleaners []Cleaner
	Logger   *slog.Logger
	Now      func() time.Time
}

// Provider serves Microsoft.Resources. It is safe for concurrent use; all
// state lives in meta.
type Provider struct {
	meta     meta.Store
	trackers []Tracker
	cleaners []Cleaner
	now      func() time.Time
}

// New returns the provider.
func New(o Options) *Provider {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Provider{meta: o.Meta, trackers: o.Trackers, cleaners: o.Cleaners, now: o.Now}
}

// Table declares the provider's routes for the management router.
func (p *Provider) Table() arm.Table {
	const sub = "/subscriptions/{sub}"
	const rg = sub + "/resourceGroups/{rg}"
	mine := arm.AnyCaller("shows only the caller's own tenant")
	none := arm.MovesNoContent("subscriptions, tenants and resource groups hold no artifacts")
	listed := arm.PerItem("lists show only what the caller may read, as ARM does")
	routes := []arm.Route{
		{Method: "GET", Pattern: "/subscriptions", Versions: resourcesVersions, Access: mine, Egress: none, Handle: p.listSubscriptions},
		{Method: "GET", Pattern: "/tenants", Versions: resourcesVersions, Access: mine, Egress: none, Handle: p.listTenants},
		{Method: "GET", Pattern: sub, Versions: resourcesVersions, Access: mine, Egress: none, Handle: p.getSubscription},
		{Method: "GET", Pattern: sub + "/resourceGroups", Versions: groupVersions, Action: groupRead, Access: listed, Egress: none, Handle: p.listGroups},
		{Method: "GET", Pattern: rg, Versions: groupVersions, Action: groupRead, Egress: none, Handle: p.getGroup},
		{Method: "HEAD", Pattern: rg, Versions: groupVersions, Action: groupRead, Egress: none, Handle: p.getGroup},
		{Method: "PUT", Pattern: rg, Versions: groupVersions, Action: groupWrite, Egress: none, Handle: p.putGroup},
		{Method: "DELETE", Pattern: rg, Versions: groupVersions, Action: groupDelete,
			Egress: arm.MovesNoContent("deletes the group with everything in it; nothing leaves"), Handle: p.deleteGroup},
		{Method: "GET", Pattern: sub + "/resources", Versions: resourcesVersions, Action: "Microsoft.Resources/subscriptions/resources/read", Access: listed, Egress: none, Handle: p.listResources},
		{Method: "GET", Pattern: rg + "/resources", Versions: resourcesVersions, Action: "Microsoft.Resources/subscriptions/resources/read", Access: listed, Egress: none, Handle: p.listResources},
	}
	// Deployments record their operations under this namespace.
	routes = append(routes, arm.OperationTable(p.meta, Namespace)...)
	return arm.Table{Name: Namespace, Routes: routes}
}
