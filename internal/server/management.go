package server

import (
	"log/slog"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/deployments"
	"github.com/bulkhead-registry/bulkhead/internal/insights"
	"github.com/bulkhead-registry/bulkhead/internal/keyvault"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/resources"
	"github.com/bulkhead-registry/bulkhead/internal/vnet"
)

// ManagementOptions are what the management plane is built from.
type ManagementOptions struct {
	Meta meta.Store
	// LoginServerSuffix selects host mode for login servers.
	LoginServerSuffix string
	// Identity is the token service: its routes (anonymous) and the
	// Bearer check of every other route.
	Identity interface {
		Table() arm.Table
		AuthenticateARM(r *http.Request) (authz.Caller, error)
	}
	Logger *slog.Logger
	// Runs is the pipeline runner the pipelineRuns routes wake and
	// cancel; nil leaves new runs waiting in the store.
	Runs acr.RunControl
	// KeyVault, when set, is the Microsoft.KeyVault provider to serve:
	// serve builds it (with a seal key from the data dir) and hands its
	// Secret resolver to the pipeline runner too. It must use Meta. Nil
	// builds one that stores secret values unsealed.
	KeyVault *keyvault.Provider
	// Audit receives the activity log of management writes, and the
	// providers' own records (imports, pipeline runs); nil keeps none.
	Audit audit.Recorder
	// Content receives images imported from registries outside the
	// service; nil turns those imports off.
	Content content.Ingester
	// Insights, when set, is the Microsoft.Storage and Microsoft.Insights
	// provider to serve: serve builds it with the audit directory, the
	// storage directory and the seal key its shipper shares. It must use
	// Meta. Nil builds one with no audit directory (an empty activity
	// log) that stores credentials unsealed.
	Insights *insights.Provider
}

// Management builds the management plane: every provider's route table
// behind the one ARM router (DESIGN.md "The front door"), with the write
// hook logging each write. Tests build it the same way to walk the routes
// as served.
func Management(o ManagementOptions) (*arm.Router, error) {
	registries := acr.New(acr.Options{Meta: o.Meta, LoginServerSuffix: o.LoginServerSuffix, Logger: o.Logger, Runs: o.Runs, Content: o.Content, Audit: o.Audit})
	networks := vnet.New(vnet.Options{Meta: o.Meta})
	vaults := o.KeyVault
	if vaults == nil {
		var err error
		if vaults, err = keyvault.New(keyvault.Options{Meta: o.Meta}); err != nil {
			return nil, err
		}
	}
	monitor := o.Insights
	if monitor == nil {
		var err error
		if monitor, err = insights.New(insights.Options{Meta: o.Meta}); err != nil {
			return nil, err
		}
	}
	groups := resources.New(resources.Options{Meta: o.Meta, Trackers: []resources.Tracker{networks, registries, vaults, monitor},
		Cleaners: []resources.Cleaner{networks}, Logger: o.Logger})
	// Templates apply each resource through the router itself, in process.
	var router *arm.Router
	templates := deployments.New(deployments.Options{Meta: o.Meta, Apply: func() arm.Dispatcher { return router }})
	router, err := arm.NewRouter(arm.RouterOptions{Store: o.Meta, Authenticate: o.Identity.AuthenticateARM, OnWrite: LogWrites(o.Logger, o.Audit), Logger: o.Logger},
		o.Identity.Table(), groups.Table(), registries.Table(), networks.Table(), vaults.Table(), monitor.Table(), templates.Table())
	if err != nil {
		return nil, err
	}
	return router, nil
}
