package acr_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

// change finds the property change at path in a what-if answer.
func change(r resp, path string) (before, after any, ok bool) {
	cs, _ := dig(r.body, "changes").([]any)
	for _, c := range cs {
		if dig(c, "path") == path {
			return dig(c, "before"), dig(c, "after"), true
		}
	}
	return nil, nil, false
}

// cutOffRows lists a what-if's cut-off rows as
// "identity/channel/reason/bytes/artifacts/lastDay".
func cutOffRows(r resp) string {
	var out []string
	rows, _ := dig(r.body, "impacts", "cutOff").([]any)
	for _, c := range rows {
		m := c.(map[string]any)
		n := func(k string) string { f, _ := m[k].(float64); return strconv.FormatInt(int64(f), 10) }
		out = append(out, strings.Join([]string{m["identity"].(string), m["channel"].(string), m["reason"].(string), n("bytes"), n("artifacts"), m["lastDay"].(string)}, "/"))
	}
	return strings.Join(out, " ")
}

// predicted checks a what-if's prediction: status, httpStatus and, for a
// refusal, the code.
func predicted(t *testing.T, r resp, status string, httpStatus int, code string) {
	t.Helper()
	if dig(r.body, "result", "status") != status || dig(r.body, "result", "httpStatus") != float64(httpStatus) ||
		code != "" && dig(r.body, "result", "error", "code") != code || code == "" && dig(r.body, "result", "error") != nil {
		t.Fatalf("want %s %d %s: %s", status, httpStatus, code, r.raw)
	}
}

// A what-if of disabling exports (and public access) on a registry with an
// export pipeline predicts the PATCH's own refusal, names the pipeline
// and the identities that imported, exported and pulled publicly in the
// look-back, and writes nothing. Once the pipeline is gone it predicts
// success, and the PATCH agrees both times.
func TestWhatIfDisableExports(t *testing.T) {
	w := egressWorld(t)
	w.mkGroup(sub, "rg1")
	reg := regPath(sub, "rg1", "lockreg1")
	w.do("PUT", reg+regVersion, `{"location":"westus","sku":{"name":"Premium"}}`).expect(t, http.StatusCreated, "")
	w.do("PUT", reg+"/exportPipelines/exp1a"+runVersion, `{"location":"westus","properties":{"target":{"uri":"file:///tmp"}}}`).expect(t, http.StatusCreated, "")
	w.seedEgress("lockreg1",
		count("2026-03-09", audit.EgressImportSource, "importer1", 5000, 3, 3),
		count("2026-03-01", audit.EgressImportSource, "importer1", 1000, 1, 1),
		count("2026-03-02", audit.EgressPipelineRun, "runner1", 800, 2, 1),
		count("2026-03-10", audit.EgressPullPublic, "puller1", 300, 1, 1),
		count("2026-03-10", audit.EgressPullPrivate, "insider1", 9000, 9, 9), // private pulls go on
		count("2026-03-10", audit.EgressRefused, "mallory", 0, 0, 4),
		count("2026-01-01", audit.EgressImportSource, "oldtimer", 1, 1, 1), // before the look-back
	)
	rowBefore, err := w.registryRow("lockreg1")
	if err != nil {
		t.Fatal(err)
	}
	getBefore := w.do("GET", reg+regVersion, "").expect(t, http.StatusOK, "")
	disable := `{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`

	r := w.do("POST", reg+"/whatIf"+regVersion, strings.Replace(disable, "{", `{"days":30,`, 1)).expect(t, http.StatusOK, "")
	predicted(t, r, "Refused", http.StatusBadRequest, "BadRequest")
	msg, _ := dig(r.body, "result", "error", "message").(string)
	if !strings.Contains(msg, "export pipeline") {
		t.Errorf("message: %s", msg)
	}
	pipes, _ := dig(r.body, "impacts", "blockingPipelines").([]any)
	if len(pipes) != 1 || dig(pipes[0], "name") != "exp1a" || dig(pipes[0], "id") != reg+"/exportPipelines/exp1a" {
		t.Errorf("blockingPipelines: %v", pipes)
	}
	want := "importer1/importSource/exportsDisabled/6000/4/2026-03-09 runner1/pipelineRun/exportsDisabled/800/2/2026-03-02 " +
		"puller1/pullPublic/publicNetworkAccessDisabled/300/1/2026-03-10"
	if got := cutOffRows(r); got != want {
		t.Errorf("cutOff:\n got %s\nwant %s", got, want)
	}
	if b, a, ok := change(r, "properties.publicNetworkAccess"); !ok || b != "Enabled" || a != "Disabled" {
		t.Errorf("publicNetworkAccess change: %v %v %v", b, a, ok)
	}
	if b, a, ok := change(r, "properties.policies.exportPolicy.status"); !ok || b != "enabled" || a != "disabled" {
		t.Errorf("exportPolicy change: %v %v %v", b, a, ok)
	}
	if _, _, ok := change(r, "systemData.lastModifiedAt"); ok {
		t.Error("systemData is listed as a change")
	}
	if dig(r.body, "days") != float64(30) || dig(r.body, "since") != "2026-02-09T00:00:00Z" || dig(r.body, "id") != reg {
		t.Errorf("header: %s", r.raw)
	}

	// Nothing was written.
	rowAfter, err := w.registryRow("lockreg1")
	if err != nil {
		t.Fatal(err)
	}
	if string(rowAfter.Document) != string(rowBefore.Document) || !rowAfter.UpdatedAt.Equal(rowBefore.UpdatedAt) || rowAfter.Facts.ExportsDisabled {
		t.Errorf("the what-if wrote the registry:\n%s\n%s", rowBefore.Document, rowAfter.Document)
	}
	if g := w.do("GET", reg+regVersion, "").expect(t, http.StatusOK, ""); g.raw != getBefore.raw {
		t.Errorf("GET changed:\n%s\n%s", getBefore.raw, g.raw)
	}

	// The PATCH agrees: the same code and message.
	p := w.do("PATCH", reg+regVersion, disable).expect(t, http.StatusBadRequest, "BadRequest")
	if p.message() != msg {
		t.Errorf("PATCH says %q, the what-if said %q", p.message(), msg)
	}

	// A longer look-back reaches older traffic.
	r = w.do("POST", reg+"/whatIf"+regVersion, strings.Replace(disable, "{", `{"days":90,`, 1)).expect(t, http.StatusOK, "")
	if got := cutOffRows(r); !strings.Contains(got, "oldtimer/importSource/exportsDisabled/1/1/2026-01-01") {
		t.Errorf("days=90: %s", got)
	}

	// Without the pipeline: success predicted, and the PATCH succeeds.
	w.do("DELETE", reg+"/exportPipelines/exp1a"+runVersion, "").expect(t, http.StatusOK, "")
	r = w.do("POST", reg+"/whatIf"+regVersion, disable).expect(t, http.StatusOK, "")
	predicted(t, r, "Succeeded", http.StatusOK, "")
	if pipes, _ := dig(r.body, "impacts", "blockingPipelines").([]any); pipes == nil || len(pipes) != 0 {
		t.Errorf("blockingPipelines: %s", r.raw)
	}
	if dig(r.body, "days") != float64(30) {
		t.Errorf("default days: %v", dig(r.body, "days"))
	}
	w.do("PATCH", reg+regVersion, disable).expect(t, http.StatusOK, "")

	// Now locked: opening public access alone is refused, as the PATCH is.
	open := `{"properties":{"publicNetworkAccess":"Enabled"}}`
	r = w.do("POST", reg+"/whatIf"+regVersion, open).expect(t, http.StatusOK, "")
	predicted(t, r, "Refused", http.StatusBadRequest, "BadRequest")
	msg, _ = dig(r.body, "result", "error", "message").(string)
	if !strings.Contains(msg, "Enabling public network access is not supported") {
		t.Errorf("message: %s", msg)
	}
	if b, a, ok := change(r, "properties.publicNetworkAccess"); !ok || b != "Disabled" || a != "Enabled" {
		t.Errorf("publicNetworkAccess change: %v %v %v", b, a, ok)
	}
	if p := w.do("PATCH", reg+regVersion, open).expect(t, http.StatusBadRequest, "BadRequest"); p.message() != msg {
		t.Errorf("PATCH says %q, the what-if said %q", p.message(), msg)
	}
	// A change that says nothing changes nothing.
	r = w.do("POST", reg+"/whatIf"+regVersion, `{}`).expect(t, http.StatusOK, "")
	predicted(t, r, "Succeeded", http.StatusOK, "")
	if cs, _ := dig(r.body, "changes").([]any); cs == nil || len(cs) != 0 {
		t.Errorf("changes of {}: %s", r.raw)
	}
}

// networkRuleSet.defaultAction Deny cuts off public pulls (those inside
// ipRules may go on, which the totals cannot tell); a Reader gets the
// prediction but not the identities.
func TestWhatIfDefaultDenyAndAccess(t *testing.T) {
	w := egressWorld(t)
	w.mkGroup(sub, "rg1")
	reg := regPath(sub, "rg1", "denyreg1")
	w.do("PUT", reg+regVersion, `{"location":"westus","sku":{"name":"Premium"}}`).expect(t, http.StatusCreated, "")
	w.seedEgress("denyreg1", count("2026-03-10", audit.EgressPullPublic, "", 42, 1, 1), count("2026-03-10", audit.EgressImportSource, "importer1", 5, 1, 1))
	deny := `{"properties":{"networkRuleSet":{"defaultAction":"Deny"}}}`
	r := w.do("POST", reg+"/whatIf"+regVersion, deny).expect(t, http.StatusOK, "")
	predicted(t, r, "Succeeded", http.StatusOK, "")
	if got := cutOffRows(r); got != "/pullPublic/networkRuleSetDefaultActionDeny/42/1/2026-03-10" {
		t.Errorf("cutOff: %s", got)
	}
	r = w.do("POST", reg+"/whatIf"+regVersion, deny, callerHeader, reader).expect(t, http.StatusOK, "")
	predicted(t, r, "Succeeded", http.StatusOK, "")
	if got := cutOffRows(r); got != "" || !strings.Contains(dig(r.body, "impacts", "cutOffWithheld").(string), "egressReport/action") {
		t.Errorf("a Reader sees: %s", r.raw)
	}
	w.do("POST", reg+"/whatIf"+regVersion, deny, callerHeader, nobody).expect(t, http.StatusForbidden, "AuthorizationFailed")
	// A change that cuts nothing off lists nobody.
	r = w.do("POST", reg+"/whatIf"+regVersion, `{"properties":{"adminUserEnabled":true}}`).expect(t, http.StatusOK, "")
	if b, a, ok := change(r, "properties.adminUserEnabled"); !ok || b != false || a != true || cutOffRows(r) != "" {
		t.Errorf("admin user: %s", r.raw)
	}
	// A Basic registry cannot disable public access: the SKU refusal.
	w.mkRegistry(sub, "rg1", "basicreg1")
	r = w.do("POST", regPath(sub, "rg1", "basicreg1")+"/whatIf"+regVersion, `{"properties":{"publicNetworkAccess":"Disabled"}}`).expect(t, http.StatusOK, "")
	predicted(t, r, "Refused", http.StatusBadRequest, "DisablingPublicNetworkAccessNotSupported")
}

// A what-if's own bad input is a 400; a change the PATCH would refuse as
// bad input is a prediction of that refusal.
func TestWhatIfBadInput(t *testing.T) {
	w := egressWorld(t)
	w.mkGroup(sub, "rg1")
	w.mkRegistry(sub, "rg1", "whatreg1")
	path := regPath(sub, "rg1", "whatreg1") + "/whatIf" + regVersion
	for _, c := range []struct{ name, body, code, inMessage string }{
		{"empty", ``, "InvalidRequestContent", "empty"},
		{"garbage", `{"properties":`, "InvalidRequestContent", ""},
		{"an array", `[]`, "InvalidRequestContent", ""},
		{"days zero", `{"days":0}`, "InvalidParameters", "1 to 400"},
		{"days too many", `{"days":10000}`, "InvalidParameters", "1 to 400"},
		{"days fractional", `{"days":2.5}`, "InvalidParameters", "whole number"},
		{"days a string", `{"days":"30"}`, "InvalidParameters", "whole number"},
		{"days null", `{"days":null}`, "InvalidParameters", "whole number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.do("POST", path, c.body).expect(t, http.StatusBadRequest, c.code)
			if !strings.Contains(r.message(), c.inMessage) {
				t.Errorf("message %q lacks %q", r.message(), c.inMessage)
			}
		})
	}
	w.do("POST", regPath(sub, "rg1", "nosuchreg1")+"/whatIf"+regVersion, `{}`).expect(t, http.StatusNotFound, "ResourceNotFound")
	for _, c := range []struct{ name, body, code string }{
		{"not updatable", `{"location":"eastus"}`, "InvalidRequestContent"},
		{"read-only property", `{"properties":{"loginServer":"x"}}`, "InvalidRequestContent"},
		{"bad enum", `{"properties":{"publicNetworkAccess":"Sometimes"}}`, "InvalidRequestContent"},
		{"classic sku", `{"sku":{"name":"Classic"}}`, "SkuNotSupported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.do("POST", path, c.body).expect(t, http.StatusOK, "")
			predicted(t, r, "Refused", http.StatusBadRequest, c.code)
			p := w.do("PATCH", regPath(sub, "rg1", "whatreg1")+regVersion, c.body).expect(t, http.StatusBadRequest, c.code)
			if p.message() != dig(r.body, "result", "error", "message") {
				t.Errorf("PATCH says %q, the what-if said %v", p.message(), dig(r.body, "result", "error", "message"))
			}
		})
	}
}
