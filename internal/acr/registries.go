package acr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// Registries: Registries_Get, _Create, _Delete, _List,
// _ListByResourceGroup and _CheckNameAvailability (acr-api.md §3.1).
// PATCH (Registries_Update) lives in update.go.

// RegistryType is the ARM type of registries.
const RegistryType = "Microsoft.ContainerRegistry/registries"

// Registry actions checked by the router.
const (
	registryRead   = RegistryType + "/read"
	registryWrite  = RegistryType + "/write"
	registryDelete = RegistryType + "/delete"
)

// registryNameRE is the swagger's registryName rule (acr-api.md §3):
// 5–50 alphanumerics. Names are unique service-wide, case-insensitively.
var registryNameRE = regexp.MustCompile(`^[a-zA-Z0-9]{5,50}$`)

// listPageSize is the number of registries per page of a list.
const listPageSize = 100

// loadRegistry finds the registry addressed by sub/rg/name inside tx. A
// registry of that name in another group or subscription is not found
// here (its name is still taken: see putRegistry).
func loadRegistry(tx meta.Tx, sub, rg, name string) (meta.Registry, Registry, error) {
	row, err := tx.RegistryByName(name)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(row.ResourceID, registryID(sub, rg, name)) {
		return row, Registry{}, errRegistryNotFound(rg, name)
	}
	if err != nil {
		return row, Registry{}, err
	}
	doc, err := decodeRegistry(tx, row)
	return row, doc, err
}

// loginServer is computed when rendering, never stored: in host mode it
// is <name><suffix>; in path mode it follows the host the client used.
func (p *Provider) loginServer(r *http.Request, name string) string {
	if p.suffix != "" {
		return strings.ToLower(name) + p.suffix
	}
	return r.Host + "/" + strings.ToLower(name)
}

// render fills the computed properties of a stored registry.
func (p *Provider) render(r *http.Request, doc Registry) Registry {
	if doc.Properties != nil && doc.Name != nil {
		props := *doc.Properties
		props.LoginServer = ptr(p.loginServer(r, *doc.Name))
		doc.Properties = &props
	}
	return doc
}

// getRegistry serves Registries_Get.
func (p *Provider) getRegistry(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var doc Registry
	err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		_, doc, err = loadRegistry(tx, q.sub, q.group, q.name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(forVersion(p.render(req.HTTP, doc), q.version)), nil
}

// putRegistry serves Registries_Create: 201 when it creates the registry,
// 200 when it replaces an existing one. The work finishes inside the
// request; the answer still carries Azure-AsyncOperation (already
// Succeeded) so LRO clients poll once and stop.
func (p *Provider) putRegistry(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q, r := reqOf(req), req.HTTP
	if !registryNameRE.MatchString(q.name) {
		return nil, errInvalidRegistryName(q.name)
	}
	var in Registry
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := validateCreate(in); err != nil {
		return nil, err
	}
	// Read before defaults are applied: they fill the same structs.
	intent := intentOf(in)
	// Read-only properties echoed back by GET-edit-PUT clients (az
	// resource update) are ignored; changing one is refused.
	if ls := in.Properties; ls != nil && ls.LoginServer != nil && !strings.EqualFold(*ls.LoginServer, p.loginServer(r, q.name)) {
		return nil, errReadOnlyChanged("properties.loginServer", p.loginServer(r, q.name))
	}
	caller := req.Caller
	status := http.StatusOK
	var before, out Registry
	var opPath string
	start := p.now().UTC()
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		id := q.registryID().String()
		if err := requireGroup(tx, q.sub, q.group); err != nil {
			return err
		}
		now := p.now().UTC()
		row, old, err := loadRegistry(tx, q.sub, q.group, q.name)
		before = old
		switch {
		case err == nil:
			if old.Location == nil || !strings.EqualFold(*old.Location, arm.NormLocation(*in.Location)) {
				return errRegistryLocation(q.name, deref(old.Location), q.group, *in.Location)
			}
			out = keepUnknown(old, replaceRegistry(old, in, caller, now), q.version)
			keepLock(old, &out, intent)
			if err := checkSKUChange(old, out); err != nil {
				return err
			}
			if err := checkChange(tx, id, old, out, intent); err != nil {
				return err
			}
			row.UpdatedAt = now
			if err := saveRegistry(tx, row, out); err != nil {
				return err
			}
			opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, *out.Location, start, now, nil)
			return err
		case !errors.Is(err, errdef.ErrNotFound):
			return err
		}
		switch _, err := tx.RegistryByName(q.name); {
		case err == nil:
			return errNameInUse(p.loginServer(r, q.name))
		case !errors.Is(err, errdef.ErrNotFound):
			return err
		}
		status = http.StatusCreated
		out = newRegistry(id, q.name, in, caller, now)
		if err := checkChange(tx, id, Registry{}, out, intent); err != nil {
			return err
		}
		if err := createRegistry(tx, meta.Registry{Key: uuid.NewString(), Name: strings.ToLower(q.name), ResourceID: id,
			SubscriptionID: q.sub, ResourceGroup: strings.ToLower(q.group), CreatedAt: now, UpdatedAt: now}, out); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, *out.Location, start, now, nil)
		return err
	})
	var ae *arm.Error
	if !errors.As(err, &ae) && errors.Is(err, errdef.ErrAlreadyExists) {
		err = errNameInUse(p.loginServer(r, q.name)) // lost a race for the name
	}
	if err != nil {
		return nil, err
	}
	var was any
	if before.Name != nil {
		was = before
	}
	return &arm.Response{Status: status, Body: forVersion(p.render(r, out), q.version), AsyncOperation: opPath, Before: was, After: out}, nil
}

// deleteRegistry serves Registries_Delete: the registry and all its data
// (repositories, manifests, tags, uploads, child resources) go in one
// transaction. 202 with a Location to poll (already done), or 204 when
// there was no such registry.
func (p *Provider) deleteRegistry(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var opPath string
	var doc Registry
	start := p.now().UTC()
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		row, d, err := loadRegistry(tx, q.sub, q.group, q.name)
		doc = d
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
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, deref(doc.Location), start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, doc, err)
}

// listRegistries serves Registries_List (subscription scope) and
// Registries_ListByResourceGroup: {"value":[…],"nextLink"?}, by name,
// listPageSize a page, continued with $skipToken. Registries the caller
// may not read are left out.
func (p *Provider) listRegistries(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q, r := reqOf(req), req.HTTP
	out := []any{}
	var last string
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if q.group != "" {
			if err := requireGroup(tx, q.sub, q.group); err != nil {
				return err
			}
		}
		page := meta.Page{After: strings.ToLower(r.URL.Query().Get(arm.SkipTokenParam)), Limit: listPageSize + 1}
		rows, err := tx.ListRegistries(q.sub, q.group, page)
		if err != nil {
			return err
		}
		if len(rows) > listPageSize {
			rows = rows[:listPageSize]
			last = rows[len(rows)-1].Name
		}
		for _, row := range rows {
			if ok, err := req.Allowed(tx, row.ResourceID); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			doc, err := decodeRegistry(tx, row)
			if err != nil {
				return err
			}
			out = append(out, forVersion(p.render(r, doc), q.version))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	body := map[string]any{"value": out}
	if last != "" {
		body["nextLink"] = arm.NextLink(r, last)
	}
	return arm.OK(body), nil
}

// checkName serves Registries_CheckNameAvailability.
func (p *Provider) checkName(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if !strings.EqualFold(in.Type, RegistryType) {
		return nil, errCheckNameType(in.Type)
	}
	resp := map[string]any{"nameAvailable": true}
	if !registryNameRE.MatchString(in.Name) {
		resp = map[string]any{"nameAvailable": false, "reason": "Invalid",
			"message": "The specified resource name must be 5-50 characters long and contain only alphanumeric characters."}
	} else {
		err := p.meta.View(ctx, func(tx meta.Tx) error {
			_, err := tx.RegistryByName(in.Name)
			return err
		})
		if err == nil {
			resp = map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": fmt.Sprintf("The registry %s is already in use.", in.Name)}
		} else if !errors.Is(err, errdef.ErrNotFound) {
			return nil, err
		}
	}
	return arm.OK(resp), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // our own types always marshal
	}
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
