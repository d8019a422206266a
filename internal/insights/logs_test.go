package insights_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

const logsPath = "/subscriptions/" + sub + "/providers/Microsoft.Insights/bulkheadAuditLogs?api-version=2021-05-01-preview"

// The audit log query: filters, scopes and every refusal.
func TestLogQuery(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC()
	appendRecords(t, w.auditDir, now.Add(-2*time.Hour), 0, 3)
	appendRecords(t, w.auditDir, now.Add(-10*time.Minute), 3, 2)
	writeActivity(t, w.auditDir, write(now.Add(-5*time.Minute), "Microsoft.ContainerRegistry/registries/write", regID, "Succeeded", 200, "c1"))
	query := func(who string, params url.Values) []audit.Record {
		t.Helper()
		r := w.do(who, "GET", logsPath+"&"+params.Encode(), "").expect(t, 200, "")
		var page struct {
			Value []audit.Record `json:"value"`
		}
		if err := json.Unmarshal([]byte(r.raw), &page); err != nil {
			t.Fatal(err)
		}
		return page.Value
	}
	if got := query(reader, url.Values{}); len(got) != 6 {
		t.Errorf("the whole subscription: %d records, want 6", len(got))
	}
	if got := query(reader, url.Values{"resourceId": {regID}, "category": {"containerregistryrepositoryevents"},
		"since": {now.Add(-time.Hour).Format(time.RFC3339)}}); len(got) != 2 || got[0].Properties.Tag != "v3" {
		t.Errorf("the registry's last hour: %+v", got)
	}
	if got := query(reader, url.Values{"repository": {"app"}, "$top": {"1"}}); len(got) != 1 || got[0].Properties.Tag != "v4" {
		t.Errorf("$top keeps the newest: %+v", got)
	}
	if got := query(reader, url.Values{"operation": {"Microsoft.ContainerRegistry/registries/write"}}); len(got) != 1 || got[0].CorrelationID != "c1" {
		t.Errorf("by action: %+v", got)
	}
	// A Contributor of the registry alone reads its records, not the
	// subscription's.
	if got := query(regAdmin, url.Values{"resourceId": {regID}}); len(got) != 6 {
		t.Errorf("registry contributor on the registry: %d records", len(got))
	}
	w.do(regAdmin, "GET", logsPath, "").expect(t, 403, "AuthorizationFailed")
	w.do(nobody, "GET", logsPath+"&resourceId="+url.QueryEscape(regID), "").expect(t, 403, "AuthorizationFailed")
	for _, bad := range []url.Values{
		{"resourceId": {"/subscriptions/other/resourceGroups/x"}}, {"resourceId": {"not-an-id"}}, {"category": {"Nope"}},
		{"since": {"yesterday"}}, {"until": {"2026-13-01T00:00:00Z"}}, {"$top": {"0"}}, {"$top": {"10001"}}, {"$top": {"x"}},
		{"since": {now.Format(time.RFC3339)}, "until": {now.Add(-time.Hour).Format(time.RFC3339)}},
	} {
		w.do(reader, "GET", logsPath+"&"+bad.Encode(), "").expect(t, 400, "InvalidParameters")
	}
}
