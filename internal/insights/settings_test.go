package insights_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func TestDiagnosticSettingsCRUD(t *testing.T) {
	w := newWorld(t)
	acc := w.createAccount("settingsacct")
	cats := w.do(reader, "GET", regID+"/providers/Microsoft.Insights/diagnosticSettingsCategories"+dv, "").expect(t, 200, "")
	v, _ := cats.body["value"].([]any)
	if len(v) != 3 || dig(v[0], "name") != "ContainerRegistryRepositoryEvents" || dig(v[0], "properties", "categoryType") != "Logs" ||
		dig(v[1], "name") != "ContainerRegistryLoginEvents" || dig(v[2], "name") != "AllMetrics" || dig(v[2], "properties", "categoryType") != "Metrics" {
		t.Fatalf("categories: %s", cats.raw)
	}
	if g, _ := dig(v[0], "properties", "categoryGroups").([]any); len(g) != 2 || g[0] != "allLogs" || g[1] != "audit" {
		t.Fatalf("category groups: %v", g)
	}
	w.do(reader, "GET", regID+"/providers/Microsoft.Insights/diagnosticSettingsCategories/containerregistryloginevents"+dv, "").expect(t, 200, "")
	w.do(reader, "GET", regID+"/providers/Microsoft.Insights/diagnosticSettingsCategories/Nope"+dv, "").expect(t, 404, "ResourceNotFound")

	got := w.do(owner, "PUT", settings+"/s1"+dv, `{"properties":{"storageAccountId":"`+strings.ToUpper(acc)+`",
		"logs":[{"category":"containerregistryrepositoryevents","enabled":true},{"categoryGroup":"AUDIT","enabled":false}],
		"metrics":[{"category":"allmetrics","enabled":false}]}}`).expect(t, 200, "")
	if got.body["id"] != settings+"/s1" || got.body["name"] != "s1" || got.body["type"] != "Microsoft.Insights/diagnosticSettings" ||
		dig(got.body, "properties", "logs") == nil || dig(got.body, "properties", "metrics") == nil {
		t.Fatalf("create: %s", got.raw)
	}
	logs := dig(got.body, "properties", "logs").([]any)
	if dig(logs[0], "category") != "ContainerRegistryRepositoryEvents" || dig(logs[1], "categoryGroup") != "audit" ||
		dig(logs[0], "retentionPolicy", "enabled") != false || dig(got.body, "properties", "metrics").([]any)[0].(map[string]any)["category"] != "AllMetrics" {
		t.Fatalf("canonical names: %s", got.raw)
	}
	w.do(reader, "GET", settings+"/s1"+dv, "").expect(t, 200, "")
	w.do(owner, "GET", settings+"/S1?api-version=2017-05-01-preview", "").expect(t, 200, "")
	list := w.do(reader, "GET", settings+dv, "").expect(t, 200, "")
	if v, _ := list.body["value"].([]any); len(v) != 1 || dig(v[0], "name") != "s1" {
		t.Fatalf("list: %s", list.raw)
	}
	// A replace answers 200 too (az accepts nothing else).
	w.createSetting("s1", acc)
	w.do(nobody, "GET", settings+"/s1"+dv, "").expect(t, 403, "AuthorizationFailed")
	w.do(reader, "DELETE", settings+"/s1"+dv, "").expect(t, 403, "AuthorizationFailed")
	w.do(owner, "DELETE", settings+"/s1"+dv, "").expect(t, 200, "")
	w.do(owner, "DELETE", settings+"/s1"+dv, "").expect(t, 204, "")
	w.do(owner, "GET", settings+"/s1"+dv, "").expect(t, 404, "ResourceNotFound")
	var statuses []int
	for _, e := range w.writeEvents() {
		statuses = append(statuses, e.Status)
	}
	if fmt.Sprint(statuses) != "[200 200 200 403 200 204]" {
		t.Fatalf("the write hook saw %v", statuses)
	}

	// A setting outlives its registry, as on Azure, and can be deleted.
	w.createSetting("orphan", acc)
	err := w.store.Update(context.Background(), func(tx meta.Tx) error { return tx.DeleteRegistry("k1") })
	if err != nil {
		t.Fatal(err)
	}
	w.do(owner, "GET", settings+"/orphan"+dv, "").expect(t, 404, "ResourceNotFound")
	w.do(owner, "DELETE", settings+"/orphan"+dv, "").expect(t, 200, "")
	w.do(owner, "DELETE", settings+"/orphan"+dv, "").expect(t, 404, "ResourceNotFound")
}

func TestDiagnosticSettingsBadInput(t *testing.T) {
	w := newWorld(t)
	acc := w.createAccount("badsetacct")
	body := func(props string) string { return `{"properties":{` + props + `}}` }
	logs := `"logs":[{"categoryGroup":"allLogs","enabled":true}]`
	dest := `"storageAccountId":"` + acc + `",`
	for _, c := range []struct {
		name, path, who, body string
		status                int
		code, message         string
	}{
		{"no registry", rgPath + "/providers/Microsoft.ContainerRegistry/registries/nosuchreg/providers/Microsoft.Insights/diagnosticSettings/s", owner,
			body(dest + logs), 404, "ResourceNotFound", "registries/nosuchreg"},
		{"no group", "/subscriptions/" + sub + "/resourceGroups/nogroup/providers/Microsoft.ContainerRegistry/registries/auditreg/providers/Microsoft.Insights/diagnosticSettings/s",
			owner, body(dest + logs), 404, "ResourceGroupNotFound", ""},
		{"no properties", settings + "/s", owner, `{}`, 400, "BadRequest", "'properties'"},
		{"not JSON", settings + "/s", owner, `{"properties":`, 400, "InvalidRequestContent", ""},
		{"bad name", settings + "/bad:name", owner, body(dest + logs), 400, "BadRequest", "name"},
		{"unknown category", settings + "/s", owner, body(dest + `"logs":[{"category":"AuditEvent","enabled":true}]`), 400, "BadRequest", "'AuditEvent' is not supported"},
		{"unknown group", settings + "/s", owner, body(dest + `"logs":[{"categoryGroup":"everything","enabled":true}]`), 400, "BadRequest", "'everything'"},
		{"category and group", settings + "/s", owner, body(dest + `"logs":[{"category":"ContainerRegistryLoginEvents","categoryGroup":"audit","enabled":true}]`), 400, "BadRequest", "not both"},
		{"neither", settings + "/s", owner, body(dest + `"logs":[{"enabled":true}]`), 400, "BadRequest", "logs[0]"},
		{"enabled missing", settings + "/s", owner, body(dest + `"logs":[{"categoryGroup":"audit"}]`), 400, "BadRequest", "enabled is required"},
		{"duplicate", settings + "/s", owner, body(dest + `"logs":[{"categoryGroup":"audit","enabled":true},{"categoryGroup":"Audit","enabled":false}]`), 400, "BadRequest", "more than once"},
		{"unknown metric", settings + "/s", owner, body(dest + `"metrics":[{"category":"Pulls","enabled":true}]`), 400, "BadRequest", "'Pulls'"},
		{"no categories", settings + "/s", owner, body(dest[:len(dest)-1]), 400, "BadRequest", "at least one"},
		{"no destination", settings + "/s", owner, body(logs), 400, "BadRequest", "storageAccountId"},
		{"workspace", settings + "/s", owner, body(`"workspaceId":"/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z",` + logs), 400, "BadRequest", "workspaceId is not supported"},
		{"event hub", settings + "/s", owner, body(dest + `"eventHubAuthorizationRuleId":"/subscriptions/x/y",` + logs), 400, "BadRequest", "eventHubAuthorizationRuleId"},
		{"not an account id", settings + "/s", owner, body(`"storageAccountId":"/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/z",` + logs), 400, "LinkedInvalidPropertyId", ""},
		{"garbage account id", settings + "/s", owner, body(`"storageAccountId":"acct",` + logs), 400, "LinkedInvalidPropertyId", ""},
		{"missing account", settings + "/s", owner, body(`"storageAccountId":"` + accountPath("nosuchacct") + `",` + logs), 400, "BadRequest", "does not exist"},
		{"reader", settings + "/s", reader, body(dest + logs), 403, "AuthorizationFailed", ""},
		{"no linked access", settings + "/s", regAdmin, body(dest + logs), 403, "LinkedAuthorizationFailed", "listKeys"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := w.do(c.who, "PUT", c.path+dv, c.body).expect(t, c.status, c.code)
			if !strings.Contains(got.message(), c.message) {
				t.Fatalf("message %q lacks %q", got.message(), c.message)
			}
		})
	}
	w.do(owner, "GET", settings+"?api-version=2020-01-01", "").expect(t, 400, "NoRegisteredProviderFound")
	w.do(owner, "GET", rgPath+"/providers/Microsoft.ContainerRegistry/registries/nosuchreg/providers/Microsoft.Insights/diagnosticSettings"+dv, "").expect(t, 404, "ResourceNotFound")
	w.do(owner, "GET", rgPath+"/providers/Microsoft.ContainerRegistry/registries/nosuchreg/providers/Microsoft.Insights/diagnosticSettingsCategories"+dv, "").expect(t, 404, "ResourceNotFound")
	w.do(owner, "DELETE", rgPath+"/providers/Microsoft.ContainerRegistry/registries/nosuchreg/providers/Microsoft.Insights/diagnosticSettings/s"+dv, "").expect(t, 404, "ResourceNotFound")

	// One destination per category, five settings per resource.
	w.createSetting("first", acc)
	got := w.do(owner, "PUT", settings+"/second"+dv, body(dest+`"logs":[{"category":"ContainerRegistryLoginEvents","enabled":true}]`)).expect(t, 400, "BadRequest")
	if !strings.Contains(got.message(), "already used in diagnostic setting 'first' for category 'ContainerRegistryLoginEvents'") {
		t.Fatalf("sink reuse: %s", got.message())
	}
	// A category the other setting leaves off may go to the same account.
	w.do(owner, "PUT", settings+"/first"+dv, body(dest+`"logs":[{"category":"ContainerRegistryRepositoryEvents","enabled":true}]`)).expect(t, 200, "")
	w.do(owner, "PUT", settings+"/second"+dv, body(dest+`"logs":[{"category":"ContainerRegistryLoginEvents","enabled":true}]`)).expect(t, 200, "")
	for _, n := range []string{"third", "fourth", "fifth"} {
		w.createSetting(n, w.createAccount(n+"acct"))
	}
	got = w.do(owner, "PUT", settings+"/sixth"+dv, body(`"storageAccountId":"`+w.createAccount("sixthacct")+`",`+logs)).expect(t, 400, "BadRequest")
	if !strings.Contains(got.message(), "maximum of 5") {
		t.Fatalf("sixth setting: %s", got.message())
	}
	// Changing one of the five is still allowed.
	w.do(owner, "PUT", settings+"/fifth"+dv, body(`"storageAccountId":"`+accountPath("sixthacct")+`",`+logs)).expect(t, 200, "")
}
