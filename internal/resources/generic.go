package resources

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// filterRE reads the two $filter clauses az sends to the generic resources
// list: resourceType eq '...' and resourceGroup eq '...'.
var filterRE = regexp.MustCompile(`(?i)(resourceType|resourceGroup)\s+eq\s+'([^']*)'`)

// maxFilter bounds the $filter the regular expression reads.
const maxFilter = 4 << 10

// listResources answers GET /subscriptions/{sub}/resources (and the group
// variant): the generic resource view az uses to find a registry by name.
// Each tracked provider lists its own resources; only those the caller may
// read are shown.
func (p *Provider) listResources(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	scope := arm.SubscriptionID(q.ID.Subscription)
	if q.ID.ResourceGroup != "" {
		scope = arm.ResourceGroupID(q.ID.Subscription, q.ID.ResourceGroup)
	}
	typ := ""
	filter := q.HTTP.URL.Query().Get("$filter")
	if len(filter) > maxFilter {
		return nil, errFilterTooLong()
	}
	for _, m := range filterRE.FindAllStringSubmatch(filter, -1) {
		if strings.EqualFold(m[1], "resourceType") {
			typ = m[2]
		} else {
			scope = arm.ResourceGroupID(q.ID.Subscription, m[2])
		}
	}
	out := []arm.GenericResource{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		readable := func(id, action string) (bool, error) {
			err := q.Authorize(tx, id, action)
			if errors.Is(err, errdef.ErrDenied) {
				return false, nil
			}
			return err == nil, err
		}
		for _, t := range p.trackers {
			got, err := t.Tracked(tx, scope.String(), typ, readable)
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}
