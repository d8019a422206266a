package acr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Resource groups (Microsoft.Resources/resourceGroups): ARM's own
// CreateOrUpdate, Get, CheckExistence, Delete and List, enough for
// clients to create registries in them.

const resourceGroupType = "Microsoft.Resources/resourceGroups"

// Resource-group actions checked by authz.
const (
	groupRead   = "Microsoft.Resources/subscriptions/resourceGroups/read"
	groupWrite  = "Microsoft.Resources/subscriptions/resourceGroups/write"
	groupDelete = "Microsoft.Resources/subscriptions/resourceGroups/delete"
)

// loadGroup reads a resource group inside tx; a missing one is
// ResourceGroupNotFound.
func loadGroup(tx meta.Tx, sub, rg string) (ResourceGroup, error) {
	var g ResourceGroup
	res, err := tx.GetResource(groupID(sub, rg))
	if errors.Is(err, errdef.ErrNotFound) {
		return g, errGroupNotFound(rg)
	}
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(res.Document, &g); err != nil {
		return g, fmt.Errorf("resource group %s document: %w", rg, err)
	}
	return g, nil
}

// getGroup serves ResourceGroups_Get and, for HEAD, CheckExistence
// (204 or 404, no body).
func (p *Provider) getGroup(w http.ResponseWriter, r *http.Request, q request) error {
	var g ResourceGroup
	err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		if err := authorize(r.Context(), tx, q.groupID().String(), groupRead); err != nil {
			return err
		}
		g, err = loadGroup(tx, q.sub, q.group)
		return err
	})
	if err != nil {
		return err
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	arm.WriteJSON(w, http.StatusOK, g)
	return nil
}

// putGroup serves ResourceGroups_CreateOrUpdate: 201 when it creates the
// group, 200 when it replaces the tags of an existing one. A group cannot
// move to another location.
func (p *Provider) putGroup(w http.ResponseWriter, r *http.Request, q request) error {
	if !validGroupName(q.group) {
		return errInvalidGroupName(q.group)
	}
	if _, err := p.subscription(r, q.sub); err != nil {
		return err
	}
	var in ResourceGroup
	if err := arm.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Location == nil || strings.TrimSpace(*in.Location) == "" {
		return errLocationRequired()
	}
	status := http.StatusOK
	var out ResourceGroup
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		id := q.groupID().String()
		if err := authorize(r.Context(), tx, id, groupWrite); err != nil {
			return err
		}
		old, err := loadGroup(tx, q.sub, q.group)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			status = http.StatusCreated
			old = ResourceGroup{ID: ptr(id), Name: ptr(q.group), Type: ptr(resourceGroupType), Location: ptr(arm.NormLocation(*in.Location))}
		case err != nil:
			return err
		case old.Location == nil || !strings.EqualFold(*old.Location, arm.NormLocation(*in.Location)):
			return errGroupLocation(*in.Location, deref(old.Location))
		}
		out = old
		out.Tags, out.ManagedBy = in.Tags, in.ManagedBy
		out.Properties = &ResourceGroupProperties{ProvisioningState: ptr(string(ProvisioningStateSucceeded))}
		now := p.now().UTC()
		return tx.PutResource(meta.Resource{ID: deref(out.ID), Type: resourceGroupType, Document: mustJSON(out), CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, status, out)
	return nil
}

// deleteGroup serves ResourceGroups_Delete. ARM deletes everything in the
// group with it: its registries (with all their content) and every other
// resource below it, in one transaction, so a failure leaves the group
// whole. 200 when deleted, 204 when there was no such group.
func (p *Provider) deleteGroup(w http.ResponseWriter, r *http.Request, q request) error {
	err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
		id := q.groupID().String()
		if err := authorize(r.Context(), tx, id, groupDelete); err != nil {
			return err
		}
		if _, err := loadGroup(tx, q.sub, q.group); err != nil {
			return err
		}
		regs, err := tx.ListRegistries(q.sub, q.group, meta.Page{})
		if err != nil {
			return err
		}
		for _, reg := range regs {
			if err := tx.DeleteRegistry(reg.Key); err != nil {
				return err
			}
		}
		children, err := tx.ListResources(id, "", meta.Page{})
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := tx.DeleteResource(c.ID); err != nil {
				return err
			}
		}
		return tx.DeleteResource(id)
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		w.WriteHeader(http.StatusNoContent)
	case err != nil:
		return err
	default:
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// listGroups serves ResourceGroups_List: the groups the caller may read.
func (p *Provider) listGroups(w http.ResponseWriter, r *http.Request, q request) error {
	out := []ResourceGroup{}
	err := p.meta.View(r.Context(), func(tx meta.Tx) error {
		res, err := tx.ListResources(arm.SubscriptionID(q.sub).String()+"/resourceGroups", resourceGroupType, meta.Page{})
		if err != nil {
			return err
		}
		for _, x := range res {
			if err := authorize(r.Context(), tx, x.ID, groupRead); err != nil {
				if errors.Is(err, errdef.ErrDenied) {
					continue
				}
				return err
			}
			var g ResourceGroup
			if err := json.Unmarshal(x.Document, &g); err != nil {
				return fmt.Errorf("resource group %s document: %w", x.ID, err)
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// validGroupName applies ARM's resource group name rule: 1–90 of
// alphanumerics, '-', '_', '.', '(', ')' and Unicode letters, not ending
// in '.'.
func validGroupName(s string) bool {
	if s == "" || len([]rune(s)) > 90 || strings.HasSuffix(s, ".") {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == '(' || c == ')' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > 127) {
			return false
		}
	}
	return true
}
