// Package deployments is the Microsoft.Resources/deployments provider at
// resource-group scope: it parses ARM templates (JSONC, as az sends them),
// evaluates their expressions, and applies each resource through the
// management plane's own handlers, so every rule (the export policy
// included) holds for templates exactly as for direct calls.
package deployments

import (
	"fmt"
	"sort"
	"strings"
)

// Template is an ARM deployment template.
type Template struct {
	Schema         string                   `json:"$schema"`
	ContentVersion string                   `json:"contentVersion"`
	Parameters     map[string]ParameterSpec `json:"parameters"`
	Variables      map[string]any           `json:"variables"`
	Resources      []map[string]any         `json:"resources"`
	Outputs        map[string]OutputSpec    `json:"outputs"`
}

// ParameterSpec declares a template parameter.
type ParameterSpec struct {
	Type          string `json:"type"`
	DefaultValue  any    `json:"defaultValue"`
	AllowedValues []any  `json:"allowedValues"`
}

// OutputSpec declares a template output.
type OutputSpec struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// planned is one resource ready to apply.
type planned struct {
	id, typ, apiVersion string
	body                map[string]any
	dependsOn           []string
	index               int
}

// TemplateError is an error at a path in the template.
type TemplateError struct {
	Path    string
	Message string
}

func (e *TemplateError) Error() string { return e.Path + ": " + e.Message }

func terr(path string, err error) *TemplateError {
	return &TemplateError{Path: path, Message: err.Error()}
}

// plan evaluates parameters, variables and resources, and orders resources
// by dependsOn.
func plan(t Template, given map[string]any, s *scope) ([]planned, map[string]any, error) {
	params := map[string]any{}
	for name, spec := range t.Parameters {
		v, ok := lookupFold(given, name)
		if !ok {
			if spec.DefaultValue == nil {
				return nil, nil, &TemplateError{Path: "parameters." + name, Message: fmt.Sprintf("the template parameter '%s' has no value and no defaultValue", name)}
			}
			dv, err := s.evalValue(spec.DefaultValue)
			if err != nil {
				return nil, nil, terr("parameters."+name+".defaultValue", err)
			}
			v = dv
		}
		if err := checkType(spec, v); err != nil {
			return nil, nil, terr("parameters."+name, err)
		}
		params[name] = v
	}
	for name := range given {
		if _, ok := lookupFold(toAny(t.Parameters), name); !ok {
			return nil, nil, &TemplateError{Path: "parameters." + name, Message: fmt.Sprintf("the parameter '%s' is not defined in the template", name)}
		}
	}
	s.params = params
	s.varExprs, s.variables, s.evaluating = t.Variables, map[string]any{}, map[string]bool{}
	for name := range t.Variables {
		if _, err := s.variable(name); err != nil {
			return nil, nil, terr("variables."+name, err)
		}
	}
	var out []planned
	for i, raw := range t.Resources {
		path := fmt.Sprintf("resources[%d]", i)
		ev, err := s.evalValue(raw)
		if err != nil {
			return nil, nil, terr(path, err)
		}
		r := ev.(map[string]any)
		typ, _ := r["type"].(string)
		name, _ := r["name"].(string)
		api, _ := r["apiVersion"].(string)
		if typ == "" || name == "" || api == "" {
			return nil, nil, &TemplateError{Path: path, Message: "a resource needs type, name and apiVersion"}
		}
		id, err := s.resourceID(idArgs(typ, name))
		if err != nil {
			return nil, nil, terr(path+".name", err)
		}
		body := map[string]any{}
		for _, k := range []string{"location", "sku", "tags", "properties", "identity", "kind", "zones"} {
			if v, ok := r[k]; ok {
				body[k] = v
			}
		}
		var deps []string
		if d, ok := r["dependsOn"].([]any); ok {
			for _, x := range d {
				ds, _ := x.(string)
				deps = append(deps, ds)
			}
		}
		out = append(out, planned{id: id.(string), typ: typ, apiVersion: api, body: body, dependsOn: deps, index: i})
	}
	ordered, err := order(out)
	return ordered, params, err
}

func toAny(m map[string]ParameterSpec) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// idArgs turns ("A.B/x/y", "n1/n2") into resourceId arguments.
func idArgs(typ, name string) []any {
	args := []any{typ}
	for _, n := range strings.Split(name, "/") {
		args = append(args, n)
	}
	return args
}

func checkType(spec ParameterSpec, v any) error {
	ok := true
	switch strings.ToLower(spec.Type) {
	case "string", "securestring":
		_, ok = v.(string)
	case "int":
		_, ok = v.(float64)
	case "bool":
		_, ok = v.(bool)
	case "array":
		_, ok = v.([]any)
	case "object", "secureobject":
		_, ok = v.(map[string]any)
	case "":
	default:
		return fmt.Errorf("unknown parameter type %q", spec.Type)
	}
	if !ok {
		return fmt.Errorf("the value is not of type %s", spec.Type)
	}
	if len(spec.AllowedValues) > 0 {
		for _, a := range spec.AllowedValues {
			if fmt.Sprint(a) == fmt.Sprint(v) {
				return nil
			}
		}
		return fmt.Errorf("the value %v is not one of the allowed values %v", v, spec.AllowedValues)
	}
	return nil
}

// order sorts resources so each comes after what it dependsOn (by id, or
// by the name's last segments), keeping template order otherwise.
func order(rs []planned) ([]planned, error) {
	byKey := map[string]int{}
	for i, r := range rs {
		byKey[strings.ToLower(r.id)] = i
	}
	resolve := func(dep string) (int, bool) {
		d := strings.ToLower(dep)
		if i, ok := byKey[d]; ok {
			return i, true
		}
		for i, r := range rs {
			if strings.HasSuffix(strings.ToLower(r.id), "/"+d) {
				return i, true
			}
		}
		return 0, false
	}
	state := make([]int, len(rs)) // 0 new, 1 visiting, 2 done
	var out []planned
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return &TemplateError{Path: fmt.Sprintf("resources[%d].dependsOn", rs[i].index), Message: "circular dependency"}
		case 2:
			return nil
		}
		state[i] = 1
		for _, d := range rs[i].dependsOn {
			j, ok := resolve(d)
			if !ok {
				return &TemplateError{Path: fmt.Sprintf("resources[%d].dependsOn", rs[i].index), Message: fmt.Sprintf("the resource '%s' is not defined in the template", d)}
			}
			if err := visit(j); err != nil {
				return err
			}
		}
		state[i] = 2
		out = append(out, rs[i])
		return nil
	}
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rs[idx[a]].index < rs[idx[b]].index })
	for _, i := range idx {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}
