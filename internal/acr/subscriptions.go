package acr

import (
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Subscriptions, tenants and the provider's operation list: read-only
// views clients fetch before managing resources.

type subscriptionView struct {
	ID               string `json:"id"`
	SubscriptionID   string `json:"subscriptionId"`
	TenantID         string `json:"tenantId"`
	DisplayName      string `json:"displayName"`
	State            string `json:"state"`
	ManagedByTenants []any  `json:"managedByTenants"`
}

// subscriptions lists the subscriptions of the caller's tenant.
func (p *Provider) subscriptions(r *http.Request) ([]subscriptionView, error) {
	c, err := authz.CallerFromContext(r.Context())
	if err != nil {
		return nil, err
	}
	var subs []meta.Subscription
	if err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		subs, err = tx.ListSubscriptions()
		return err
	}); err != nil {
		return nil, err
	}
	out := []subscriptionView{}
	for _, s := range subs {
		if strings.EqualFold(s.TenantID, c.TenantID) {
			out = append(out, subscriptionView{ID: "/subscriptions/" + s.ID, SubscriptionID: s.ID, TenantID: s.TenantID,
				DisplayName: s.DisplayName, State: "Enabled", ManagedByTenants: []any{}})
		}
	}
	return out, nil
}

// subscription finds a subscription of the caller's tenant.
func (p *Provider) subscription(r *http.Request, id string) (subscriptionView, error) {
	subs, err := p.subscriptions(r)
	if err != nil {
		return subscriptionView{}, err
	}
	for _, s := range subs {
		if strings.EqualFold(s.SubscriptionID, id) {
			return s, nil
		}
	}
	return subscriptionView{}, errSubscriptionNotFound(id)
}

// listSubscriptions answers GET /subscriptions.
func (p *Provider) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	if _, err := resourcesVersions.Check(r); err != nil {
		p.fail(w, r, err)
		return
	}
	subs, err := p.subscriptions(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": subs})
}

// getSubscription answers GET /subscriptions/{sub}.
func (p *Provider) getSubscription(w http.ResponseWriter, r *http.Request) {
	if _, err := resourcesVersions.Check(r); err != nil {
		p.fail(w, r, err)
		return
	}
	sub, err := p.subscription(r, r.PathValue("sub"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, sub)
}

// listTenants answers GET /tenants: the caller's tenant.
func (p *Provider) listTenants(w http.ResponseWriter, r *http.Request) {
	if _, err := resourcesVersions.Check(r); err != nil {
		p.fail(w, r, err)
		return
	}
	c, err := authz.CallerFromContext(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	var tenants []meta.Tenant
	if err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		p.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, t := range tenants {
		if strings.EqualFold(t.ID, c.TenantID) {
			out = append(out, map[string]any{"id": "/tenants/" + t.ID, "tenantId": t.ID, "displayName": t.DisplayName,
				"tenantCategory": "Home", "defaultDomain": t.ID + ".bulkhead.local", "domains": []string{t.ID + ".bulkhead.local"}})
		}
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

// listOperations answers GET /providers/Microsoft.ContainerRegistry/operations.
func (p *Provider) listOperations(w http.ResponseWriter, r *http.Request) {
	if _, err := registryVersions.Check(r); err != nil {
		p.fail(w, r, err)
		return
	}
	var ops []map[string]any
	for _, op := range []struct{ name, desc string }{
		{"registries/read", "Gets the properties of the specified container registry or lists all the container registries under the specified resource group or subscription."},
		{"registries/write", "Creates or updates a container registry with the specified parameters."},
		{"registries/delete", "Deletes a container registry."},
		{"registries/listCredentials/action", "Lists the login credentials for the specified container registry."},
		{"registries/regenerateCredential/action", "Regenerates one of the login credentials for the specified container registry."},
		{"registries/importImage/action", "Import Image to container registry with the specified parameters."},
		{"registries/listUsages/read", "Lists the quota usages for the specified container registry."},
		{"registries/pull/read", "Pull or Get images from a container registry."},
		{"registries/push/write", "Push or Write images to a container registry."},
		{"registries/artifacts/delete", "Delete artifact in a container registry."},
		{"registries/exportPipelines/read", "Gets the properties of the specified export pipeline or lists all the export pipelines."},
		{"registries/exportPipelines/write", "Creates or updates an export pipeline."},
		{"registries/exportPipelines/delete", "Deletes an export pipeline."},
		{"registries/importPipelines/read", "Gets the properties of the specified import pipeline or lists all the import pipelines."},
		{"registries/importPipelines/write", "Creates or updates an import pipeline."},
		{"registries/importPipelines/delete", "Deletes an import pipeline."},
		{"checkNameAvailability/read", "Checks whether the container registry name is available for use."},
		{"operations/read", "Lists all of the available Azure Container Registry REST API operations."},
	} {
		ops = append(ops, map[string]any{"name": providerNamespace + "/" + op.name, "origin": "user,system",
			"display": map[string]string{"provider": "Microsoft Container Registry", "resource": strings.Split(op.name, "/")[0], "operation": op.name, "description": op.desc}})
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": ops})
}
