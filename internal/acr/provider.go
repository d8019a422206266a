package acr

import (
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
	Meta meta.Store
	// LoginServerSuffix is set in host mode: loginServer = <name><suffix>.
	LoginServerSuffix string
	Logger            *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Provider serves Microsoft.ContainerRegistry and the slice of
// Microsoft.Resources (subscriptions, resource groups) that clients need
// before they can create a registry.
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
var registryAPIVersions = []string{
	"2017-10-01", "2019-05-01", "2019-12-01-preview", "2020-11-01-preview", "2021-06-01-preview", "2021-08-01-preview",
	"2021-09-01", "2021-12-01-preview", "2022-02-01-preview", "2022-12-01", "2023-01-01-preview", "2023-06-01-preview",
	"2023-07-01", "2023-08-01-preview", "2023-11-01-preview", "2024-11-01-preview", "2025-03-01-preview", "2025-04-01",
	"2025-05-01-preview", "2025-06-01-preview", "2025-11-01",
}

// Microsoft.Resources api-versions for subscriptions and resource groups.
var resourcesAPIVersions = []string{
	"2015-01-01", "2016-06-01", "2018-05-01", "2019-05-01", "2019-06-01", "2019-07-01", "2019-08-01", "2019-10-01", "2019-11-01",
	"2020-01-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-01-01", "2022-09-01", "2022-12-01",
	"2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01",
}

// Routes registers the provider's routes on mux and returns the handler
// to mount: it canonicalises ARM's case-insensitive literal segments,
// sets request ids and answers unknown routes in the ARM envelope.
func (p *Provider) Routes(mux *http.ServeMux) http.Handler {
	const sub = "/subscriptions/{sub}"
	const rg = sub + "/resourceGroups/{rg}"
	const reg = rg + "/providers/Microsoft.ContainerRegistry/registries/{name}"
	mux.HandleFunc("GET /subscriptions", p.listSubscriptions)
	mux.HandleFunc("GET /tenants", p.listTenants)
	mux.HandleFunc("GET /providers/Microsoft.ContainerRegistry/operations", p.listOperations)
	mux.HandleFunc("GET "+sub, p.getSubscription)
	mux.HandleFunc("GET "+sub+"/resourceGroups", p.listGroups)
	mux.HandleFunc("GET "+rg, p.getGroup)
	mux.HandleFunc("HEAD "+rg, p.getGroup)
	mux.HandleFunc("PUT "+rg, p.putGroup)
	mux.HandleFunc("DELETE "+rg, p.deleteGroup)
	mux.HandleFunc("GET "+reg, p.getRegistry)
	mux.HandleFunc("PUT "+reg, p.putRegistry)
	mux.HandleFunc("PATCH "+reg, p.patchRegistry)
	p.pipelineRoutes(mux, reg)
	arm.OperationRoutes(mux, p.meta, providerNamespace)
	mux.HandleFunc("POST "+reg+"/listCredentials", p.credentials(false))
	mux.HandleFunc("POST "+reg+"/regenerateCredential", p.credentials(true))
	mux.HandleFunc("GET "+reg+"/listUsages", p.listUsages)
	mux.HandleFunc("GET "+sub+"/providers/Microsoft.ContainerRegistry", p.providerInfo)
	mux.HandleFunc("GET "+sub+"/resources", p.listResources)
	mux.HandleFunc("GET "+rg+"/resources", p.listResources)
	mux.HandleFunc("DELETE "+reg, p.deleteRegistry)
	mux.HandleFunc("GET "+rg+"/providers/Microsoft.ContainerRegistry/registries", p.listRegistries)
	mux.HandleFunc("GET "+sub+"/providers/Microsoft.ContainerRegistry/registries", p.listRegistries)
	mux.HandleFunc("POST "+sub+"/providers/Microsoft.ContainerRegistry/checkNameAvailability", p.checkName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ARM ignores a trailing slash (az sends one when listing
		// deployments).
		r.URL.Path = arm.CanonicalPath(strings.TrimSuffix(r.URL.Path, "/"))
		r.URL.RawPath = ""
		arm.SetRequestIDs(w, r)
		if _, pattern := mux.Handler(r); pattern == "" {
			arm.WriteError(w, arm.Errorf(http.StatusNotFound, "InvalidResourceType",
				"The resource type or route '%s %s' could not be found.", r.Method, r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// authorize checks the caller may perform action at scope inside tx.
func authorize(r *http.Request, tx meta.Tx, scope, action string) error {
	c, err := authz.CallerFromContext(r.Context())
	if err != nil {
		return err
	}
	if err := authz.Check(tx, c.ObjectID, scope, action); err != nil {
		return arm.Errorf(http.StatusForbidden, "AuthorizationFailed",
			"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid.",
			c.ClientID, c.ObjectID, action, scope)
	}
	return nil
}

// nextLink builds an absolute nextLink carrying a skip token.
func nextLink(r *http.Request, token string) string {
	u := *r.URL
	q := u.Query()
	q.Set("$skipToken", token)
	u.RawQuery = q.Encode()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + u.Path + "?" + u.RawQuery
}
