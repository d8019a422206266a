// Package vnet is the Microsoft.Network provider, as much of it as private
// endpoints need (DESIGN.md "Network model"): virtual networks with
// subnets, and private endpoints that connect a subnet to a registry. A
// private endpoint creates a connection on the registry, Approved when its
// creator may approve connections there and Pending otherwise; the data
// plane lets the subnets of approved connections in (package network).
package vnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
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

// Options configure the provider.
type Options struct {
	Meta   meta.Store
	Logger *slog.Logger
	Now    func() time.Time
}

// Provider serves Microsoft.Network resources.
type Provider struct {
	meta meta.Store
	log  *slog.Logger
	now  func() time.Time
}

// New returns the provider.
func New(o Options) *Provider {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Provider{meta: o.Meta, log: o.Logger, now: o.Now}
}

// Routes registers the provider's routes on mux.
func (p *Provider) Routes(mux *http.ServeMux) {
	const rg = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
	mux.HandleFunc("GET "+rg+"/virtualNetworks", p.handle(p.listVNets))
	mux.HandleFunc("GET "+rg+"/virtualNetworks/{name}", p.handle(p.getVNet))
	mux.HandleFunc("PUT "+rg+"/virtualNetworks/{name}", p.handle(p.putVNet))
	mux.HandleFunc("DELETE "+rg+"/virtualNetworks/{name}", p.handle(p.deleteVNet))
	mux.HandleFunc("GET "+rg+"/virtualNetworks/{name}/subnets", p.handle(p.listSubnets))
	mux.HandleFunc("GET "+rg+"/virtualNetworks/{name}/subnets/{subnet}", p.handle(p.getSubnet))
	mux.HandleFunc("GET "+rg+"/privateEndpoints", p.handle(p.listEndpoints))
	mux.HandleFunc("GET "+rg+"/privateEndpoints/{name}", p.handle(p.getEndpoint))
	mux.HandleFunc("PUT "+rg+"/privateEndpoints/{name}", p.handle(p.putEndpoint))
	mux.HandleFunc("DELETE "+rg+"/privateEndpoints/{name}", p.handle(p.deleteEndpoint))
	mux.HandleFunc("GET /subscriptions/{sub}/providers/Microsoft.Network", p.providerInfo)
	arm.OperationRoutes(mux, p.meta, namespace)
}

// providerInfo is the provider metadata az reads to pick an api-version
// for the generic resource commands.
func (p *Provider) providerInfo(w http.ResponseWriter, r *http.Request) {
	newest := make([]string, len(apiVersions))
	for i, v := range apiVersions {
		newest[len(apiVersions)-1-i] = v
	}
	var types []map[string]any
	for _, t := range []string{"virtualNetworks", "virtualNetworks/subnets", "privateEndpoints", "locations/operationStatuses"} {
		types = append(types, map[string]any{"resourceType": t, "locations": []string{"West US"}, "apiVersions": newest})
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{
		"id": "/subscriptions/" + r.PathValue("sub") + "/providers/" + namespace, "namespace": namespace,
		"registrationState": "Registered", "resourceTypes": types,
	})
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (p *Provider) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, err := arm.RequireAPIVersion(r, namespace, apiVersions)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			if ae := arm.WriteError(w, err); ae.Status >= http.StatusInternalServerError {
				p.log.ErrorContext(r.Context(), "management request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		}
	}
}

func resourceID(r *http.Request, typ string) string {
	return arm.ResourceGroupID(r.PathValue("sub"), r.PathValue("rg")).Resource(namespace, typ, r.PathValue("name")).String()
}

// requireGroup fails with ResourceGroupNotFound unless the group exists.
func requireGroup(tx meta.Tx, r *http.Request) error {
	_, err := tx.GetResource(arm.ResourceGroupID(r.PathValue("sub"), r.PathValue("rg")).String())
	if errors.Is(err, errdef.ErrNotFound) {
		return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", r.PathValue("rg"))
	}
	return err
}

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
			"Resource name %s is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.", name).
			WithCause(errdef.ErrInvalidArgument)
	}
	return nil
}

func notFound(typ, name, rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found.", typ, name, rg)
}

// load reads a stored document of this provider.
func load(tx meta.Tx, id, typ, name, rg string, v any) (meta.Resource, error) {
	res, err := tx.GetResource(id)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(res.Type, typ) {
		return res, notFound(typ, name, rg)
	}
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(res.Document, v); err != nil {
		return res, fmt.Errorf("%s: %w", id, err)
	}
	return res, nil
}

func (p *Provider) list(w http.ResponseWriter, r *http.Request, typ string, render func(tx meta.Tx, doc []byte) (any, error)) error {
	scope := arm.ResourceGroupID(r.PathValue("sub"), r.PathValue("rg")).String()
	var out []any
	err := p.meta.View(r.Context(), func(tx meta.Tx) error {
		if err := arm.Authorize(r.Context(), tx, scope, typ+"/read"); err != nil {
			return err
		}
		if err := requireGroup(tx, r); err != nil {
			return err
		}
		rows, err := tx.ListResources(scope, typ, meta.Page{Limit: 1000})
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
		return err
	}
	if out == nil {
		out = []any{}
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func isNotFound(err error) bool {
	var ae *arm.Error
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

func rawDoc(_ meta.Tx, doc []byte) (any, error) { return json.RawMessage(doc), nil }

// etag is a weak entity tag of a document.
func etag(now time.Time) string { return fmt.Sprintf("W/\"%x\"", now.UnixNano()) }
