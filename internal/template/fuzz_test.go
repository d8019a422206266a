package template

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// fuzzResolver answers reference() and list*() as a deployment would,
// without one.
type fuzzResolver struct{}

func (fuzzResolver) Reference(id, apiVersion string, full bool) (any, error) {
	if strings.Contains(id, "missing") {
		return nil, fmt.Errorf("reference('%s'): not found", id)
	}
	doc := map[string]any{"id": id, "properties": map[string]any{"loginServer": "x.cr.test", "apiVersion": apiVersion}}
	if full {
		return doc, nil
	}
	return doc["properties"], nil
}

func (fuzzResolver) List(action, id, apiVersion string, body any) (any, error) {
	return map[string]any{"username": "u", "passwords": []any{map[string]any{"value": "p"}}, "body": body}, nil
}

func fuzzScope() *scope {
	s := testScope()
	s.varExprs = map[string]any{
		"v1": "[concat(parameters('name'), '-x')]", "loop": "[variables('loop')]",
		"big": "[string(range(0, 10000))]", "obj": map[string]any{"a": []any{"[variables('v1')]", float64(1)}},
		"chain": "[variables('v1')]", "deferred": "[reference('r1').loginServer]",
	}
	s.loops = map[string]int{"": 1, "regs": 2}
	s.declared = map[string]string{"r1": "/subscriptions/s1/resourceGroups/rg1/providers/A.B/c/r1"}
	s.resolver = fuzzResolver{}
	return s
}

// FuzzExpression parses and evaluates arbitrary expressions: no input may
// panic, and whatever evaluates is a JSON value within maxValue.
func FuzzExpression(f *testing.F) {
	for _, seed := range []string{
		"parameters('name')", "concat('a', 'b', string(parameters('n')))", "format('{0}/{1}', 'reg', 'pipe')",
		"parameters('list')[1]", "parameters('obj').key", "createObject('a', createArray(1, 2)).a[1]",
		"json('{\"k\":[1,2]}').k[1]", "variables('obj').a[0]", "variables('big')", "variables('loop')",
		"replace(variables('big'), '', variables('big'))", "substring('abc', 4611686018427387904, 4611686018427387904)",
		"take('abc', -9223372036854775808)", "range(9223372036854775807, 3)", "div(-9223372036854775808, -1)",
		"padLeft(createObject('a', 1), 20, '0')", "split(variables('big'), createArray(',', '1', ''))",
		"union(createArray(1, 1), createArray(createObject('a', 1)))", "items(createObject('b', 1, 'a', 2))",
		"reference('r1').loginServer", "reference('/x/missing', '1', 'Full')", "listKeys('/x', '1', createObject())",
		"copyIndex('regs', -3)", "guid(resourceGroup().id, deployment().name)", "uniqueString(subscription().id)",
		"utcNow('yyyy-MM-dd')", "base64ToString(base64('hi'))", "uriComponentToString('%zz')", "int(' 42 ')",
		"bool('TRUE')", "min(createArray())", "max(1, 'a')", "if(true(), null(), 1)", "'it''s'", "[x]", "not(",
		strings.Repeat("not(", 70) + "true()" + strings.Repeat(")", 70), "createArray(0)" + strings.Repeat("[0]", 70),
	} {
		f.Add(seed)
		f.Add("[" + seed + "]")
	}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, in := range []string{expr, "[" + expr + "]"} {
			v, err := fuzzScope().evalString(in)
			if err != nil {
				continue
			}
			if n := measure(v, maxValue+1); n > maxValue {
				t.Fatalf("%q: a value over maxValue (%d bytes)", in, n)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("%q: the value does not encode: %v", in, err)
			}
		}
	})
}
