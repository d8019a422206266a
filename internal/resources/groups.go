package resources

import (
	"context"
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

// ResourceGroup is the Microsoft.Resources resource group.
type ResourceGroup struct {
	ID         *string                  `json:"id,omitempty"`
	Name       *string                  `json:"name,omitempty"`
	Type       *string                  `json:"type,omitempty"`
	Location   *string                  `json:"location,omitempty"`
	Tags       map[string]*string       `json:"tags,omitempty"`
	ManagedBy  *string                  `json:"managedBy,omitempty"`
	Properties *ResourceGroupProperties `json:"properties,omitempty"`
}

// ResourceGroupProperties are a resource group's (read-only) properties.
type ResourceGroupProperties struct {
	ProvisioningState *string `json:"provisioningState,omitempty"`
}

// loadGroup reads a resource group inside tx; a missing one is
// ResourceGroupNotFound.
func loadGroup(tx meta.Tx, id arm.ID) (ResourceGroup, error) {
	var g ResourceGroup
	res, err := tx.GetResource(id.String())
	if errors.Is(err, errdef.ErrNotFound) {
		return g, errGroupNotFound(id.ResourceGroup)
	}
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(res.Document, &g); err != nil {
		return g, fmt.Errorf("resource group %s document: %w", id.ResourceGroup, err)
	}
	return g, nil
}

// getGroup serves ResourceGroups_Get and, for HEAD, CheckExistence
// (204 or 404, no body).
func (p *Provider) getGroup(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var g ResourceGroup
	err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		g, err = loadGroup(tx, q.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if q.HTTP.Method == http.MethodHead {
		return &arm.Response{Status: http.StatusNoContent}, nil
	}
	return arm.OK(g), nil
}

// putGroup serves ResourceGroups_CreateOrUpdate: 201 when it creates the
// group, 200 when it replaces the tags of an existing one. A group cannot
// move to another location.
func (p *Provider) putGroup(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	rg := q.ID.ResourceGroup
	if !validGroupName(rg) {
		return nil, errInvalidGroupName(rg)
	}
	if _, err := p.subscription(ctx, q.Caller.TenantID, q.ID.Subscription); err != nil {
		return nil, err
	}
	var in ResourceGroup
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if in.Location == nil || strings.TrimSpace(*in.Location) == "" {
		return nil, errLocationRequired()
	}
	status := http.StatusOK
	var before any
	var out ResourceGroup
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		id := q.ID.String()
		old, err := loadGroup(tx, q.ID)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			status = http.StatusCreated
			old = ResourceGroup{ID: ptr(id), Name: ptr(rg), Type: ptr(ResourceGroupType), Location: ptr(arm.NormLocation(*in.Location))}
		case err != nil:
			return err
		case old.Location == nil || !strings.EqualFold(*old.Location, arm.NormLocation(*in.Location)):
			return errGroupLocation(*in.Location, deref(old.Location))
		default:
			before = old
		}
		out = old
		out.Tags, out.ManagedBy = in.Tags, in.ManagedBy
		out.Properties = &ResourceGroupProperties{ProvisioningState: ptr("Succeeded")}
		now := p.now().UTC()
		doc, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return tx.PutResource(meta.Resource{ID: deref(out.ID), Type: ResourceGroupType, Document: doc, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: out, Before: before, After: out}, nil
}

// deleteGroup serves ResourceGroups_Delete. ARM deletes everything in the
// group with it: its registries (with all their content) and every other
// resource below it, in one transaction, so a failure leaves the group
// whole. 200 when deleted, 204 when there was no such group.
func (p *Provider) deleteGroup(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var before ResourceGroup
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		id := q.ID.String()
		g, err := loadGroup(tx, q.ID)
		if err != nil {
			return err
		}
		before = g
		regs, err := tx.ListRegistries(q.ID.Subscription, q.ID.ResourceGroup, meta.Page{})
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
		if err := tx.DeleteResource(id); err != nil {
			return err
		}
		for _, c := range p.cleaners {
			if err := c.GroupDeleted(tx, children); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return &arm.Response{Status: http.StatusNoContent}, nil
	case err != nil:
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Before: before}, nil
}

// listGroups serves ResourceGroups_List: the groups the caller may read.
func (p *Provider) listGroups(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []ResourceGroup{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		res, err := tx.ListResources(arm.SubscriptionID(q.ID.Subscription).String()+"/resourceGroups", ResourceGroupType, meta.Page{})
		if err != nil {
			return err
		}
		for _, x := range res {
			if ok, err := q.Allowed(tx, x.ID); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
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
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
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

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
