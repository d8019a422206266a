package acr

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const resourceGroupType = "Microsoft.Resources/resourceGroups"

// ResourceGroup is the ARM resource group resource.
type ResourceGroup struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Location   string             `json:"location"`
	Tags       map[string]*string `json:"tags,omitempty"`
	ManagedBy  *string            `json:"managedBy,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

type subscriptionView struct {
	ID               string `json:"id"`
	SubscriptionID   string `json:"subscriptionId"`
	TenantID         string `json:"tenantId"`
	DisplayName      string `json:"displayName"`
	State            string `json:"state"`
	ManagedByTenants []any  `json:"managedByTenants"`
}

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

func (p *Provider) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, "subscriptions", resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	subs, err := p.subscriptions(r)
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": subs})
}

func (p *Provider) getSubscription(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, "subscriptions", resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, err := p.subscription(r, r.PathValue("sub"))
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, sub)
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
	return subscriptionView{}, arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
}

func groupID(sub, rg string) string { return "/subscriptions/" + sub + "/resourceGroups/" + rg }

func groupNotFound(rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg)
}

// loadGroup reads a resource group inside tx.
func loadGroup(tx meta.Tx, sub, rg string) (ResourceGroup, error) {
	var g ResourceGroup
	res, err := tx.GetResource(groupID(sub, rg))
	if errors.Is(err, errdef.ErrNotFound) {
		return g, groupNotFound(rg)
	}
	if err != nil {
		return g, err
	}
	return g, json.Unmarshal(res.Document, &g)
}

func (p *Provider) getGroup(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, resourceGroupType, resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg := r.PathValue("sub"), r.PathValue("rg")
	var g ResourceGroup
	err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		if err := authorize(r, tx, groupID(sub, rg), "Microsoft.Resources/subscriptions/resourceGroups/read"); err != nil {
			return err
		}
		g, err = loadGroup(tx, sub, rg)
		return err
	})
	if err != nil {
		if r.Method == http.MethodHead {
			w.WriteHeader(arm.ToError(err).Status)
			return
		}
		arm.WriteError(w, err)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	arm.WriteJSON(w, http.StatusOK, g)
}

func (p *Provider) putGroup(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, resourceGroupType, resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg := r.PathValue("sub"), r.PathValue("rg")
	if !validGroupName(rg) {
		arm.WriteError(w, arm.Errorf(http.StatusBadRequest, "InvalidResourceGroupName",
			"Resource group names only allow up to 90 characters and can only include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters."))
		return
	}
	if _, err := p.subscription(r, sub); err != nil {
		arm.WriteError(w, err)
		return
	}
	var in ResourceGroup
	if err := arm.DecodeJSON(w, r, &in); err != nil {
		arm.WriteError(w, err)
		return
	}
	if in.Location == "" {
		arm.WriteError(w, arm.Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition."))
		return
	}
	status := http.StatusOK
	var out ResourceGroup
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := authorize(r, tx, groupID(sub, rg), "Microsoft.Resources/subscriptions/resourceGroups/write"); err != nil {
			return err
		}
		old, err := loadGroup(tx, sub, rg)
		now := p.now().UTC()
		created := now
		if err != nil {
			if arm.ToError(err).Status != http.StatusNotFound {
				return err
			}
			status = http.StatusCreated
			old = ResourceGroup{ID: groupID(sub, rg), Name: rg, Type: resourceGroupType, Location: strings.ToLower(strings.ReplaceAll(in.Location, " ", ""))}
		} else if !strings.EqualFold(old.Location, strings.ReplaceAll(in.Location, " ", "")) {
			return arm.Errorf(http.StatusConflict, "InvalidResourceGroupLocation",
				"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", in.Location, old.Location)
		}
		out = old
		out.Tags = in.Tags
		out.Properties.ProvisioningState = "Succeeded"
		doc, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return tx.PutResource(meta.Resource{ID: out.ID, Type: resourceGroupType, Document: doc, CreatedAt: created, UpdatedAt: now})
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.WriteJSON(w, status, out)
}

func (p *Provider) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, resourceGroupType, resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg := r.PathValue("sub"), r.PathValue("rg")
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := authorize(r, tx, groupID(sub, rg), "Microsoft.Resources/subscriptions/resourceGroups/delete"); err != nil {
			return err
		}
		if _, err := loadGroup(tx, sub, rg); err != nil {
			return err
		}
		// ARM deletes everything in the group with it.
		regs, err := tx.ListRegistries(sub, rg, meta.Page{})
		if err != nil {
			return err
		}
		for _, reg := range regs {
			if err := tx.DeleteRegistry(reg.Key); err != nil {
				return err
			}
		}
		children, err := tx.ListResources(groupID(sub, rg), "", meta.Page{})
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := tx.DeleteResource(c.ID); err != nil {
				return err
			}
		}
		return tx.DeleteResource(groupID(sub, rg))
	})
	if err != nil {
		if ae := arm.ToError(err); ae.Code == "ResourceGroupNotFound" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		arm.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (p *Provider) listGroups(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, resourceGroupType, resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	sub := r.PathValue("sub")
	out := []ResourceGroup{}
	err := p.meta.View(r.Context(), func(tx meta.Tx) error {
		res, err := tx.ListResources("/subscriptions/"+sub+"/resourceGroups", resourceGroupType, meta.Page{})
		if err != nil {
			return err
		}
		for _, x := range res {
			if authorize(r, tx, x.ID, "Microsoft.Resources/subscriptions/resourceGroups/read") != nil {
				continue
			}
			var g ResourceGroup
			if json.Unmarshal(x.Document, &g) == nil {
				out = append(out, g)
			}
		}
		return nil
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func validGroupName(s string) bool {
	if s == "" || len(s) > 90 || strings.HasSuffix(s, ".") {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == '(' || c == ')' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > 127) {
			return false
		}
	}
	return true
}

// listTenants answers GET /tenants: the caller's tenant.
func (p *Provider) listTenants(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, "tenants", resourcesAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	c, err := authz.CallerFromContext(r.Context())
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	var tenants []meta.Tenant
	if err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		arm.WriteError(w, err)
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
	if _, err := arm.RequireAPIVersion(r, RegistryType, registryAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	var ops []map[string]any
	for _, op := range []struct{ name, desc string }{
		{"registries/read", "Gets the properties of the specified container registry or lists all the container registries under the specified resource group or subscription."},
		{"registries/write", "Creates or updates a container registry with the specified parameters."},
		{"registries/delete", "Deletes a container registry."},
		{"registries/listCredentials/action", "Lists the login credentials for the specified container registry."},
		{"registries/regenerateCredential/action", "Regenerates one of the login credentials for the specified container registry."},
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
