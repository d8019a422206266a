package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// FuzzTemplate decodes, plans, validates and deploys arbitrary templates,
// seeded with the hostile ones (testdata/hostile) and with ones that use
// every feature: no input may panic, take long, or yield a body or output
// over maxValue.
func FuzzTemplate(f *testing.F) {
	files, _ := filepath.Glob("testdata/hostile/*.json")
	for _, name := range append(files, "../../e2e/testdata/fleet.json") {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, seed := range []string{
		`{"parameters":{"n":{"type":"int","defaultValue":2},"names":{"type":"array","defaultValue":["a","b"]}},
		  "variables":{"copy":[{"name":"v","count":"[parameters('n')]","input":{"i":"[copyIndex('v')]"}}],"o":{"a":"[variables('v')]","b":"[variables('v')]"}},
		  "resources":[{"type":"A.B/c","apiVersion":"1","name":"[parameters('names')[copyIndex()]]","copy":{"name":"l","count":2},
		    "dependsOn":["[if(equals(copyIndex(), 1), 'a', 'l')]"],"condition":"[not(equals(copyIndex(), 5))]",
		    "properties":{"o":"[variables('o')]","ref":"[reference('a').loginServer]","copy":[{"name":"p","count":3,"input":"[copyIndex('p')]"}]}}],
		  "outputs":{"x":{"type":"array","copy":{"count":2,"input":"[listKeys(resourceId('A.B/c', 'a'), '1')]"}},"y":{"type":"object","value":"[variables('o')]"}}}`,
		`{"resources":[{"type":"A.B/c/d","apiVersion":"1","name":"x/y","dependsOn":["x"]},{"type":"A.B/c","apiVersion":"1","name":"x"}]}`,
		`{"variables":{"s":"[string(range(0, 100))]","j":"[json(concat('[', variables('s'), ']'))]"},"outputs":{"j":{"type":"array","value":"[variables('j')]"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		var tmpl Template
		if Decode(text, &tmpl) != nil {
			return
		}
		start := time.Now()
		pl, err := tmpl.Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g", Location: "westus", TenantID: "t", Deployment: "d"})
		if err != nil {
			return
		}
		pl.Preflight()
		check := func(what string, v any) {
			if n := measure(v, maxValue+1); n > maxValue {
				t.Fatalf("%s: a value over maxValue (%d bytes)", what, n)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("%s: the value does not encode: %v", what, err)
			}
		}
		for _, r := range pl.Resources {
			if body, err := pl.Body(r, fuzzResolver{}); err == nil {
				check(r.path, body)
			}
		}
		for name := range tmpl.Outputs {
			if v, ok, err := pl.Output(name, fuzzResolver{}); ok && err == nil {
				check("outputs."+name, v)
			}
		}
		if pl.s.expanded > maxTemplate || pl.s.calls > maxCalls || pl.s.live != 0 {
			t.Fatalf("past the budgets: expanded %d, calls %d, still held %d", pl.s.expanded, pl.s.calls, pl.s.live)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("took %v", took)
		}
	})
}
