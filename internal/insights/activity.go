package insights

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// eventPage is how many entries one page of the activity log holds (az
// keeps 50 by default and follows nextLink for more).
const eventPage = 100

// EventData is one activity log entry, with the SDK's names
// (armmonitor.EventData). Properties is string to string, as the SDK
// types it: a change's before and after are rendered as text.
type EventData struct {
	Authorization        *SenderAuthorization `json:"authorization,omitempty"`
	Caller               string               `json:"caller,omitempty"`
	Channels             string               `json:"channels"`
	Claims               map[string]string    `json:"claims,omitempty"`
	CorrelationID        string               `json:"correlationId,omitempty"`
	Description          string               `json:"description"`
	EventDataID          string               `json:"eventDataId"`
	EventName            LocalizableString    `json:"eventName"`
	Category             LocalizableString    `json:"category"`
	EventTimestamp       time.Time            `json:"eventTimestamp"`
	HTTPRequest          *HTTPRequestInfo     `json:"httpRequest,omitempty"`
	ID                   string               `json:"id"`
	Level                string               `json:"level"`
	OperationID          string               `json:"operationId"`
	OperationName        LocalizableString    `json:"operationName"`
	Properties           map[string]string    `json:"properties"`
	ResourceGroupName    string               `json:"resourceGroupName,omitempty"`
	ResourceProviderName LocalizableString    `json:"resourceProviderName"`
	ResourceID           string               `json:"resourceId"`
	ResourceType         LocalizableString    `json:"resourceType"`
	Status               LocalizableString    `json:"status"`
	SubStatus            LocalizableString    `json:"subStatus"`
	SubmissionTimestamp  time.Time            `json:"submissionTimestamp"`
	SubscriptionID       string               `json:"subscriptionId"`
	TenantID             string               `json:"tenantId"`
}

// SenderAuthorization is the action and scope a write was authorized for.
type SenderAuthorization struct {
	Action string `json:"action"`
	Scope  string `json:"scope"`
}

// LocalizableString is a value and its display text.
type LocalizableString struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

// HTTPRequestInfo describes the request of a write.
type HTTPRequestInfo struct {
	ClientIPAddress string `json:"clientIpAddress,omitempty"`
	Method          string `json:"method,omitempty"`
}

func localized(s string) LocalizableString { return LocalizableString{Value: s, LocalizedValue: s} }

// listEvents serves ActivityLogs_List: the management writes of the
// subscription that the $filter selects, newest first.
func (p *Provider) listEvents(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	query := q.HTTP.URL.Query()
	f, err := parseFilter(query.Get("$filter"), p.now().UTC())
	if err != nil {
		return nil, err
	}
	sub := arm.SubscriptionID(q.ID.Subscription)
	scope := sub.String()
	switch {
	case f.resourceID != "":
		id, err := arm.ParseExtensionID(f.resourceID)
		if err != nil || !sub.Contains(id) {
			return nil, errFilter(f.raw, "resourceId '"+f.resourceID+"' is not a resource id in subscription "+q.ID.Subscription)
		}
		scope = id.String()
	case f.group != "":
		scope = arm.ResourceGroupID(q.ID.Subscription, f.group).String()
	}
	tenant := ""
	err = p.meta.View(ctx, func(tx meta.Tx) error {
		if err := q.Authorize(tx, scope, EventType+"/read"); err != nil {
			return err
		}
		subs, err := tx.ListSubscriptions()
		for _, s := range subs {
			if strings.EqualFold(s.ID, q.ID.Subscription) {
				tenant = s.TenantID
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var recs []audit.Record
	if p.auditDir != "" {
		if recs, err = audit.Query(p.auditDir, audit.Filter{Category: audit.CategoryAdministrative, ResourceID: scope,
			Since: f.since, Until: f.until, Identity: f.caller}); err != nil {
			return nil, err
		}
	}
	recs = slices.DeleteFunc(recs, func(r audit.Record) bool { return !f.keeps(r) })
	slices.Reverse(recs)
	recs, next, err := page(recs, query.Get(arm.SkipTokenParam))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"value": eventsOf(recs, q.ID.Subscription, tenant)}
	if next != "" {
		out["nextLink"] = arm.NextLink(q.HTTP, next)
	}
	return arm.OK(out), nil
}

// keeps applies the clauses audit.Query does not.
func (f eventFilter) keeps(r audit.Record) bool {
	target := targetOf(r)
	id, _ := arm.ParseExtensionID(target)
	switch {
	case f.correlation != "" && !strings.EqualFold(r.CorrelationID, f.correlation):
		return false
	case f.group != "" && !strings.EqualFold(id.ResourceGroup, f.group):
		return false
	case f.rp != "" && !strings.EqualFold(id.Provider, f.rp):
		return false
	}
	return true
}

// page cuts one page off recs (newest first) after the position token
// names: "<unix nanos>.<n>" (base64), past the records newer than that
// time and n records at it. The next page's token is "" on the last page.
func page(recs []audit.Record, token string) ([]audit.Record, string, error) {
	var at time.Time
	skipped := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		ts, ns, ok := strings.Cut(string(b), ".")
		nanos, err1 := strconv.ParseInt(ts, 10, 64)
		n, err2 := strconv.Atoi(ns)
		if err != nil || !ok || err1 != nil || err2 != nil || n < 0 {
			return nil, "", errSkipToken()
		}
		at, skipped = time.Unix(0, nanos).UTC(), n
		i := 0
		for i < len(recs) && recs[i].Time.After(at) {
			i++
		}
		for j := 0; j < n && i < len(recs) && recs[i].Time.Equal(at); j++ {
			i++
		}
		recs = recs[i:]
	}
	if len(recs) <= eventPage {
		return recs, "", nil
	}
	recs = recs[:eventPage]
	last := recs[len(recs)-1].Time
	n := 0
	if token != "" && last.Equal(at) {
		n = skipped // the records at that time skipped before this page
	}
	for _, r := range recs {
		if r.Time.Equal(last) {
			n++
		}
	}
	return recs, base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", last.UnixNano(), n)), nil
}

// targetOf is the resource a record is about: the write's target, else
// its stream's resource.
func targetOf(r audit.Record) string {
	if r.Properties.Target != "" {
		return r.Properties.Target
	}
	return r.ResourceID
}

func eventsOf(recs []audit.Record, sub, tenant string) []EventData {
	out := make([]EventData, 0, len(recs))
	for _, r := range recs {
		out = append(out, eventOf(r, sub, tenant))
	}
	return out
}

// eventOf renders one activity log record as Azure's EventData.
func eventOf(r audit.Record, sub, tenant string) EventData {
	target := targetOf(r)
	id, _ := arm.ParseExtensionID(target)
	status, level := "Succeeded", "Informational"
	if strings.EqualFold(r.ResultType, audit.ResultFailed) {
		status, level = "Failed", "Error"
	}
	action := r.OperationName
	if r.Properties.Action != "" {
		action = r.Properties.Action
	}
	caller := r.Properties.Caller
	if caller == "" {
		caller = r.Identity
	}
	code := r.Properties.StatusCode
	statusText := strings.ReplaceAll(http.StatusText(code), " ", "")
	dataID := eventDataID(r)
	e := EventData{
		Authorization: &SenderAuthorization{Action: action, Scope: target},
		Caller:        caller, Channels: "Operation", CorrelationID: r.CorrelationID, EventDataID: dataID,
		EventName: LocalizableString{Value: "EndRequest", LocalizedValue: "End request"},
		Category:  localized(audit.CategoryAdministrative), EventTimestamp: r.Time, SubmissionTimestamp: r.Time,
		ID:    target + "/events/" + dataID + "/ticks/" + strconv.FormatInt(ticks(r.Time), 10),
		Level: level, OperationID: r.CorrelationID, OperationName: localized(action),
		ResourceGroupName: id.ResourceGroup, ResourceProviderName: localized(id.Provider), ResourceID: target,
		ResourceType: localized(id.ResourceType()), Status: localized(status), SubscriptionID: sub, TenantID: tenant,
		Properties: map[string]string{},
	}
	if id.Provider == "" {
		e.ResourceType = localized("")
	}
	if code != 0 {
		e.SubStatus = LocalizableString{Value: statusText, LocalizedValue: fmt.Sprintf("%s (HTTP Status Code: %d)", http.StatusText(code), code)}
		e.Properties["statusCode"] = statusText
	}
	if r.Properties.Caller != "" || r.Identity != "" {
		e.Claims = map[string]string{"appid": r.Properties.Caller, "http://schemas.microsoft.com/identity/claims/objectidentifier": r.Identity}
	}
	if r.CallerIPAddress != "" || r.Properties.Method != "" {
		e.HTTPRequest = &HTTPRequestInfo{ClientIPAddress: r.CallerIPAddress, Method: r.Properties.Method}
	}
	if r.CorrelationID != "" {
		e.Properties["serviceRequestId"] = r.CorrelationID
	}
	if r.Properties.ErrorCode != "" || r.Properties.Message != "" {
		e.Properties["statusMessage"] = string(mustJSON(map[string]any{"error": map[string]string{"code": r.Properties.ErrorCode, "message": r.Properties.Message}}))
	}
	if len(r.Properties.Changes) > 0 {
		e.Properties["changes"] = string(mustJSON(r.Properties.Changes))
		for _, c := range r.Properties.Changes {
			if _, taken := e.Properties[c.Path]; !taken && c.Path != "" {
				e.Properties[c.Path] = changeText(c.Before) + " -> " + changeText(c.After)
			}
		}
	}
	return e
}

// changeText renders one side of a change: a string as it is, absence
// as null, anything else as JSON.
func changeText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// eventDataID names an entry the same way each time it is read: a GUID
// from the record's place in its chain, or its content when it has none.
func eventDataID(r audit.Record) string {
	var key string
	if r.Chain != nil {
		key = fmt.Sprintf("%s|%s|%d", r.Chain.Stream, r.Chain.Node, r.Chain.Seq)
	} else {
		key = string(mustJSON(r))
	}
	h := sha256.Sum256([]byte(key))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// ticks is t in .NET ticks (100 ns since 0001-01-01), as Azure's event
// ids carry it.
func ticks(t time.Time) int64 {
	const unixEpochTicks = 621355968000000000
	return unixEpochTicks + t.UnixNano()/100
}
