package deployments

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func testScope() *scope {
	return &scope{sub: "s1", rg: "rg1", location: "westus", tenant: "t1", deployment: "d1",
		params:    map[string]any{"name": "Reg1", "n": float64(3), "flag": true, "list": []any{"a", "b"}, "obj": map[string]any{"Key": "v"}},
		variables: map[string]any{}, varExprs: map[string]any{"v1": "[concat(parameters('name'), '-x')]", "loop": "[variables('loop')]"},
		evaluating: map[string]bool{}}
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

func TestNormalizeJSONC(t *testing.T) {
	in := `{"properties": {"parameters": {}, "mode": "Incremental", template: {
  // comment with "quotes" and , commas
  "a": "http://x//y", /* block */
  "b": [1, 2,],
  "c": {"d": "e",},
}}}`
	var v map[string]any
	if err := json.Unmarshal(normalizeJSONC([]byte(in)), &v); err != nil {
		t.Fatalf("%v\n%s", err, normalizeJSONC([]byte(in)))
	}
	tmpl := v["properties"].(map[string]any)["template"].(map[string]any)
	if tmpl["a"] != "http://x//y" || len(tmpl["b"].([]any)) != 2 {
		t.Fatalf("got %v", tmpl)
	}
}

func TestPlanErrorsCarryPaths(t *testing.T) {
	tmpl := func(s string) Template {
		var t Template
		json.Unmarshal([]byte(s), &t)
		return t
	}
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
		_, _, err := plan(tmpl(c.template), map[string]any{}, testScope())
		var te *TemplateError
		if !errors.As(err, &te) || !strings.Contains(te.Path, c.path) {
			t.Errorf("%s: got %v, want a path containing %s", c.template, err, c.path)
		}
	}
	rs, _, err := plan(tmpl(`{"resources":[
		{"type":"A.B/c/d","apiVersion":"1","name":"x/child","dependsOn":["[resourceId('A.B/c', 'x')]"]},
		{"type":"A.B/c","apiVersion":"1","name":"x"}]}`), map[string]any{}, testScope())
	if err != nil || len(rs) != 2 || !strings.HasSuffix(rs[0].id, "/c/x") || !strings.HasSuffix(rs[1].id, "/c/x/d/child") {
		t.Fatalf("dependsOn order: %v %+v", err, rs)
	}
}
