package insights_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

const eventsPath = "/subscriptions/" + sub + "/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01"

// writeActivity appends activity log records to the subscription's
// stream, as the audit log writes them.
func writeActivity(t *testing.T, dir string, recs ...audit.Record) {
	t.Helper()
	for _, r := range recs {
		container, blob := audit.BlobPath(audit.CategoryAdministrative, "/subscriptions/"+sub, r.Time)
		path := filepath.Join(dir, container, filepath.FromSlash(blob))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(r)
		f.Write(append(line, '\n'))
		f.Close()
	}
}

func write(at time.Time, action, target, result string, status int, corr string, changes ...audit.Change) audit.Record {
	return audit.Record{Time: at, ResourceID: "/subscriptions/" + sub, OperationName: action, Category: audit.CategoryAdministrative,
		ResultType: result, Level: "Informational", CorrelationID: corr, Identity: owner,
		Properties: audit.Properties{Action: action, Method: "PUT", StatusCode: status, Caller: "app-a", Target: target, Changes: changes}}
}

// azFilter is the $filter az sends: UTC times without a zone or quotes.
func azFilter(since, until time.Time, extra string) string {
	const layout = "2006-01-02T15:04:05.000000"
	f := "eventTimestamp ge " + since.UTC().Format(layout) + " and eventTimestamp le " + until.UTC().Format(layout)
	if extra != "" {
		f += " and " + extra
	}
	return "&$filter=" + url.QueryEscape(f)
}

func TestActivityLog(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC()
	w.do(reader, "GET", eventsPath+azFilter(now.Add(-time.Hour), now, ""), "").expect(t, 200, "") // no audit files yet
	acc := accountPath("activityacct")
	writeActivity(t, w.auditDir,
		write(now.Add(-3*time.Hour), "Microsoft.ContainerRegistry/registries/write", regID, "Succeeded", 201, "c0"),
		write(now.Add(-30*time.Minute), "Microsoft.ContainerRegistry/registries/write", regID, "Succeeded", 200, "c1",
			audit.Change{Path: "properties.policies.exportPolicy.status", Before: "enabled", After: "disabled"},
			audit.Change{Path: "properties.zoneRedundancy", Before: nil, After: map[string]any{"a": 1}}),
		write(now.Add(-20*time.Minute), "Microsoft.Storage/storageAccounts/write", acc, "Succeeded", 200, "c2"),
		write(now.Add(-10*time.Minute), "Microsoft.ContainerRegistry/registries/write", regID, "Failed", 400, "c3"),
		write(now.Add(-5*time.Minute), "Microsoft.ContainerRegistry/registries/write",
			"/subscriptions/"+sub+"/resourceGroups/elsewhere/providers/Microsoft.ContainerRegistry/registries/other", "Succeeded", 200, "c4"),
	)
	var page struct {
		Value    []map[string]any `json:"value"`
		NextLink string           `json:"nextLink"`
	}
	get := func(who, query string) []map[string]any {
		t.Helper()
		r := w.do(who, "GET", eventsPath+query, "").expect(t, 200, "")
		page.Value, page.NextLink = nil, ""
		json.Unmarshal([]byte(r.raw), &page)
		// The SDK types properties as string to string.
		var typed struct {
			Value []struct {
				Properties map[string]string `json:"properties"`
			} `json:"value"`
		}
		if err := json.Unmarshal([]byte(r.raw), &typed); err != nil {
			t.Fatalf("properties are not all strings: %v\n%s", err, r.raw)
		}
		return page.Value
	}
	got := get(reader, azFilter(now.Add(-time.Hour), now, "resourceId eq '"+regID+"'"))
	if len(got) != 2 || got[0]["correlationId"] != "c3" || got[1]["correlationId"] != "c1" {
		t.Fatalf("registry events: %v", got)
	}
	failed, ok := got[0], got[1]
	if dig(failed, "status", "value") != "Failed" || failed["level"] != "Error" || dig(failed, "subStatus", "value") != "BadRequest" ||
		dig(ok, "status", "value") != "Succeeded" || ok["level"] != "Informational" || ok["caller"] != "app-a" ||
		dig(ok, "operationName", "value") != "Microsoft.ContainerRegistry/registries/write" || ok["resourceId"] != regID ||
		ok["resourceGroupName"] != group || dig(ok, "resourceType", "value") != "Microsoft.ContainerRegistry/registries" ||
		dig(ok, "resourceProviderName", "value") != "Microsoft.ContainerRegistry" || dig(ok, "category", "value") != "Administrative" ||
		ok["subscriptionId"] != sub || ok["tenantId"] != tenant || ok["channels"] != "Operation" ||
		dig(ok, "authorization", "scope") != regID || !strings.Contains(ok["id"].(string), regID+"/events/") {
		t.Fatalf("entries: %v", got)
	}
	props := ok["properties"].(map[string]any)
	if props["statusCode"] != "OK" || props["properties.policies.exportPolicy.status"] != "enabled -> disabled" ||
		props["properties.zoneRedundancy"] != `null -> {"a":1}` || !strings.Contains(props["changes"].(string), `"path":"properties.policies.exportPolicy.status"`) {
		t.Fatalf("properties: %v", props)
	}
	if again := get(reader, azFilter(now.Add(-time.Hour), now, "resourceId eq '"+strings.ToLower(regID)+"'")); again[1]["eventDataId"] != ok["eventDataId"] {
		t.Fatal("an entry's eventDataId changes between reads")
	}
	if got := get(reader, azFilter(now.Add(-time.Hour), now, "resourceGroupName eq '"+group+"'")); len(got) != 3 {
		t.Fatalf("group events: %d", len(got))
	}
	if got := get(reader, azFilter(now.Add(-time.Hour), now, "")); len(got) != 4 || got[0]["correlationId"] != "c4" {
		t.Fatalf("subscription events: %v", got)
	}
	if got := get(reader, azFilter(now.Add(-4*time.Hour), now, "correlationId eq 'c0'")); len(got) != 1 || dig(got[0], "properties", "statusCode") != "Created" {
		t.Fatalf("by correlation id: %v", got)
	}
	if got := get(reader, azFilter(now.Add(-4*time.Hour), now, "caller eq 'nobody-else'")); len(got) != 0 {
		t.Fatalf("by caller: %v", got)
	}
	if got := get(reader, "&$filter="+url.QueryEscape("eventTimestamp ge '"+now.Add(-time.Hour).Format(time.RFC3339)+"' and resourceProvider eq 'Microsoft.Storage'")); len(got) != 1 {
		t.Fatalf("quoted RFC 3339 time, by provider: %v", got)
	}
	// The action is checked where the filter points.
	w.do(nobody, "GET", eventsPath+azFilter(now.Add(-time.Hour), now, ""), "").expect(t, 403, "AuthorizationFailed")
	w.do(regAdmin, "GET", eventsPath+azFilter(now.Add(-time.Hour), now, ""), "").expect(t, 403, "AuthorizationFailed")
	if got := get(regAdmin, azFilter(now.Add(-time.Hour), now, "resourceId eq '"+regID+"'")); len(got) != 2 {
		t.Fatalf("a registry's contributor reads its events: %v", got)
	}
}

func TestActivityLogPages(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC().Truncate(time.Second)
	var recs []audit.Record
	for i := range 250 {
		// Threes of records share a timestamp, so pages split such threes.
		recs = append(recs, write(now.Add(-time.Duration(250-i/3*3)*time.Second), "Microsoft.ContainerRegistry/registries/write", regID, "Succeeded", 200, "c"+itoa(i)))
	}
	writeActivity(t, w.auditDir, recs...)
	seen := map[string]bool{}
	next := eventsPath + azFilter(now.Add(-time.Hour), now, "")
	pages := 0
	var last time.Time
	for next != "" {
		r := w.do(reader, "GET", next, "").expect(t, 200, "")
		var page struct {
			Value []struct {
				CorrelationID  string    `json:"correlationId"`
				EventTimestamp time.Time `json:"eventTimestamp"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		json.Unmarshal([]byte(r.raw), &page)
		for _, e := range page.Value {
			if seen[e.CorrelationID] {
				t.Fatalf("%s twice", e.CorrelationID)
			}
			if !last.IsZero() && e.EventTimestamp.After(last) {
				t.Fatal("not newest first")
			}
			seen[e.CorrelationID], last = true, e.EventTimestamp
		}
		next, pages = page.NextLink, pages+1
	}
	if len(seen) != 250 || pages != 3 {
		t.Fatalf("%d entries in %d pages", len(seen), pages)
	}
	w.do(reader, "GET", eventsPath+azFilter(now.Add(-time.Hour), now, "")+"&$skipToken=garbage", "").expect(t, 400, "BadRequest")
}

func TestActivityLogBadFilter(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC()
	for _, c := range []struct{ name, query, message string }{
		{"none", "", "expected clauses"},
		{"no start", "&$filter=" + url.QueryEscape("resourceId eq '"+regID+"'"), "must give the start"},
		{"bad time", "&$filter=" + url.QueryEscape("eventTimestamp ge yesterday"), "not in the form"},
		{"empty range", azFilter(now, now.Add(-time.Hour), ""), "range is empty"},
		{"unknown field", azFilter(now.Add(-time.Hour), now, "operationName eq 'x'"), "unknown field"},
		{"not eq", azFilter(now.Add(-time.Hour), now, "resourceId ne '"+regID+"'"), "only eq"},
		{"open quote", azFilter(now.Add(-time.Hour), now, "resourceId eq '"+regID), "quote is not closed"},
		{"dangling", azFilter(now.Add(-time.Hour), now, "resourceId eq"), "expected clauses"},
		{"other subscription", azFilter(now.Add(-time.Hour), now, "resourceId eq '/subscriptions/other/resourceGroups/g'"), "not a resource id in subscription"},
		{"not an id", azFilter(now.Add(-time.Hour), now, "resourceId eq 'registry'"), "not a resource id"},
		{"too long", "&$filter=" + strings.Repeat("x", 5000), "longer than 4 KiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := w.do(reader, "GET", eventsPath+c.query, "").expect(t, 400, "BadRequest")
			if !strings.Contains(got.message(), c.message) {
				t.Fatalf("message %q lacks %q", got.message(), c.message)
			}
		})
	}
	w.do(reader, "GET", "/subscriptions/"+sub+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2020-01-01", "").expect(t, 400, "NoRegisteredProviderFound")
}
