package acr

import (
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"log/slog"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/remote"
)

// Options configure the provider. Meta is required.
type Options struct {
	// Meta stores registries, resource groups and role assignments.
	Meta meta.Store
	// LoginServerSuffix selects host mode: loginServer is
	// <lower name><suffix> (e.g. ".cr.example.com"). Empty means path
	// mode: loginServer is <request host>/<lower name>.
	LoginServerSuffix string
	// Logger receives server faults; default slog.Default().
	Logger *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Runs is told when a pipeline run is created or deleted; nil leaves
	// runs waiting for a runner that polls.
	Runs RunControl
	// Content receives the blobs of images imported from registries
	// outside the service. Nil turns such imports off (they answer 400).
	Content content.Ingester
	// Audit receives the repository events of imports and pipeline runs;
	// nil keeps none.
	Audit audit.Recorder
	// RemoteImport budgets imports from registries outside the service.
	RemoteImport remote.Options
}

// RunControl is the runner as the ARM handlers see it.
type RunControl interface {
	// Wake says a run is waiting.
	Wake()
	// Cancel stops the run with this id if it runs here under claim,
	// the owner its record named.
	Cancel(id, claim string)
}

// Provider serves Microsoft.ContainerRegistry and the slice of
// Microsoft.Resources (subscriptions, resource groups) that clients need
// before they can create a registry. It is safe for concurrent use; all
// state lives in meta.
type Provider struct {
	meta   meta.Store
	suffix string
	log    *slog.Logger
	now    func() time.Time
	runs   RunControl
	remote *remote.Importer // nil without Options.Content
	audit  audit.Recorder   // nil keeps no records
}

// New returns a provider.
func New(o Options) *Provider {
	p := &Provider{meta: o.Meta, suffix: strings.ToLower(o.LoginServerSuffix), log: o.Logger, now: o.Now, runs: o.Runs, audit: o.Audit}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if o.Content != nil {
		p.remote = remote.New(o.Meta, o.Content, o.RemoteImport)
	}
	return p
}

// providerNamespace is this provider's ARM namespace.
const providerNamespace = "Microsoft.ContainerRegistry"

// Registry api-versions: what az, the Go SDK v3 and ARM templates send.
// Every version gets the same shape, minus the fields it predates
// (versions.go).
var registryAPIVersions = []string{
	"2017-10-01", "2019-05-01", "2019-12-01-preview", "2020-11-01-preview", "2021-06-01-preview", "2021-08-01-preview",
	"2021-09-01", "2021-12-01-preview", "2022-02-01-preview", "2022-12-01", "2023-01-01-preview", "2023-06-01-preview",
	"2023-07-01", "2023-08-01-preview", "2023-11-01-preview", "2024-11-01-preview", "2025-03-01-preview", "2025-04-01",
	"2025-05-01-preview", "2025-06-01-preview", "2025-11-01",
}

// RegistryAPIVersions lists the api-versions the registry routes accept,
// oldest first.
func RegistryAPIVersions() []string { return append([]string(nil), registryAPIVersions...) }

// The api-version gates built from the tables above.
var registryVersions = arm.APIVersions(RegistryType, registryAPIVersions...)

// request is the part of a parsed ARM request most handlers need: the
// api-version and the names of the registry scope.
type request struct {
	version string
	sub     string // subscription id
	group   string // resource group name, "" above group scope
	name    string // registry name, "" above registry scope
}

// reqOf reads the registry scope from the router's parsed request.
func reqOf(q *arm.Request) request {
	r := request{version: q.Version, sub: q.ID.Subscription, group: q.ID.ResourceGroup}
	if len(q.ID.Names) > 0 && strings.EqualFold(q.ID.Provider, providerNamespace) {
		r.name = q.ID.Names[0]
	}
	return r
}

func (q request) groupID() arm.ID { return arm.ResourceGroupID(q.sub, q.group) }

func (q request) registryID() arm.ID {
	return q.groupID().Resource(providerNamespace, "registries", q.name)
}

func registryID(sub, rg, name string) string {
	return arm.ResourceGroupID(sub, rg).Resource(providerNamespace, "registries", name).String()
}

// byType is the systemData kind of a caller: users are users, every
// other principal is an application.
func byType(c authz.Caller) arm.CreatedByType {
	if strings.EqualFold(c.Kind, "User") {
		return arm.CreatedByTypeUser
	}
	return arm.CreatedByTypeApplication
}
