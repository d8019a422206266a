package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPlanErrorsCarryPaths(t *testing.T) {
	cases := []struct{ template, path string }{
		{`{"resources":[{"type":"Microsoft.ContainerRegistry/registries","apiVersion":"2021-06-01-preview","name":"[parameters('x')]"}]}`, "resources[0]"},
		{`{"parameters":{"p":{"type":"string"}},"resources":[]}`, "parameters.p"},
		{`{"parameters":{"p":{"type":"int","defaultValue":"nope"}},"resources":[]}`, "parameters.p"},
		{`{"variables":{"v":"[nosuch()]"},"resources":[]}`, "variables.v"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","dependsOn":["nothere"]}]}`, "resources[0].dependsOn"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","dependsOn":["y"]},{"type":"A.B/c","apiVersion":"1","name":"y","dependsOn":["x"]}]}`, "dependsOn"},
		{`{"resources":[{"type":"A.B/c","name":"x"}]}`, "resources[0]"},
	}
	for _, c := range cases {
		_, err := plan(parseTemplate(t, c.template), map[string]any{}, testScope())
		var te *Error
		if !errors.As(err, &te) || !strings.Contains(te.Path, c.path) {
			t.Errorf("%s: got %v, want a path containing %s", c.template, err, c.path)
		}
	}
	pl, err := plan(parseTemplate(t, `{"resources":[
		{"type":"A.B/c/d","apiVersion":"1","name":"x/child","dependsOn":["[resourceId('A.B/c', 'x')]"]},
		{"type":"A.B/c","apiVersion":"1","name":"x"}]}`), map[string]any{}, testScope())
	if err != nil || len(pl.Resources) != 2 || !strings.HasSuffix(pl.Resources[0].ID, "/c/x") || !strings.HasSuffix(pl.Resources[1].ID, "/c/x/d/child") {
		t.Fatalf("dependsOn order: %v %+v", err, pl)
	}
}

func parseTemplate(t *testing.T, s string) Template {
	t.Helper()
	var tmpl Template
	if err := json.Unmarshal([]byte(s), &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// Resource copy loops, property copy loops and conditions expand as ARM
// expands them, and dependsOn on a loop name waits for every instance.
func TestCopyAndCondition(t *testing.T) {
	tmpl := parseTemplate(t, `{
	  "parameters": {"count": {"type": "int", "defaultValue": 3}, "withPipe": {"type": "bool", "defaultValue": false}},
	  "resources": [
	    {"type": "Microsoft.ContainerRegistry/registries/exportPipelines", "apiVersion": "2021-06-01-preview",
	     "name": "reg0/pipe", "condition": "[parameters('withPipe')]", "dependsOn": ["regs"]},
	    {"type": "Microsoft.ContainerRegistry/registries/webhooks", "apiVersion": "2023-07-01",
	     "name": "reg0/hook", "dependsOn": ["regs", "pipe"]},
	    {"type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01",
	     "name": "[concat('reg', copyIndex())]", "location": "westus",
	     "copy": {"name": "regs", "count": "[parameters('count')]"},
	     "sku": {"name": "[if(equals(copyIndex(), 0), 'Premium', 'Basic')]"},
	     "properties": {"networkRuleSet": {"defaultAction": "Deny",
	       "copy": [{"name": "ipRules", "count": "[add(copyIndex(), 1)]",
	                 "input": {"action": "Allow", "value": "[format('10.0.{0}.{1}', copyIndex(), copyIndex('ipRules'))]"}}]}}}
	  ]}`)
	pl, err := plan(tmpl, map[string]any{}, testScope())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pl.Resources {
		ids = append(ids, p.ID[strings.LastIndex(p.ID, "providers/")+len("providers/"):])
	}
	want := "Microsoft.ContainerRegistry/registries/reg0 Microsoft.ContainerRegistry/registries/reg1 Microsoft.ContainerRegistry/registries/reg2 Microsoft.ContainerRegistry/registries/reg0/webhooks/hook"
	if strings.Join(ids, " ") != want {
		t.Fatalf("planned %v", ids)
	}
	body, err := pl.Body(pl.Resources[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(mustJSON(body))
	if !strings.Contains(got, `"sku":{"name":"Basic"}`) || !strings.Contains(got, `"ipRules":[{"action":"Allow","value":"10.0.2.0"},{"action":"Allow","value":"10.0.2.1"},{"action":"Allow","value":"10.0.2.2"}]`) ||
		strings.Contains(got, "copy") {
		t.Fatalf("body of reg2: %s", got)
	}
	if b, _ := pl.Body(pl.Resources[0], nil); !strings.Contains(string(mustJSON(b)), `"sku":{"name":"Premium"}`) {
		t.Fatalf("body of reg0: %s", mustJSON(b))
	}

	for _, c := range []struct{ template, path string }{
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","copy":{"name":"l","count":801}}]}`, "resources[0].copy"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","copy":{"count":2}}]}`, "resources[0].copy"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","condition":"yes"}]}`, "resources[0].condition"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"[concat('x', copyIndex())]","copy":{"name":"l","count":2},"properties":{"p":"[nosuch()]"}}]}`, "resources[0][copy 0].properties"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","properties":{"copy":[{"name":"p","count":1}]}}]}`, "resources[0].properties"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"[reference('y').name]"}]}`, "resources[0].name"},
	} {
		pl, err := plan(parseTemplate(t, c.template), map[string]any{}, testScope())
		if err == nil {
			err = pl.Preflight()
		}
		var te *Error
		if !errors.As(err, &te) || !strings.HasPrefix(te.Path, c.path) {
			t.Errorf("%s: got %v, want a path starting with %s", c.template, err, c.path)
		}
	}
	// reference() and list*() wait for the running deployment: preflight
	// lets them through.
	pl, err = plan(parseTemplate(t, `{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x",
		"properties":{"a":"[reference('x').loginServer]","b":"[listCredentials(resourceId('A.B/c', 'x'), '1').username]"}}]}`), map[string]any{}, testScope())
	if err != nil || pl.Preflight() != nil {
		t.Fatalf("deferred functions: %v %v", err, pl.Preflight())
	}
}

// recorder is a Resolver that notes each call.
type recorder struct {
	fuzzResolver
	calls []string
}

func (r *recorder) Reference(id, apiVersion string, full bool) (any, error) {
	r.calls = append(r.calls, fmt.Sprintf("reference %s %q %v", id, apiVersion, full))
	return r.fuzzResolver.Reference(id, apiVersion, full)
}

func (r *recorder) List(action, id, apiVersion string, body any) (any, error) {
	r.calls = append(r.calls, fmt.Sprintf("%s %s %q %v", action, id, apiVersion, body))
	return r.fuzzResolver.List(action, id, apiVersion, body)
}

// Bodies and outputs reach the running deployment through the Resolver:
// reference() by declared name or by id, list*() in the template's casing.
func TestResolver(t *testing.T) {
	tmpl := parseTemplate(t, `{"resources":[
	    {"type":"A.B/c","apiVersion":"1","name":"r1"},
	    {"type":"A.B/c","apiVersion":"1","name":"r2","dependsOn":["r1"],"properties":{
	      "a":"[reference('R1').loginServer]",
	      "b":"[listCredentials(resourceId('A.B/c', 'r1'), '1').username]",
	      "c":"[reference(resourceId('A.B/c', 'r1'), '2', 'Full').id]"}}],
	  "outputs":{
	    "servers":{"type":"array","copy":{"count":2,"input":"[concat(reference('r1').loginServer, copyIndex())]"}},
	    "off":{"type":"string","condition":"[false()]","value":"x"}}}`)
	pl, err := tmpl.Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g", Location: "westus", TenantID: "t", Deployment: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.Preflight(); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	var te *Error
	if _, err := pl.Body(pl.Resources[1], nil); !errors.As(err, &te) || te.Path != "resources[1].properties" || !errors.Is(err, errDeferred) {
		t.Fatalf("a body without a resolver: %v", err)
	}
	rec := &recorder{}
	body, err := pl.Body(pl.Resources[1], rec)
	const id = "/subscriptions/s/resourceGroups/g/providers/A.B/c/r1"
	if err != nil || string(mustJSON(body)) != `{"properties":{"a":"x.cr.test","b":"u","c":"`+id+`"}}` {
		t.Fatalf("body: %s %v", mustJSON(body), err)
	}
	want := []string{`reference ` + id + ` "" false`, `listCredentials ` + id + ` "1" <nil>`, `reference ` + id + ` "2" true`}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
	v, ok, err := pl.Output("servers", rec)
	if err != nil || !ok || string(mustJSON(v)) != `["x.cr.test0","x.cr.test1"]` {
		t.Errorf("servers output: %s %v %v", mustJSON(v), ok, err)
	}
	if _, ok, err := pl.Output("off", rec); ok || err != nil {
		t.Errorf("an output whose condition is false: %v %v", ok, err)
	}
}

// An error names its path once, even when it passes through the place it
// happened again (a variable evaluated for an output).
func TestErrorPathOnce(t *testing.T) {
	tmpl := parseTemplate(t, `{"variables":{"a":"[variables('b')]","b":"[div(1, 0)]"}}`)
	_, err := tmpl.Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g"})
	if err == nil || strings.Count(err.Error(), "variables.a:") != 1 || strings.Count(err.Error(), "variables.b:") != 1 {
		t.Fatalf("want each variable named once: %v", err)
	}
}
