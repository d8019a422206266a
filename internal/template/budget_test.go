package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Small requests must not make the server build huge values, recurse
// without bound or spin: each budget stops its attack quickly with an
// error that says so.
func TestBudgets(t *testing.T) {
	big := "[string(range(0, 10000))]" // about 50 KB of text
	cases := map[string]struct {
		expr string
		vars map[string]any
	}{
		"a long expression":  {expr: "['" + strings.Repeat("x", maxExpression) + "']"},
		"deep nesting":       {expr: "[" + strings.Repeat("not(", maxDepth) + "true()" + strings.Repeat(")", maxDepth) + "]"},
		"deep indexing":      {expr: "[createArray(0)" + strings.Repeat("[0", maxDepth) + strings.Repeat("]", maxDepth) + "]"},
		"replace ''":         {expr: "[replace(variables('big'), '', variables('big'))]", vars: map[string]any{"big": big}},
		"nested replace":     {expr: "[" + strings.Repeat("replace(", 40) + "'ab'" + strings.Repeat(", '', 'xyz')", 40) + "]"},
		"format":             {expr: "[format(replace(variables('big'), ',', '{0}'), variables('big'))]", vars: map[string]any{"big": big}},
		"nested base64":      {expr: "[" + strings.Repeat("base64(", 60) + "variables('big')" + strings.Repeat(")", 60) + "]", vars: map[string]any{"big": big}},
		"concat strings":     {expr: "[concat(" + strings.Repeat("variables('big'), ", 100) + "'')]", vars: map[string]any{"big": big}},
		"concat arrays":      {expr: "[concat(" + strings.Repeat("variables('r'), ", 500) + "variables('r'))]", vars: map[string]any{"r": "[range(0, 10000)]"}},
		"string of shared":   {expr: "[string(createArray(" + strings.Repeat("variables('big'), ", 100) + "''))]", vars: map[string]any{"big": big}},
		"uniqueString join":  {expr: "[uniqueString(" + strings.Repeat("variables('big'), ", 100) + "'')]", vars: map[string]any{"big": big}},
		"doubling variables": {expr: "[variables('v30')]", vars: doubling(30)},
		"a variable chain":   {expr: "[variables('c0')]", vars: chain(maxVariableDepth + 1)},
		"work": {expr: "[createArray(" + strings.Repeat("indexOf(variables('huge'), 'x'), ", 400) + "0)]",
			vars: map[string]any{"huge": "[padLeft('', 10000)]", "x": "y"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := testScope()
			if c.vars != nil {
				s.varExprs = c.vars
			}
			if name == "work" {
				huge := strings.Repeat("h", 3<<20) // as a parameter might be
				s.variables["huge"] = sized{huge, measure(huge, maxValue)}
			}
			start := time.Now()
			_, err := s.evalString(c.expr)
			if !errors.Is(err, errBudget) {
				t.Errorf("got %.300v, want a budget error", err)
			}
			if msg := fmt.Sprint(err); len(msg) > 160 {
				t.Log(msg[len(msg)-160:])
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// doubling makes v0 = 'xx…', v(i) = concat(v(i-1), v(i-1)).
func doubling(n int) map[string]any {
	vars := map[string]any{"v0": strings.Repeat("x", 1000)}
	for i := 1; i <= n; i++ {
		vars[fmt.Sprint("v", i)] = fmt.Sprintf("[concat(variables('v%d'), variables('v%d'))]", i-1, i-1)
	}
	return vars
}

// chain makes c0 use c1, which uses c2… up to c(n-1).
func chain(n int) map[string]any {
	vars := map[string]any{fmt.Sprint("c", n-1): "end"}
	for i := 0; i < n-1; i++ {
		vars[fmt.Sprint("c", i)] = fmt.Sprintf("[variables('c%d')]", i+1)
	}
	return vars
}

// Just within the limits, expressions still evaluate.
func TestWithinBudgets(t *testing.T) {
	for _, expr := range []string{
		"[" + strings.Repeat("not(", maxDepth-1) + "true()" + strings.Repeat(")", maxDepth-1) + "]",
		"[length('" + strings.Repeat("x", maxExpression-20) + "')]",
		"[variables('c0')]",
		"[length(replace(string(range(0, 10000)), ',', ', '))]",
	} {
		s := testScope()
		s.varExprs = chain(maxVariableDepth)
		if _, err := s.evalString(expr); err != nil {
			t.Errorf("%.80s: %v", expr, err)
		}
	}
}

// Templates that multiply copies stop at a path.
func TestPlanBudgets(t *testing.T) {
	bomb := `{"copy":[{"name":"a","count":800,"input":{"copy":[{"name":"b","count":800,"input":{"copy":[{"name":"c","count":800,"input":{"v":"[copyIndex('c')]"}}]}}]}}]}`
	for _, c := range []struct{ template, path string }{
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","properties":` + bomb + `}]}`, "resources[0].properties"},
		{`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"[concat('x', copyIndex())]","copy":{"name":"l","count":500}},
			{"type":"A.B/c","apiVersion":"1","name":"[concat('y', copyIndex())]","copy":{"name":"m","count":301}}]}`, "resources"},
	} {
		start := time.Now()
		pl, err := parseTemplate(t, c.template).Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g"})
		if err == nil {
			err = pl.Preflight()
		}
		var te *Error
		if !errors.As(err, &te) || te.Path != c.path || !errors.Is(err, errBudget) {
			t.Errorf("%.60s: got %.300v, want a budget error at %s", c.template, err, c.path)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%.60s: took %v", c.template, d)
		}
	}
}

// measure bounds a value's JSON, so that marshal never encodes more than
// it checked, escapes included.
func TestMeasureBoundsJSON(t *testing.T) {
	values := []any{"<>&\"\\\x00\x1f", "\u2028\u2029é", "\xff\xfe\xfd", strings.Repeat("<", 1000), float64(-1.2345678901234567e-308),
		make([]any, 1000), []any{map[string]any{"<k>": "\xff", "": []any{}}}, map[string]any{"\x01": float64(1e300)}}
	for _, doc := range []string{`1`, `-12.5e3`, `true`, `null`, `""`, `"a\nb\u00e9"`, `[]`, `{}`, `[1,2,3]`, `[[],[[]],{}]`,
		`{"a":1,"bb":[true,false,null],"c":{"d":"e"}}`, `{"k":{"k":{"k":{"k":[0,0,0,0,0,0,0,0]}}}}`} {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if n := measure(v, maxValue); n < len(b) {
			t.Errorf("%.60s: measured %d bytes, less than its JSON's %d", b, n, len(b))
		}
	}
	if n := measure(make([]any, 1000), 10); n > 10+arrayCost+scalarCost {
		t.Errorf("measure went on to %d past a limit of 10", n)
	}
}

// measure bounds what a value takes in memory (within 1%), shape by shape, and weigh
// bounds measure for the JSON a value is decoded from.
func TestMeasureBoundsMemory(t *testing.T) {
	for _, elem := range []string{`0`, `1.5`, `true`, `""`, `"abcdefghijklmnopqrstuvwxyz"`, `[]`, `[0]`, `{}`, `{"a":1}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`, `{"k":{"k":[{"k":"v"}]}}`} {
		doc := "[" + strings.Repeat(elem+",", 9999) + elem + "]"
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := int(after.HeapAlloc) - int(before.HeapAlloc)
		n := measure(v, math.MaxInt)
		if n+n/100 < held { // 1%: the decoded value's own interface, and the runtime's noise
			t.Errorf("%s: measured %d bytes, less than the %d it holds", elem, n, held)
		}
		if w := weigh(doc); w < n {
			t.Errorf("%s: weighed %d bytes, less than the %d measured", elem, w, n)
		}
		runtime.KeepAlive(v)
	}
}
