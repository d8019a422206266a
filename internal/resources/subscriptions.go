package resources

import (
	"context"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Subscriptions and tenants: read-only views clients fetch before
// managing resources. Each caller sees its own tenant only.

type subscriptionView struct {
	ID               string `json:"id"`
	SubscriptionID   string `json:"subscriptionId"`
	TenantID         string `json:"tenantId"`
	DisplayName      string `json:"displayName"`
	State            string `json:"state"`
	ManagedByTenants []any  `json:"managedByTenants"`
}

// subscriptions lists the subscriptions of the caller's tenant.
func (p *Provider) subscriptions(ctx context.Context, tenant string) ([]subscriptionView, error) {
	var subs []meta.Subscription
	if err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		subs, err = tx.ListSubscriptions()
		return err
	}); err != nil {
		return nil, err
	}
	out := []subscriptionView{}
	for _, s := range subs {
		if strings.EqualFold(s.TenantID, tenant) {
			out = append(out, subscriptionView{ID: "/subscriptions/" + s.ID, SubscriptionID: s.ID, TenantID: s.TenantID,
				DisplayName: s.DisplayName, State: "Enabled", ManagedByTenants: []any{}})
		}
	}
	return out, nil
}

// subscription finds a subscription of the caller's tenant.
func (p *Provider) subscription(ctx context.Context, tenant, id string) (subscriptionView, error) {
	subs, err := p.subscriptions(ctx, tenant)
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
func (p *Provider) listSubscriptions(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	subs, err := p.subscriptions(ctx, q.Caller.TenantID)
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": subs}), nil
}

// getSubscription answers GET /subscriptions/{sub}.
func (p *Provider) getSubscription(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	sub, err := p.subscription(ctx, q.Caller.TenantID, q.ID.Subscription)
	if err != nil {
		return nil, err
	}
	return arm.OK(sub), nil
}

// listTenants answers GET /tenants: the caller's tenant.
func (p *Provider) listTenants(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var tenants []meta.Tenant
	if err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
		tenants, err = tx.ListTenants()
		return err
	}); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, t := range tenants {
		if strings.EqualFold(t.ID, q.Caller.TenantID) {
			out = append(out, map[string]any{"id": "/tenants/" + t.ID, "tenantId": t.ID, "displayName": t.DisplayName,
				"tenantCategory": "Home", "defaultDomain": t.ID + ".bulkhead.local", "domains": []string{t.ID + ".bulkhead.local"}})
		}
	}
	return arm.OK(map[string]any{"value": out}), nil
}
