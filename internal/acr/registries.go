package acr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// RegistryType is the ARM type of registries.
const RegistryType = "Microsoft.ContainerRegistry/registries"

var registryNameRE = regexp.MustCompile(`^[a-zA-Z0-9]{5,50}$`)

func registryID(sub, rg, name string) string {
	return groupID(sub, rg) + "/providers/" + RegistryType + "/" + name
}

func registryNotFound(rg, name string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", RegistryType, name, rg)
}

// loadRegistry finds the registry addressed by sub/rg/name inside tx; a
// registry of that name in another group or subscription is not found.
func loadRegistry(tx meta.Tx, sub, rg, name string) (meta.Registry, Registry, error) {
	row, err := tx.RegistryByName(name)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(row.ResourceID, registryID(sub, rg, name)) {
		return row, Registry{}, registryNotFound(rg, name)
	}
	if err != nil {
		return row, Registry{}, err
	}
	var doc Registry
	if err := json.Unmarshal(row.Document, &doc); err != nil {
		return row, doc, fmt.Errorf("registry %s document: %w", name, err)
	}
	return row, doc, nil
}

// loginServer is computed when rendering, never stored: in path mode it
// follows the host the client used.
func (p *Provider) loginServer(r *http.Request, name string) string {
	if p.suffix != "" {
		return strings.ToLower(name) + p.suffix
	}
	return r.Host + "/" + strings.ToLower(name)
}

func (p *Provider) render(r *http.Request, doc Registry) Registry {
	if doc.Properties != nil {
		props := *doc.Properties
		props.LoginServer = ptr(p.loginServer(r, *doc.Name))
		doc.Properties = &props
	}
	return doc
}

func (p *Provider) getRegistry(w http.ResponseWriter, r *http.Request) {
	v, err := arm.RequireAPIVersion(r, RegistryType, registryAPIVersions)
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg, name := r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")
	var doc Registry
	err = p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		if err := authorize(r, tx, registryID(sub, rg, name), RegistryType+"/read"); err != nil {
			return err
		}
		_, doc, err = loadRegistry(tx, sub, rg, name)
		return err
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, forVersion(p.render(r, doc), v))
}

// putRegistry creates or replaces a registry (Registries_Create).
func (p *Provider) putRegistry(w http.ResponseWriter, r *http.Request) {
	v, err := arm.RequireAPIVersion(r, RegistryType, registryAPIVersions)
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg, name := r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")
	if !registryNameRE.MatchString(name) {
		arm.WriteError(w, arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
			"Resource name '%s' is invalid: registry names may contain alphanumeric characters only and must be between 5 and 50 characters.", name))
		return
	}
	var in Registry
	if err := arm.DecodeJSON(w, r, &in); err != nil {
		arm.WriteError(w, err)
		return
	}
	if err := validateCreate(in); err != nil {
		arm.WriteError(w, err)
		return
	}
	// Read-only properties echoed back by GET-edit-PUT clients (az
	// resource update) are ignored; changing one is refused.
	if ls := in.Properties; ls != nil && ls.LoginServer != nil && !strings.EqualFold(*ls.LoginServer, p.loginServer(r, name)) {
		arm.WriteError(w, arm.Errorf(http.StatusBadRequest, "ReadOnlyPropertyCannotBeChanged",
			"The property 'properties.loginServer' is read-only and cannot be changed (it is %s).", p.loginServer(r, name)))
		return
	}
	caller, err := authz.CallerFromContext(r.Context())
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	status := http.StatusOK
	var out Registry
	var opPath string
	start := p.now().UTC()
	err = p.meta.Update(r.Context(), func(tx meta.Tx) error {
		id := registryID(sub, rg, name)
		if err := authorize(r, tx, id, RegistryType+"/write"); err != nil {
			return err
		}
		if _, err := loadGroup(tx, sub, rg); err != nil {
			return err
		}
		now := p.now().UTC()
		row, old, err := loadRegistry(tx, sub, rg, name)
		switch {
		case err == nil:
			if !strings.EqualFold(*old.Location, normLocation(*in.Location)) {
				return arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation",
					"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
					name, *old.Location, rg, *in.Location)
			}
			out = keepUnknown(old, replaceRegistry(old, in, caller, now), v)
			if err := checkSKUChange(old, out); err != nil {
				return err
			}
			if err := checkChange(tx, id, old, out); err != nil {
				return err
			}
			row.Document, row.UpdatedAt = mustJSON(out), now
			if err := tx.UpdateRegistry(row); err != nil {
				return err
			}
			opPath, err = arm.RecordOperation(tx, sub, providerNamespace, *out.Location, start, now, nil)
			return err
		case arm.ToError(err).Status != http.StatusNotFound:
			return err
		}
		if _, err := tx.RegistryByName(name); err == nil {
			return arm.Errorf(http.StatusConflict, "AlreadyInUse", "The registry %s is already in use.", name)
		}
		status = http.StatusCreated
		out = newRegistry(id, name, in, caller, now)
		if err := checkChange(tx, id, Registry{}, out); err != nil {
			return err
		}
		if err := tx.CreateRegistry(meta.Registry{Key: uuid.NewString(), Name: strings.ToLower(name), ResourceID: id,
			SubscriptionID: sub, ResourceGroup: rg, Document: mustJSON(out), CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, sub, providerNamespace, *out.Location, start, now, nil)
		return err
	})
	if errors.Is(err, errdef.ErrAlreadyExists) {
		err = arm.Errorf(http.StatusConflict, "AlreadyInUse", "The registry %s is already in use.", name)
	}
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.SetAsyncHeaders(w, r, opPath)
	arm.WriteJSON(w, status, forVersion(p.render(r, out), v))
}

func (p *Provider) deleteRegistry(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, RegistryType, registryAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg, name := r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")
	var opPath string
	start := p.now().UTC()
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := authorize(r, tx, registryID(sub, rg, name), RegistryType+"/delete"); err != nil {
			return err
		}
		row, doc, err := loadRegistry(tx, sub, rg, name)
		if err != nil {
			return err
		}
		children, err := tx.ListResources(row.ResourceID, "", meta.Page{})
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := tx.DeleteResource(c.ID); err != nil {
				return err
			}
		}
		if err := tx.DeleteRegistry(row.Key); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, sub, providerNamespace, *doc.Location, start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		if arm.ToError(err).Status == http.StatusNotFound {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		arm.WriteError(w, err)
		return
	}
	arm.SetLocationHeaders(w, r, opPath)
	w.WriteHeader(http.StatusAccepted)
}

// listPageSize is the number of registries per page of a list.
const listPageSize = 100

func (p *Provider) listRegistries(w http.ResponseWriter, r *http.Request) {
	v, err := arm.RequireAPIVersion(r, RegistryType, registryAPIVersions)
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	sub, rg := r.PathValue("sub"), r.PathValue("rg")
	out := []any{}
	var last string
	err = p.meta.View(r.Context(), func(tx meta.Tx) error {
		rows, err := tx.ListRegistries(sub, rg, meta.Page{After: strings.ToLower(r.URL.Query().Get("$skipToken")), Limit: listPageSize + 1})
		if err != nil {
			return err
		}
		if len(rows) > listPageSize {
			rows, last = rows[:listPageSize], rows[listPageSize-1].Name
		}
		for _, row := range rows {
			if authorize(r, tx, row.ResourceID, RegistryType+"/read") != nil {
				continue
			}
			var doc Registry
			if json.Unmarshal(row.Document, &doc) == nil {
				out = append(out, forVersion(p.render(r, doc), v))
			}
		}
		return nil
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	body := map[string]any{"value": out}
	if last != "" {
		body["nextLink"] = nextLink(r, last)
	}
	arm.WriteJSON(w, http.StatusOK, body)
}

// checkName answers Registries_CheckNameAvailability.
func (p *Provider) checkName(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, RegistryType, registryAPIVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	var in struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := arm.DecodeJSON(w, r, &in); err != nil {
		arm.WriteError(w, err)
		return
	}
	if !strings.EqualFold(in.Type, RegistryType) {
		arm.WriteError(w, arm.Errorf(http.StatusBadRequest, "InvalidResourceType", "type must be %s", RegistryType))
		return
	}
	resp := map[string]any{"nameAvailable": true}
	if !registryNameRE.MatchString(in.Name) {
		resp = map[string]any{"nameAvailable": false, "reason": "Invalid",
			"message": "The specified resource name must be 5-50 characters long and contain only alphanumeric characters."}
	} else {
		err := p.meta.View(r.Context(), func(tx meta.Tx) error {
			_, err := tx.RegistryByName(in.Name)
			return err
		})
		if err == nil {
			resp = map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": fmt.Sprintf("The registry %s is already in use.", in.Name)}
		} else if !errors.Is(err, errdef.ErrNotFound) {
			arm.WriteError(w, err)
			return
		}
	}
	arm.WriteJSON(w, http.StatusOK, resp)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // our own types always marshal
	}
	return b
}
