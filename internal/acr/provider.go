package acr

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
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
}

// New returns a provider.
func New(o Options) *Provider {
	p := &Provider{meta: o.Meta, suffix: strings.ToLower(o.LoginServerSuffix), log: o.Logger, now: o.Now}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
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

// Microsoft.Resources api-versions for subscriptions, tenants, resource
// groups and generic resources (what az and the SDKs send).
var resourcesAPIVersions = []string{
	"2015-01-01", "2016-06-01", "2018-05-01", "2019-05-01", "2019-06-01", "2019-07-01", "2019-08-01", "2019-10-01", "2019-11-01",
	"2020-01-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-01-01", "2022-09-01", "2022-12-01",
	"2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01",
}

// The api-version gates built from the tables above.
var (
	registryVersions  = arm.APIVersions(RegistryType, registryAPIVersions...)
	groupVersions     = arm.PlatformAPIVersions(resourceGroupType, resourcesAPIVersions...)
	resourcesVersions = arm.PlatformAPIVersions("Microsoft.Resources", resourcesAPIVersions...)
)

// Routes registers the provider's routes on mux (Go 1.22 method
// patterns, canonical casing) and returns the handler to mount. That
// handler canonicalises ARM's case-insensitive literal segments, sets the
// request-tracking headers and answers unknown routes in the ARM envelope
// before mux routes the request. Callers authenticate first: every
// handler reads the caller from the context (authz.CallerFromContext).
func (p *Provider) Routes(mux *http.ServeMux) http.Handler {
	const sub = "/subscriptions/{sub}"
	const rg = sub + "/resourceGroups/{rg}"
	const regs = "/providers/Microsoft.ContainerRegistry/registries"
	const reg = rg + regs + "/{name}"
	// Microsoft.Resources (groups.go, subscriptions.go, discovery.go).
	mux.HandleFunc("GET /subscriptions", p.listSubscriptions)
	mux.HandleFunc("GET /tenants", p.listTenants)
	mux.HandleFunc("GET "+sub, p.getSubscription)
	mux.HandleFunc("GET "+sub+"/resourceGroups", p.handle(groupVersions, p.listGroups))
	mux.HandleFunc("GET "+rg, p.handle(groupVersions, p.getGroup))
	mux.HandleFunc("HEAD "+rg, p.handle(groupVersions, p.getGroup))
	mux.HandleFunc("PUT "+rg, p.handle(groupVersions, p.putGroup))
	mux.HandleFunc("DELETE "+rg, p.handle(groupVersions, p.deleteGroup))
	mux.HandleFunc("GET "+sub+"/resources", p.listResources)
	mux.HandleFunc("GET "+rg+"/resources", p.listResources)
	// Microsoft.ContainerRegistry (registries.go, update.go, discovery.go, pipelines.go).
	mux.HandleFunc("GET /providers/Microsoft.ContainerRegistry/operations", p.listOperations)
	mux.HandleFunc("GET "+sub+"/providers/Microsoft.ContainerRegistry", p.providerInfo)
	mux.HandleFunc("POST "+sub+"/providers/Microsoft.ContainerRegistry/checkNameAvailability", p.checkName)
	mux.HandleFunc("GET "+sub+regs, p.handle(registryVersions, p.listRegistries))
	mux.HandleFunc("GET "+rg+regs, p.handle(registryVersions, p.listRegistries))
	mux.HandleFunc("GET "+reg, p.handle(registryVersions, p.getRegistry))
	mux.HandleFunc("PUT "+reg, p.handle(registryVersions, p.putRegistry))
	mux.HandleFunc("PATCH "+reg, p.patchRegistry)
	mux.HandleFunc("DELETE "+reg, p.handle(registryVersions, p.deleteRegistry))
	mux.HandleFunc("POST "+reg+"/listCredentials", p.credentials(false))
	mux.HandleFunc("POST "+reg+"/regenerateCredential", p.credentials(true))
	mux.HandleFunc("GET "+reg+"/listUsages", p.listUsages)
	mux.HandleFunc("POST "+reg+"/importImage", p.handle(registryVersions, p.importImage))
	p.pipelineRoutes(mux, reg)
	p.connectionRoutes(mux, reg)
	p.tokenRoutes(mux, reg)
	arm.OperationRoutes(mux, p.meta, providerNamespace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ARM ignores a trailing slash (az sends one when listing
		// deployments).
		r.URL.Path = arm.CanonicalPath(strings.TrimSuffix(r.URL.Path, "/"))
		r.URL.RawPath = ""
		arm.SetRequestIDs(w, r)
		if _, pattern := mux.Handler(r); pattern == "" {
			p.fail(w, r, errUnknownRoute(r.Method, r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// request is an ARM request parsed once (STYLE rule 7): the api-version
// it passed the gate with and the names in its path. Handlers that take a
// request never read path values themselves.
type request struct {
	version string
	sub     string // subscription id
	group   string // resource group name, "" above group scope
	name    string // registry name, "" above registry scope
}

func (q request) groupID() arm.ID { return arm.ResourceGroupID(q.sub, q.group) }

func (q request) registryID() arm.ID {
	return q.groupID().Resource(providerNamespace, "registries", q.name)
}

// handlerFunc serves a parsed request; an error it returns is written in
// the ARM envelope by handle, so handlers never choose a status for one.
type handlerFunc func(w http.ResponseWriter, r *http.Request, q request) error

// handle gates the api-version, parses the path once and writes errors
// (for HEAD, the status alone).
func (p *Provider) handle(v arm.Versions, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ver, err := v.Check(r)
		if err == nil {
			err = h(w, r, request{version: ver, sub: r.PathValue("sub"), group: r.PathValue("rg"), name: r.PathValue("name")})
		}
		if err != nil {
			if r.Method == http.MethodHead {
				w.WriteHeader(arm.ToError(err).Status)
				return
			}
			p.fail(w, r, err)
		}
	}
}

func groupID(sub, rg string) string { return arm.ResourceGroupID(sub, rg).String() }

func registryID(sub, rg, name string) string {
	return arm.ResourceGroupID(sub, rg).Resource(providerNamespace, "registries", name).String()
}

// authorize checks, inside tx, that the caller may perform action at
// scope. A refusal is ARM's 403 AuthorizationFailed; any other failure
// (no caller, a store fault) passes through unchanged.
func authorize(ctx context.Context, tx meta.Tx, scope, action string) error {
	return arm.Authorize(ctx, tx, scope, action)
}

// byType is the systemData kind of a caller: users are users, every
// other principal is an application.
func byType(c authz.Caller) arm.CreatedByType {
	if strings.EqualFold(c.Kind, "User") {
		return arm.CreatedByTypeUser
	}
	return arm.CreatedByTypeApplication
}
