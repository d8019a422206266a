package template

import (
	"encoding/json"
	"testing"
)

func testScope() *scope {
	s := newScope(Env{SubscriptionID: "s1", ResourceGroup: "rg1", Location: "westus", TenantID: "t1", Deployment: "d1"})
	s.params = map[string]any{"name": "Reg1", "n": float64(3), "flag": true, "list": []any{"a", "b"}, "obj": map[string]any{"Key": "v"}}
	s.varExprs = map[string]any{"v1": "[concat(parameters('name'), '-x')]", "loop": "[variables('loop')]"}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestExpressions(t *testing.T) {
	cases := map[string]any{
		"plain":                         "plain",
		"[[literal]":                    "[literal]",
		"[parameters('name')]":          "Reg1",
		"[toLower(parameters('NAME'))]": "reg1",
		"[concat('a', 'b', string(parameters('n')))]":                  "ab3",
		"[format('{0}/{1}', 'reg', 'pipe')]":                           "reg/pipe",
		"[variables('v1')]":                                            "Reg1-x",
		"[resourceGroup().location]":                                   "westus",
		"[resourceGroup().id]":                                         "/subscriptions/s1/resourceGroups/rg1",
		"[subscription().subscriptionId]":                              "s1",
		"[if(equals(parameters('n'), 3), 'yes', 'no')]":                "yes",
		"[if(not(parameters('flag')), 'yes', 'no')]":                   "no",
		"[and(true(), or(false(), parameters('flag')))]":               true,
		"[parameters('list')[1]]":                                      "b",
		"[parameters('obj').key]":                                      "v",
		"[length(parameters('list'))]":                                 float64(2),
		"[empty('')]":                                                  true,
		"[replace('a-b-c', '-', '')]":                                  "abc",
		"['it''s']":                                                    "it's",
		"[resourceId('Microsoft.ContainerRegistry/registries', 'r1')]": "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/r1",
		"[resourceId('other', 'Microsoft.ContainerRegistry/registries/exportPipelines', 'r1', 'p1')]": "/subscriptions/s1/resourceGroups/other/providers/Microsoft.ContainerRegistry/registries/r1/exportPipelines/p1",
	}
	for in, want := range cases {
		got, err := testScope().evalString(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if g, _ := json.Marshal(got); string(g) != string(mustJSON(want)) {
			t.Errorf("%s = %s, want %v", in, g, want)
		}
	}
	u1, _ := testScope().evalString("[uniqueString(resourceGroup().id)]")
	u2, _ := testScope().evalString("[uniqueString(resourceGroup().id)]")
	if s, _ := u1.(string); len(s) != 13 || u1 != u2 {
		t.Errorf("uniqueString must be 13 stable characters: %v %v", u1, u2)
	}
	for _, bad := range []string{"[nosuch()]", "[parameters('missing')]", "[variables('loop')]", "[concat('a']", "[parameters('obj').nope]",
		"[parameters('list')[9]]", "[resourceId('r1')]", "[if(1, 2, 3)]", "[reference('x')]", "['unterminated]"} {
		if _, err := testScope().evalString(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

// Error texts reach ARM callers in InvalidTemplate messages: they stay
// as they were when the functions were one switch.
func TestErrorTexts(t *testing.T) {
	cases := map[string]string{
		"[nosuch()]":                  "the template function 'nosuch' is not supported",
		"[toLower()]":                 "tolower() needs at least 1 arguments",
		"[toLower(1)]":                "tolower() argument 1 must be a string, got float64",
		"[parameters('missing')]":     "the template parameter 'missing' is not found",
		"[string(1, 2)]":              "string() takes 1 arguments, got 2",
		"[contains('a')]":             "contains() takes 2 to 2 arguments, got 1",
		"[substring(1, 0)]":           "substring() argument 1 must be a string, got int",
		"[listKeys('/x', '1')]":       "listKeys('/x') cannot be used here: it is evaluated when the deployment runs",
		"[ListKeys('/x')]":            "ListKeys() takes 2 to 3 arguments, got 1",
		"[div(1, 0)]":                 "div() by zero",
		"[max('a', 1)]":               "max() needs integers",
		"[less(1, 'a')]":              "less(): cannot compare int with string",
		"[copyIndex('x')]":            "copyIndex('x') names no enclosing copy loop",
		"[length(true())]":            "length() of bool",
		"[createObject('a')]":         "createObject() takes key and value pairs, got 1 arguments",
		"[first(1)]":                  "first() of int",
		"[take(1, 1)]":                "take() of int",
		"[resourceId(1)]":             "resourceId() arguments must be strings",
		"[tenantResourceId('x')]":     "tenantresourceid() needs a resource type",
		"[subscriptionResourceId()]":  "subscriptionresourceid() needs a resource type",
		"[variables('loop')]":         "variables.loop: expression \"[variables('loop')]\": the template variable 'loop' refers to itself",
		"[reference('x', '1', 'no')]": "reference() third argument must be 'Full'",
	}
	for in, want := range cases {
		_, err := testScope().evalString(in)
		if got := ""; err != nil {
			got = err.Error()
			if wantFull := "expression " + string(mustJSON(in)) + ": " + want; got != wantFull {
				t.Errorf("%s:\n got %s\nwant %s", in, got, wantFull)
			}
		} else {
			t.Errorf("%s: want an error", in)
		}
	}
}

// Every function is in the table under its lower-cased name.
func TestFunctionTable(t *testing.T) {
	fns := builtins()
	if len(fns) < 69 {
		t.Errorf("only %d functions", len(fns))
	}
	for name := range fns {
		for _, c := range name {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				t.Errorf("%q: function names are lower-case", name)
			}
		}
	}
	for _, name := range []string{"toUpper", "TOUPPER", "toupper"} {
		if v, err := testScope().evalString("[" + name + "('a')]"); err != nil || v != "A" {
			t.Errorf("%s: %v %v", name, v, err)
		}
	}
}

func TestNormalizeJSONC(t *testing.T) {
	in := `{"properties": {"parameters": {}, "mode": "Incremental", template: {
  // comment with "quotes" and , commas
  "a": "http://x//y", /* block */
  "b": [1, 2,],
  "c": {"d": "e",},
}}}`
	var v map[string]any
	if err := json.Unmarshal(NormalizeJSONC([]byte(in)), &v); err != nil {
		t.Fatalf("%v\n%s", err, NormalizeJSONC([]byte(in)))
	}
	tmpl := v["properties"].(map[string]any)["template"].(map[string]any)
	if tmpl["a"] != "http://x//y" || len(tmpl["b"].([]any)) != 2 {
		t.Fatalf("got %v", tmpl)
	}
}
