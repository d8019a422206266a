package template

import (
	"encoding/json"
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
		"[listCredentials('/x', '2023-07-01')]", "[reference('x', '1', 'Partial')]",
		"[substring('abc', 4611686018427387904, 4611686018427387904)]"} {
		if _, err := testScope().evalString(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
