package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deployAll evaluates a template as a deployment would: the plan and its
// preflight (what validation does), then every body and output with a
// resolver. It returns the first error and whether it came before
// anything would be deployed.
func deployAll(t Template, res Resolver) (validating bool, err error) {
	pl, err := t.Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g", Location: "westus", TenantID: "t", Deployment: "d"})
	if err == nil {
		err = pl.Preflight()
	}
	if err != nil {
		return true, err
	}
	for _, r := range pl.Resources {
		if _, err := pl.Body(r, res); err != nil {
			return false, err
		}
	}
	for name := range t.Outputs {
		if _, _, err := pl.Output(name, res); err != nil {
			return false, err
		}
	}
	return false, nil
}

func readTemplate(t testing.TB, path string) Template {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl Template
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// Each hostile template (testdata/hostile, a few KB each) that would build
// gigabytes or run for minutes ends in a budget error within 2 s, before
// anything is deployed unless it needs the running deployment.
func TestHostileTemplates(t *testing.T) {
	files, err := filepath.Glob("testdata/hostile/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("hostile templates: %v %v", files, err)
	}
	deployTime := map[string]bool{"reference-fanout": true} // reference() is deferred
	// A dependsOn fan-out is a matter of time: it ends in its body's error.
	anyError := map[string]bool{"dependson-fanout": true}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			tmpl := readTemplate(t, f)
			start := time.Now()
			validating, err := deployAll(tmpl, fuzzResolver{})
			took := time.Since(start)
			var te *Error
			if !errors.As(err, &te) || !errors.Is(err, errBudget) && !anyError[name] {
				t.Fatalf("got %.300v, want a budget error", err)
			}
			if validating == deployTime[name] {
				t.Errorf("stopped while validating: %v, want %v", validating, !deployTime[name])
			}
			if took > 2*time.Second {
				t.Errorf("took %v", took)
			}
			t.Logf("%v: %.200s", took.Round(time.Millisecond), err)
		})
	}
}

// ARM's counts: 256 parameters, 256 variables, 64 outputs, 800 resources
// declared, copies included.
func TestTemplateCounts(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	res := func(i int) string { return fmt.Sprintf(`{"type":"A.B/c","apiVersion":"1","name":"r%d"}`, i) }
	for _, c := range []struct{ template, path, want string }{
		{`{"parameters":{` + many(257, func(i int) string { return fmt.Sprintf(`"p%d":{"type":"int","defaultValue":1}`, i) }) + `}}`, "parameters",
			"The number of template parameters limit exceeded. Limit: '256' and actual: '257'."},
		{`{"variables":{` + many(257, func(i int) string { return fmt.Sprintf(`"v%d":1`, i) }) + `}}`, "variables", "Limit: '256' and actual: '257'"},
		{`{"variables":{"copy":[{"name":"c","count":1,"input":1}],` + many(256, func(i int) string { return fmt.Sprintf(`"v%d":1`, i) }) + `}}`, "variables", "actual: '257'"},
		{`{"outputs":{` + many(65, func(i int) string { return fmt.Sprintf(`"o%d":{"type":"int","value":1}`, i) }) + `}}`, "outputs",
			"The number of template outputs limit exceeded. Limit: '64' and actual: '65'."},
		{`{"resources":[` + many(801, res) + `]}`, "resources", "The number of template resources limit exceeded. Limit: '800' and actual: '801'."},
		{`{"resources":[` + many(10, res) + `,{"type":"A.B/c","apiVersion":"1","name":"[concat('c', copyIndex())]","copy":{"name":"l","count":791}}]}`, "resources", "actual: '801'"},
	} {
		_, err := parseTemplate(t, c.template).Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g"})
		var te *Error
		if !errors.As(err, &te) || te.Path != c.path || !strings.Contains(te.Message, c.want) || !errors.Is(err, errBudget) {
			t.Errorf("%.50s: got %v, want %q at %s", c.template, err, c.want, c.path)
		}
	}
	ok := `{"parameters":{` + many(256, func(i int) string { return fmt.Sprintf(`"p%d":{"type":"int","defaultValue":1}`, i) }) + `},` +
		`"variables":{` + many(256, func(i int) string { return fmt.Sprintf(`"v%d":1`, i) }) + `},` +
		`"outputs":{` + many(64, func(i int) string { return fmt.Sprintf(`"o%d":{"type":"int","value":1}`, i) }) + `},` +
		`"resources":[` + many(800, res) + `]}`
	if _, err := deployAll(parseTemplate(t, ok), fuzzResolver{}); err != nil {
		t.Errorf("a template at every limit: %v", err)
	}
}

// A variables copy element declares arrays of inputs, as ARM's variable
// iteration does; copyIndex('name') is the position.
func TestVariableCopy(t *testing.T) {
	tmpl := parseTemplate(t, `{"variables":{"base":"reg","copy":[
	  {"name":"names","count":3,"input":"[concat(variables('base'), copyIndex('names', 1))]"},
	  {"name":"rules","count":"[length(variables('names'))]","input":{"value":"[concat('10.', copyIndex('rules'), '.0.0/16')]"}}]},
	  "resources":[{"type":"A.B/c","apiVersion":"1","name":"[variables('names')[copyIndex()]]","copy":{"name":"l","count":3},
	    "properties":{"rules":"[variables('rules')]"}}],
	  "outputs":{"names":{"type":"array","value":"[variables('names')]"}}}`)
	pl, err := tmpl.Plan(nil, Env{SubscriptionID: "s", ResourceGroup: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Resources) != 3 || !strings.HasSuffix(pl.Resources[2].ID, "/c/reg3") {
		t.Fatalf("resources %+v", pl.Resources)
	}
	body, err := pl.Body(pl.Resources[0], nil)
	if got := string(mustJSON(body)); err != nil || got != `{"properties":{"rules":[{"value":"10.0.0.0/16"},{"value":"10.1.0.0/16"},{"value":"10.2.0.0/16"}]}}` {
		t.Errorf("body %s %v", got, err)
	}
	if v, ok, err := pl.Output("names", nil); !ok || err != nil || string(mustJSON(v)) != `["reg1","reg2","reg3"]` {
		t.Errorf("output %s %v %v", mustJSON(v), ok, err)
	}
}
