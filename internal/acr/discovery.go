package acr

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// providerInfo answers GET /subscriptions/{sub}/providers/Microsoft.ContainerRegistry,
// which `az resource` reads to pick an api-version.
func (p *Provider) providerInfo(w http.ResponseWriter, r *http.Request) {
	types := []map[string]any{
		{"resourceType": "registries", "locations": []string{"West US"}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "registries/exportPipelines", "locations": []string{"West US"}, "apiVersions": reversed(pipelineAPIVersions)},
		{"resourceType": "registries/importPipelines", "locations": []string{"West US"}, "apiVersions": reversed(pipelineAPIVersions)},
		{"resourceType": "registries/privateEndpointConnections", "locations": []string{"West US"}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "checkNameAvailability", "locations": []string{}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "operations", "locations": []string{}, "apiVersions": reversed(registryAPIVersions)},
		{"resourceType": "locations/operationStatuses", "locations": []string{"West US"}, "apiVersions": reversed(registryAPIVersions)},
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{
		"id":                "/subscriptions/" + r.PathValue("sub") + "/providers/" + providerNamespace,
		"namespace":         providerNamespace,
		"registrationState": "Registered",
		"resourceTypes":     types,
	})
}

func reversed(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[len(in)-1-i] = v
	}
	return out
}

// filterRE reads the two $filter clauses az sends to the generic resources
// list: resourceType eq '...' and resourceGroup eq '...'.
var filterRE = regexp.MustCompile(`(?i)(resourceType|resourceGroup)\s+eq\s+'([^']*)'`)

// listResources answers GET /subscriptions/{sub}/resources (and the group
// variant): the generic resource view az uses to find a registry by name.
func (p *Provider) listResources(w http.ResponseWriter, r *http.Request) {
	if _, err := resourcesVersions.Check(r); err != nil {
		p.fail(w, r, err)
		return
	}
	sub, rg := r.PathValue("sub"), r.PathValue("rg")
	typ := ""
	for _, m := range filterRE.FindAllStringSubmatch(r.URL.Query().Get("$filter"), -1) {
		if strings.EqualFold(m[1], "resourceType") {
			typ = m[2]
		} else {
			rg = m[2]
		}
	}
	out := []map[string]any{}
	err := p.meta.View(r.Context(), func(tx meta.Tx) error {
		if err := p.listTracked(r, tx, sub, rg, typ, &out); err != nil {
			return err
		}
		if typ != "" && !strings.EqualFold(typ, RegistryType) {
			return nil
		}
		rows, err := tx.ListRegistries(sub, rg, meta.Page{})
		if err != nil {
			return err
		}
		for _, row := range rows {
			if authorize(r.Context(), tx, row.ResourceID, RegistryType+"/read") != nil {
				continue
			}
			var doc Registry
			if json.Unmarshal(row.Document, &doc) == nil {
				out = append(out, map[string]any{"id": doc.ID, "name": doc.Name, "type": doc.Type, "location": doc.Location,
					"tags": doc.Tags, "sku": doc.SKU})
			}
		}
		return nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

// trackedTypes are the other top-level resources the generic list shows.
var trackedTypes = []string{network.VirtualNetworkType, network.PrivateEndpointType}

// listTracked appends the virtual networks and private endpoints in scope
// that the caller may read.
func (p *Provider) listTracked(r *http.Request, tx meta.Tx, sub, rg, typ string, out *[]map[string]any) error {
	scope := "/subscriptions/" + sub
	if rg != "" {
		scope = groupID(sub, rg)
	}
	for _, t := range trackedTypes {
		if typ != "" && !strings.EqualFold(typ, t) {
			continue
		}
		rows, err := tx.ListResources(scope, t, meta.Page{Limit: 1000})
		if err != nil {
			return err
		}
		for _, row := range rows {
			if authorize(r.Context(), tx, row.ID, t+"/read") != nil {
				continue
			}
			var doc struct {
				ID, Name, Type, Location string
				Tags                     map[string]string
			}
			if json.Unmarshal(row.Document, &doc) == nil {
				*out = append(*out, map[string]any{"id": doc.ID, "name": doc.Name, "type": doc.Type, "location": doc.Location, "tags": doc.Tags})
			}
		}
	}
	return nil
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
func (p *Provider) credentials(regenerate bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := registryVersions.Check(r); err != nil {
			p.fail(w, r, err)
			return
		}
		var which string
		if regenerate {
			var in struct{ Name string }
			if err := arm.DecodeJSON(w, r, &in); err != nil {
				p.fail(w, r, err)
				return
			}
			which = strings.ToLower(in.Name)
			if which != "password" && which != "password2" {
				p.fail(w, r, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "name must be password or password2."))
				return
			}
		}
		sub, rg, name := r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")
		action := "/listCredentials/action"
		if regenerate {
			action = "/regenerateCredential/action"
		}
		var creds adminCredentials
		var user string
		err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
			id := registryID(sub, rg, name)
			if err := authorize(r.Context(), tx, id, RegistryType+action); err != nil {
				return err
			}
			_, doc, err := loadRegistry(tx, sub, rg, name)
			if err != nil {
				return err
			}
			if doc.Properties == nil || doc.Properties.AdminUserEnabled == nil || !*doc.Properties.AdminUserEnabled {
				return arm.Errorf(http.StatusBadRequest, "AdminUserDisabled",
					"The admin user of registry '%s' is disabled. Run 'az acr update -n %s --admin-enabled true' to enable it.", name, name)
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
			p.fail(w, r, err)
			return
		}
		arm.WriteJSON(w, http.StatusOK, map[string]any{"username": user, "passwords": []map[string]string{
			{"name": "password", "value": creds.Passwords[0]}, {"name": "password2", "value": creds.Passwords[1]}}})
	}
}

// listUsages reports the registry's usage against its SKU limits.
func (p *Provider) listUsages(w http.ResponseWriter, r *http.Request) {
	if _, err := registryVersions.Check(r); err != nil {
		p.fail(w, r, err)
		return
	}
	sub, rg, name := r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")
	var doc Registry
	var pipes int
	err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		if err := authorize(r.Context(), tx, registryID(sub, rg, name), RegistryType+"/listUsages/read"); err != nil {
			return err
		}
		if _, doc, err = loadRegistry(tx, sub, rg, name); err != nil {
			return err
		}
		ps, err := tx.ListResources(registryID(sub, rg, name), ExportPipelineType, meta.Page{})
		pipes = len(ps)
		return err
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	limits := map[SKUName][3]int64{SKUNameBasic: {10 << 30, 2, 2}, SKUNameStandard: {100 << 30, 10, 10}, SKUNamePremium: {500 << 30, 500, 100}}
	l := limits[*doc.SKU.Name]
	ips := 0
	if doc.Properties != nil && doc.Properties.NetworkRuleSet != nil {
		ips = len(doc.Properties.NetworkRuleSet.IPRules)
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": []map[string]any{
		{"name": "Size", "limit": l[0], "currentValue": 0, "unit": "Bytes"},
		{"name": "Webhooks", "limit": l[1], "currentValue": 0, "unit": "Count"},
		{"name": "IPRules", "limit": 100, "currentValue": ips, "unit": "Count"},
		{"name": "ExportPipelines", "limit": l[2], "currentValue": pipes, "unit": "Count"},
	}})
}
