// Package deployments is the Microsoft.Resources/deployments provider at
// resource-group scope: it parses ARM templates (JSONC, as az sends them),
// evaluates their expressions, and applies each resource through the
// management plane's own handlers, so every rule (the export policy
// included) holds for templates exactly as for direct calls.
package deployments

import (
	"fmt"
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
	Type      string `json:"type"`
	Value     any    `json:"value"`
	Condition any    `json:"condition"`
	Copy      *struct {
		Count any `json:"count"`
		Input any `json:"input"`
	} `json:"copy"`
}

// evalOutput evaluates an output: its value, or for an output copy loop
// the array of count inputs. ok is false when its condition is false.
func (s *scope) evalOutput(o OutputSpec) (v any, ok bool, err error) {
	if o.Condition != nil {
		c, err := s.evalValue(o.Condition)
		if err != nil {
			return nil, false, fmt.Errorf("condition: %w", err)
		}
		if b, isBool := c.(bool); !isBool || !b {
			return nil, false, nil
		}
	}
	if o.Copy == nil {
		v, err := s.evalValue(o.Value)
		return v, true, err
	}
	cv, err := s.evalValue(o.Copy.Count)
	if err != nil {
		return nil, false, fmt.Errorf("copy.count: %w", err)
	}
	count, isNum := cv.(float64)
	if !isNum || count < 0 || count > maxCopy || count != float64(int(count)) {
		return nil, false, fmt.Errorf("copy.count must be an integer from 0 to %d, got %v", maxCopy, cv)
	}
	defer func() { s.loops = nil }()
	out := make([]any, int(count))
	for i := range out {
		s.loops = map[string]int{"": i}
		if out[i], err = s.evalValue(o.Copy.Input); err != nil {
			return nil, false, fmt.Errorf("copy.input[%d]: %w", i, err)
		}
	}
	return out, true, nil
}

// planned is one resource instance ready to apply. Its header (type,
// name, apiVersion, condition, copy, dependsOn) is evaluated when the
// deployment is planned; its body when it is applied, so that reference()
// and list*() see the resources deployed before it, as in ARM.
type planned struct {
	id, typ, apiVersion string
	raw                 map[string]any // the template resource, unevaluated
	loops               map[string]int // copy-loop indices for its body
	loop                string         // its copy loop's name, lower-cased
	dependsOn           []string
	index               int
	path                string
}

// bodyKeys are the parts of a template resource sent in its PUT.
var bodyKeys = []string{"location", "sku", "tags", "properties", "identity", "kind", "zones", "plan"}

// body evaluates the resource's PUT body in its copy-loop context.
func (p planned) body(s *scope) (map[string]any, error) {
	s.loops = p.loops
	defer func() { s.loops = nil }()
	out := map[string]any{}
	for _, k := range bodyKeys {
		raw, ok := lookupFold(p.raw, k)
		if !ok {
			continue
		}
		v, err := s.evalValue(raw)
		if err != nil {
			return nil, terr(p.path+"."+k, err)
		}
		out[k] = v
	}
	return out, nil
}

// maxCopy is ARM's limit on a copy loop's count.
const maxCopy = 800

// TemplateError is an error at a path in the template.
type TemplateError struct {
	Path    string
	Message string
	err     error // the cause, when there is one
}

func (e *TemplateError) Error() string { return e.Path + ": " + e.Message }

func (e *TemplateError) Unwrap() error { return e.err }

func terr(path string, err error) *TemplateError {
	return &TemplateError{Path: path, Message: err.Error(), err: err}
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
	skipped := map[string]bool{}
	s.declared = map[string]string{}
	for i, raw := range t.Resources {
		path := fmt.Sprintf("resources[%d]", i)
		instances, loop, err := s.expandCopy(raw)
		if err != nil {
			return nil, nil, terr(path+".copy", err)
		}
		for j, loops := range instances {
			ipath := path
			if loop != "" {
				ipath = fmt.Sprintf("%s[copy %d]", path, j)
			}
			p, keep, err := s.header(raw, loops, ipath)
			s.loops = nil
			if err != nil {
				return nil, nil, err
			}
			if !keep {
				skipped[strings.ToLower(p.id)] = true
				continue
			}
			p.loop, p.index = loop, i
			out = append(out, p)
			name := p.id[strings.LastIndex(p.id, "/")+1:]
			s.declared[strings.ToLower(name)] = p.id
		}
		if loop != "" {
			skipped[loop] = len(instances) == 0
		}
	}
	ordered, err := order(out, skipped)
	return ordered, params, err
}

// expandCopy reads a resource's copy element: one instance with no loop,
// or count instances whose copyIndex() is 0..count-1.
func (s *scope) expandCopy(raw map[string]any) ([]map[string]int, string, error) {
	c, ok := lookupFold(raw, "copy")
	if !ok {
		return []map[string]int{nil}, "", nil
	}
	spec, ok := c.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("copy must be an object with name and count")
	}
	nameRaw, _ := lookupFold(spec, "name")
	name, ok := nameRaw.(string)
	if !ok || name == "" {
		return nil, "", fmt.Errorf("copy needs a name")
	}
	countRaw, _ := lookupFold(spec, "count")
	cv, err := s.evalValue(countRaw)
	if err != nil {
		return nil, "", fmt.Errorf("count: %w", err)
	}
	count, ok := cv.(float64)
	if !ok || count < 0 || count > maxCopy || count != float64(int(count)) {
		return nil, "", fmt.Errorf("count must be an integer from 0 to %d, got %v", maxCopy, cv)
	}
	loop := strings.ToLower(name)
	out := make([]map[string]int, int(count))
	for j := range out {
		out[j] = map[string]int{"": j, loop: j}
	}
	return out, loop, nil
}

// header evaluates what identifies one resource instance and its place in
// the order. keep is false when its condition is false.
func (s *scope) header(raw map[string]any, loops map[string]int, path string) (p planned, keep bool, err error) {
	s.loops = loops
	field := func(k string) (string, error) {
		v, ok := lookupFold(raw, k)
		if !ok {
			return "", nil
		}
		ev, err := s.evalValue(v)
		if err != nil {
			return "", terr(path+"."+k, err)
		}
		str, ok := ev.(string)
		if !ok {
			return "", &TemplateError{Path: path + "." + k, Message: fmt.Sprintf("%s must be a string, got %s", k, typeName(ev))}
		}
		return str, nil
	}
	p = planned{raw: raw, loops: loops, path: path}
	if p.typ, err = field("type"); err != nil {
		return p, false, err
	}
	name, err := field("name")
	if err != nil {
		return p, false, err
	}
	if p.apiVersion, err = field("apiVersion"); err != nil {
		return p, false, err
	}
	if p.typ == "" || name == "" || p.apiVersion == "" {
		return p, false, &TemplateError{Path: path, Message: "a resource needs type, name and apiVersion"}
	}
	id, err := s.resourceID(idArgs(p.typ, name))
	if err != nil {
		return p, false, terr(path+".name", err)
	}
	p.id = id.(string)
	keep = true
	if c, ok := lookupFold(raw, "condition"); ok {
		cv, err := s.evalValue(c)
		if err != nil {
			return p, false, terr(path+".condition", err)
		}
		b, ok := cv.(bool)
		if !ok {
			return p, false, &TemplateError{Path: path + ".condition", Message: fmt.Sprintf("condition must be a bool, got %s", typeName(cv))}
		}
		keep = b
	}
	if d, ok := lookupFold(raw, "dependsOn"); ok {
		dv, err := s.evalValue(d)
		if err != nil {
			return p, false, terr(path+".dependsOn", err)
		}
		arr, ok := dv.([]any)
		if !ok {
			return p, false, &TemplateError{Path: path + ".dependsOn", Message: "dependsOn must be an array"}
		}
		for _, x := range arr {
			ds, ok := x.(string)
			if !ok {
				return p, false, &TemplateError{Path: path + ".dependsOn", Message: "dependsOn entries must be strings"}
			}
			p.dependsOn = append(p.dependsOn, ds)
		}
	}
	return p, keep, nil
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

// order sorts resources so each comes after what it dependsOn: an id, the
// last segments of a name, or a copy loop's name (every instance). A
// dependency on a resource whose condition is false is dropped, as in ARM.
func order(rs []planned, skipped map[string]bool) ([]planned, error) {
	byKey := map[string]int{}
	for i, r := range rs {
		byKey[strings.ToLower(r.id)] = i
	}
	resolve := func(dep string) ([]int, bool) {
		d := strings.ToLower(dep)
		if i, ok := byKey[d]; ok {
			return []int{i}, true
		}
		var found []int
		for i, r := range rs {
			if r.loop != "" && r.loop == d {
				found = append(found, i)
			}
		}
		if len(found) > 0 {
			return found, true
		}
		for i, r := range rs {
			if strings.HasSuffix(strings.ToLower(r.id), "/"+d) {
				return []int{i}, true
			}
		}
		if _, ok := skipped[d]; ok {
			return nil, true
		}
		for k := range skipped {
			if strings.HasSuffix(k, "/"+d) {
				return nil, true
			}
		}
		return nil, false
	}
	state := make([]int, len(rs)) // 0 new, 1 visiting, 2 done
	var out []planned
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return &TemplateError{Path: rs[i].path + ".dependsOn", Message: "circular dependency"}
		case 2:
			return nil
		}
		state[i] = 1
		for _, d := range rs[i].dependsOn {
			js, ok := resolve(d)
			if !ok {
				return &TemplateError{Path: rs[i].path + ".dependsOn", Message: fmt.Sprintf("the resource '%s' is not defined in the template", d)}
			}
			for _, j := range js {
				if err := visit(j); err != nil {
					return err
				}
			}
		}
		state[i] = 2
		out = append(out, rs[i])
		return nil
	}
	for i := range rs {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}
