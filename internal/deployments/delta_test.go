package deployments

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The delta names leaves by ARM's dotted paths, gives array items as
// children by index (an object item's own changes below it), leaves out
// ARM's bookkeeping and read-only properties, and reports a read-only
// property the template sets to no avail as NoEffect.
func TestDelta(t *testing.T) {
	doc := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name                string
		before, after, body string
		want                string // "type path[=before>after]" items, children as "parent/child"
		real                bool
	}{
		{"same", `{"a":1,"b":{"c":"x"}}`, `{"a":1,"b":{"c":"x"}}`, `{}`, "", false},
		{"leaf", `{"properties":{"x":{"y":false}}}`, `{"properties":{"x":{"y":true}}}`, `{}`, "Modify properties.x.y=false>true", true},
		{"added and removed", `{"tags":{"a":"1"}}`, `{"tags":{"b":"2"}}`, `{}`, "Delete tags.a=1><nil> Create tags.b=<nil>>2", true},
		{"object appears", `{}`, `{"tags":{"a":"1"}}`, `{}`, "Create tags=<nil>>map[a:1]", true},
		{"type changes", `{"a":{"b":1}}`, `{"a":"flat"}`, `{}`, "Modify a=map[b:1]>flat", true},
		{"bookkeeping and read-only", `{"id":"1","systemData":{"t":1},"properties":{"provisioningState":"A","loginServer":"h","p":{"lastUpdatedTime":"t1"}}}`,
			`{"id":"2","systemData":{"t":2},"properties":{"provisioningState":"B","loginServer":"i","p":{"lastUpdatedTime":"t2"}}}`, `{}`, "", false},
		{"array items", `{"r":[{"v":"a","provisioningState":"x"},{"v":"b"},"s",1]}`, `{"r":[{"v":"a","provisioningState":"y"},{"v":"c"},"t"]}`, `{}`,
			"Array r Modify r/1 Modify r/1/v=b>c Modify r/2=s>t Delete r/3=1><nil>", true},
		{"nested arrays", `{"r":[[1,2]]}`, `{"r":[[1,3]]}`, `{}`, "Array r Array r/0 Modify r/0/1=2>3", true},
		{"no effect", `{"properties":{"loginServer":"h","a":1}}`, `{"properties":{"loginServer":"h","a":1}}`, `{"properties":{"loginServer":"other","a":1}}`,
			"NoEffect properties.loginServer=h>other", false},
		{"no effect, spelt in any case", `{"properties":{"provisioningState":"Succeeded"}}`, `{"properties":{"provisioningState":"Succeeded"}}`,
			`{"properties":{"ProvisioningState":"Failed"}}`, "NoEffect properties.ProvisioningState=Succeeded>Failed", false},
	} {
		got, real := delta(doc(c.before), doc(c.after), doc(c.body))
		if s := flatten(got, ""); s != c.want || real != c.real {
			t.Errorf("%s: got %q (real %v), want %q (real %v)", c.name, s, real, c.want, c.real)
		}
	}
}

func flatten(items []propertyChange, prefix string) string {
	var out []string
	for _, it := range items {
		s := it.PropertyChangeType + " " + prefix + it.Path
		switch it.PropertyChangeType {
		case propArray:
		case propModify:
			if len(it.Children) > 0 {
				break
			}
			fallthrough
		default:
			s += "=" + str(it.Before) + ">" + str(it.After)
		}
		out = append(out, s)
		if len(it.Children) > 0 {
			out = append(out, flatten(it.Children, prefix+it.Path+"/"))
		}
	}
	return strings.Join(out, " ")
}

func str(v any) string {
	if v == nil {
		return "<nil>"
	}
	b, _ := json.Marshal(v)
	s := strings.Trim(string(b), `"`)
	if m, ok := v.(map[string]any); ok {
		s = "map["
		for k, x := range m {
			s += k + ":" + str(x)
		}
		s += "]"
	}
	return s
}

// Deeply nested documents cost time linear in their size: nothing is
// compared whole at every level.
func TestDeltaDeepNesting(t *testing.T) {
	nest := func(depth int, leaf any) map[string]any {
		v := any(leaf)
		for range depth {
			v = map[string]any{"a": []any{v}}
		}
		return map[string]any{"properties": v}
	}
	start := time.Now()
	got, real := delta(nest(5000, 1), nest(5000, 2), nil)
	if !real || len(got) != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("deep delta: %d items, real %v, in %v", len(got), real, time.Since(start))
	}
}

// The generic prediction lays the body over the current document: objects
// merge (keys matched in any case, the stored spelling kept), other values
// replace, and what the body leaves out stays.
func TestMerge(t *testing.T) {
	current := map[string]any{"properties": map[string]any{"type": "UserDefined", "actions": []any{"a"}, "nested": map[string]any{"keep": 1, "set": 1}}}
	body := map[string]any{"Properties": map[string]any{"actions": []any{"b"}, "nested": map[string]any{"set": 2}}, "tags": map[string]any{"t": "1"}}
	b, _ := json.Marshal(merge(current, body))
	if want := `{"properties":{"actions":["b"],"nested":{"keep":1,"set":2},"type":"UserDefined"},"tags":{"t":"1"}}`; string(b) != want {
		t.Fatalf("merge: %s", b)
	}
	if _, ok := current["tags"]; ok {
		t.Fatal("merge changed the current document")
	}
}
