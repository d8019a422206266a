package insights

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// LogsType is the resource type of the audit log query, a Bulkhead
// extension: Azure answers such questions with Log Analytics' KQL, which
// is not served here.
const LogsType = InsightsNamespace + "/bulkheadAuditLogs"

// queryCategories are the categories a query may name.
var queryCategories = []string{audit.CategoryRepository, audit.CategoryLogin, audit.CategoryAdministrative, audit.CategorySignIn}

// queryLogs serves GET /subscriptions/{s}/providers/Microsoft.Insights/
// bulkheadAuditLogs: the audit records of the subscription, or of one
// resource under it (resourceId), that the query's filters select,
// oldest first. The read action is checked at the narrowest scope named,
// and records outside it are never read.
func (p *Provider) queryLogs(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	v := q.HTTP.URL.Query()
	sub := arm.SubscriptionID(q.ID.Subscription)
	f := audit.Filter{ResourceID: sub.String(), Identity: v.Get("identity"), Operation: v.Get("operation"),
		Repository: v.Get("repository"), Result: v.Get("result")}
	if id := v.Get("resourceId"); id != "" {
		rid, err := arm.ParseExtensionID(id)
		if err != nil || !sub.Contains(rid) {
			return nil, badRequest("InvalidParameters", "The resourceId '%s' is not a resource id in subscription %s.", id, q.ID.Subscription)
		}
		f.ResourceID = rid.String()
	}
	if c := v.Get("category"); c != "" {
		for _, known := range queryCategories {
			if strings.EqualFold(c, known) {
				f.Category = known
			}
		}
		if f.Category == "" {
			return nil, badRequest("InvalidParameters", "The category '%s' is not known; use one of %s.", c, strings.Join(queryCategories, ", "))
		}
	}
	var err error
	if f.Since, err = logTime(v, "since"); err != nil {
		return nil, err
	}
	if f.Until, err = logTime(v, "until"); err != nil {
		return nil, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, badRequest("InvalidParameters", "since must be before until.")
	}
	f.Limit = 1000
	if t := v.Get("$top"); t != "" {
		if f.Limit, err = strconv.Atoi(t); err != nil || f.Limit < 1 || f.Limit > audit.MaxQueryRecords {
			return nil, badRequest("InvalidParameters", "$top must be a whole number from 1 to %d.", audit.MaxQueryRecords)
		}
	}
	for _, s := range []string{f.Identity, f.Operation, f.Repository, f.Result} {
		if len(s) > 1024 {
			return nil, badRequest("InvalidParameters", "A filter value is longer than 1024 characters.")
		}
	}
	if err := p.meta.View(ctx, func(tx meta.Tx) error { return q.Authorize(tx, f.ResourceID, LogsType+"/read") }); err != nil {
		return nil, err
	}
	var recs []audit.Record
	if p.auditDir != "" {
		if recs, err = audit.Query(p.auditDir, f); err != nil {
			return nil, err
		}
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	return arm.OK(map[string]any{"value": recs}), nil
}

// logTime reads an RFC 3339 time parameter; absent is zero.
func logTime(v url.Values, name string) (time.Time, error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("InvalidParameters", "%s '%s' is not an RFC 3339 time such as 2026-12-03T10:00:00Z.", name, s)
	}
	return t, nil
}
