package deployments

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMoreFunctions(t *testing.T) {
	cases := map[string]any{
		"[coalesce(null(), 'x')]":                               "x",
		"[contains('Registry', 'gist')]":                        true,
		"[contains(parameters('list'), 'b')]":                   true,
		"[contains(parameters('obj'), 'KEY')]":                  true,
		"[createArray(1, 'a')]":                                 []any{float64(1), "a"},
		"[createObject('a', 1).a]":                              float64(1),
		"[json('{\"k\":[1,2]}').k[1]]":                          float64(2),
		"[int('42')]":                                           float64(42),
		"[bool('True')]":                                        true,
		"[array('x')]":                                          []any{"x"},
		"[union(createObject('a', 1), createObject('b', 2))]":   map[string]any{"a": float64(1), "b": float64(2)},
		"[union(createArray('a', 'b'), createArray('b', 'c'))]": []any{"a", "b", "c"},
		"[first(parameters('list'))]":                           "a",
		"[last('abc')]":                                         "c",
		"[take('abcdef', 3)]":                                   "abc",
		"[skip(parameters('list'), 1)]":                         []any{"b"},
		"[range(2, 3)]":                                         []any{float64(2), float64(3), float64(4)},
		"[greater(3, 2)]":                                       true,
		"[lessOrEquals('a', 'b')]":                              true,
		"[add(2, mul(3, 4))]":                                   float64(14),
		"[div(7, 2)]":                                           float64(3),
		"[mod(7, 2)]":                                           float64(1),
		"[min(3, 1, 2)]":                                        float64(1),
		"[max(createArray(3, 9, 2))]":                           float64(9),
		"[substring('registry', 2, 3)]":                         "gis",
		"[split('a,b;c', createArray(',', ';'))]":               []any{"a", "b", "c"},
		"[startsWith('Registry', 'reg')]":                       true,
		"[endsWith('Registry', 'TRY')]":                         true,
		"[indexOf('abcabc', 'C')]":                              float64(2),
		"[lastIndexOf('abcabc', 'c')]":                          float64(5),
		"[trim('  x ')]":                                        "x",
		"[padLeft(7, 3, '0')]":                                  "007",
		"[base64ToString(base64('hi'))]":                        "hi",
		"[uriComponent('a b/c')]":                               "a+b%2Fc",
		"[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'g')]": "/subscriptions/s1/providers/Microsoft.Resources/resourceGroups/g",
		"[tenant().tenantId]":                "t1",
		"[length(items(parameters('obj')))]": float64(1),
	}
	for in, want := range cases {
		got, err := testScope().evalString(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if g, _ := json.Marshal(got); string(g) != string(mustJSON(want)) {
			t.Errorf("%s = %s, want %s", in, g, mustJSON(want))
		}
	}
	g1, _ := testScope().evalString("[guid(resourceGroup().id, 'x')]")
	g2, _ := testScope().evalString("[guid(resourceGroup().id, 'x')]")
	g3, _ := testScope().evalString("[guid(resourceGroup().id, 'y')]")
	if s, _ := g1.(string); len(s) != 36 || g1 != g2 || g1 == g3 {
		t.Errorf("guid() must be a stable GUID per input: %v %v %v", g1, g2, g3)
	}
	for _, bad := range []string{"[div(1, 0)]", "[substring('abc', 2, 5)]", "[int('x')]", "[json('{')]", "[copyIndex()]",
		"[createObject('a')]", "[greater(1, 'a')]", "[range(0, 100000)]", "[union(createArray(1), createObject('a', 1))]",
		"[listCredentials('/x', '2023-07-01')]", "[reference('x', '1', 'Partial')]"} {
		if _, err := testScope().evalString(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
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
	sc := testScope()
	rs, _, err := plan(tmpl, map[string]any{}, sc)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range rs {
		ids = append(ids, p.id[strings.LastIndex(p.id, "providers/")+len("providers/"):])
	}
	want := "Microsoft.ContainerRegistry/registries/reg0 Microsoft.ContainerRegistry/registries/reg1 Microsoft.ContainerRegistry/registries/reg2 Microsoft.ContainerRegistry/registries/reg0/webhooks/hook"
	if strings.Join(ids, " ") != want {
		t.Fatalf("planned %v", ids)
	}
	body, err := rs[2].body(sc)
	if err != nil {
		t.Fatal(err)
	}
	got := string(mustJSON(body))
	if !strings.Contains(got, `"sku":{"name":"Basic"}`) || !strings.Contains(got, `"ipRules":[{"action":"Allow","value":"10.0.2.0"},{"action":"Allow","value":"10.0.2.1"},{"action":"Allow","value":"10.0.2.2"}]`) ||
		strings.Contains(got, "copy") {
		t.Fatalf("body of reg2: %s", got)
	}
	if b, _ := rs[0].body(sc); !strings.Contains(string(mustJSON(b)), `"sku":{"name":"Premium"}`) {
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
		sc := testScope()
		rs, _, err := plan(parseTemplate(t, c.template), map[string]any{}, sc)
		if err == nil {
			err = preflight(rs, sc)
		}
		var te *TemplateError
		if !errors.As(err, &te) || !strings.HasPrefix(te.Path, c.path) {
			t.Errorf("%s: got %v, want a path starting with %s", c.template, err, c.path)
		}
	}
	// reference() and list*() wait for the running deployment: preflight
	// lets them through.
	sc = testScope()
	rs, _, err = plan(parseTemplate(t, `{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x",
		"properties":{"a":"[reference('x').loginServer]","b":"[listCredentials(resourceId('A.B/c', 'x'), '1').username]"}}]}`), map[string]any{}, sc)
	if err != nil || preflight(rs, sc) != nil {
		t.Fatalf("deferred functions: %v %v", err, preflight(rs, sc))
	}
}
