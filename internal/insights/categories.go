package insights

import (
	"context"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// categories are a registry's diagnostic settings categories: its two
// resource log categories and its metrics.
func categories(registryID string) []CategoryResource {
	var out []CategoryResource
	add := func(name, typ string, groups []string) {
		out = append(out, CategoryResource{ID: registryID + "/providers/" + CategoryType + "/" + name, Name: name, Type: CategoryType,
			Properties: CategoryProperties{CategoryType: typ, CategoryGroups: groups}})
	}
	for _, c := range logCategories {
		add(c, "Logs", categoryGroups)
	}
	add(allMetrics, "Metrics", []string{})
	return out
}

// listCategories serves DiagnosticSettingsCategory_List for a registry.
func (p *Provider) listCategories(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var reg meta.Registry
	err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		reg, err = requireRegistry(tx, q.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": categories(reg.ResourceID)}), nil
}

// getCategory serves DiagnosticSettingsCategory_Get.
func (p *Provider) getCategory(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	regID := *q.ID.Extends
	var reg meta.Registry
	err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		reg, err = requireRegistry(tx, regID)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, c := range categories(reg.ResourceID) {
		if strings.EqualFold(c.Name, q.ID.Name()) {
			return arm.OK(c), nil
		}
	}
	return nil, errCategoryNotFound(q.ID.Name())
}
