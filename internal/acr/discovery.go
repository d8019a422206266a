package acr

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// providerInfo answers GET /subscriptions/{sub}/providers/Microsoft.ContainerRegistry,
// which `az resource` reads to pick an api-version.
func (p *Provider) providerInfo(_ context.Context, req *arm.Request) (*arm.Response, error) {
	types := []map[string]any{
		{"resourceType": "registries", "locations": []string{"West US"}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "registries/exportPipelines", "locations": []string{"West US"}, "apiVersions": reversed(pipelineAPIVersions)},
		{"resourceType": "registries/importPipelines", "locations": []string{"West US"}, "apiVersions": reversed(pipelineAPIVersions)},
		{"resourceType": "registries/privateEndpointConnections", "locations": []string{"West US"}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "checkNameAvailability", "locations": []string{}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "operations", "locations": []string{}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "locations/operationStatuses", "locations": []string{"West US"}, "apiVersions": reversed(registryAPIVersions)},
	}
	return arm.OK(map[string]any{
		"id":                "/subscriptions/" + req.ID.Subscription + "/providers/" + providerNamespace,
		"namespace":         providerNamespace,
		"registrationState": "Registered",
		"resourceTypes":     types,
	}), nil
}

// listOperations answers GET /providers/Microsoft.ContainerRegistry/operations.
func (p *Provider) listOperations(context.Context, *arm.Request) (*arm.Response, error) {
	var ops []map[string]any
	for _, op := range []struct{ name, desc string }{
		{"registries/read", "Gets the properties of the specified container registry or lists all the container registries under the specified resource group or subscription."},
		{"registries/write", "Creates or updates a container registry with the specified parameters."},
		{"registries/delete", "Deletes a container registry."},
		{"registries/listCredentials/action", "Lists the login credentials for the specified container registry."},
		{"registries/regenerateCredential/action", "Regenerates one of the login credentials for the specified container registry."},
		{"registries/importImage/action", "Import Image to container registry with the specified parameters."},
		{"registries/egressReport/action", "Reports what left the container registry, by channel, identity and day (Bulkhead)."},
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
	return arm.OK(map[string]any{"value": ops}), nil
}

func reversed(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[len(in)-1-i] = v
	}
	return out
}

// adminCredentialType stores a registry's admin passwords. They are
// returned by listCredentials, so they are kept retrievable, as ACR does.
const adminCredentialType = RegistryType + "/adminCredentials"

type adminCredentials struct {
	Passwords [2]string `json:"passwords"`
}

func newPassword() string {
	b := make([]byte, 32)
	rand.Read(b)
	return strings.NewReplacer("-", "A", "_", "B").Replace(base64.RawURLEncoding.EncodeToString(b))
}

// credentials serves listCredentials and regenerateCredential.
func (p *Provider) credentials(regenerate bool) arm.Handler {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var which string
		if regenerate {
			var in struct{ Name string }
			if err := req.Decode(&in); err != nil {
				return nil, err
			}
			which = strings.ToLower(in.Name)
			if which != "password" && which != "password2" {
				return nil, errPasswordName("password", "password2")
			}
		}
		sub, rg, name := req.ID.Subscription, req.ID.ResourceGroup, req.ID.Name()
		var creds adminCredentials
		var user string
		err := p.meta.Update(ctx, func(tx meta.Tx) error {
			id := registryID(sub, rg, name)
			_, doc, err := loadRegistry(tx, sub, rg, name)
			if err != nil {
				return err
			}
			if doc.Properties == nil || doc.Properties.AdminUserEnabled == nil || !*doc.Properties.AdminUserEnabled {
				return errAdminUserDisabled(name)
			}
			user = *doc.Name
			credID := id + "/adminCredentials/default"
			res, err := tx.GetResource(credID)
			switch {
			case err == nil:
				json.Unmarshal(res.Document, &creds)
			case !errors.Is(err, errdef.ErrNotFound):
				return err
			}
			changed := false
			for i := range creds.Passwords {
				if creds.Passwords[i] == "" || regenerate && which == []string{"password", "password2"}[i] {
					creds.Passwords[i], changed = newPassword(), true
				}
			}
			if !changed {
				return nil
			}
			now := p.now().UTC()
			return tx.PutResource(meta.Resource{ID: credID, Type: adminCredentialType, Document: mustJSON(creds), CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			return nil, err
		}
		// The passwords go to the caller only: the write hook sees no
		// document for this action.
		return arm.OK(map[string]any{"username": user, "passwords": []map[string]string{
			{"name": "password", "value": creds.Passwords[0]}, {"name": "password2", "value": creds.Passwords[1]}}}), nil
	}
}

// listUsages reports the registry's usage against its SKU limits.
func (p *Provider) listUsages(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	sub, rg, name := req.ID.Subscription, req.ID.ResourceGroup, req.ID.Name()
	var doc Registry
	var pipes int
	err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		if _, doc, err = loadRegistry(tx, sub, rg, name); err != nil {
			return err
		}
		ps, err := tx.ListResources(registryID(sub, rg, name), ExportPipelineType, meta.Page{})
		pipes = len(ps)
		return err
	})
	if err != nil {
		return nil, err
	}
	limits := map[SKUName][3]int64{SKUNameBasic: {10 << 30, 2, 2}, SKUNameStandard: {100 << 30, 10, 10}, SKUNamePremium: {500 << 30, 500, 100}}
	l := limits[*doc.SKU.Name]
	ips := 0
	if doc.Properties != nil && doc.Properties.NetworkRuleSet != nil {
		ips = len(doc.Properties.NetworkRuleSet.IPRules)
	}
	return arm.OK(map[string]any{"value": []map[string]any{
		{"name": "Size", "limit": l[0], "currentValue": 0, "unit": "Bytes"},
		{"name": "Webhooks", "limit": l[1], "currentValue": 0, "unit": "Count"},
		{"name": "IPRules", "limit": 100, "currentValue": ips, "unit": "Count"},
		{"name": "ExportPipelines", "limit": l[2], "currentValue": pipes, "unit": "Count"},
	}}), nil
}
