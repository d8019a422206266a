package template

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Plan is a template made ready to deploy: parameters and variables
// evaluated, copy loops and conditions expanded, resources ordered by
// dependsOn. Resource bodies and outputs are evaluated later, one at a
// time, so that reference() and list*() see what was deployed before them,
// as in ARM. A Plan is not safe for concurrent use.
type Plan struct {
	// Parameters holds every parameter's value, defaults applied.
	Parameters map[string]any
	// Resources lists the resource instances to deploy, each after those
	// it depends on; instances whose condition is false are left out.
	Resources []Resource
	s         *scope
	outputs   map[string]OutputSpec
	sizes     map[string]int // the cost of each body and output evaluated, by path
}

// Resource is one resource instance of a Plan. Its header (type, name,
// apiVersion, condition, copy, dependsOn) is evaluated; its body is not
// until Plan.Body.
type Resource struct {
	ID         string // the resource id its name and type make
	Type       string // its type, such as Microsoft.ContainerRegistry/registries
	APIVersion string // the apiVersion to deploy it with

	fields    map[string]any // the template resource, unevaluated, by lower-cased key
	loops     map[string]int // copy-loop indices for its body
	loop      string         // its copy loop's name, lower-cased
	dependsOn []string
	path      string // where it is in the template, for errors
}

// bodyKeys are the parts of a template resource sent in its PUT.
var bodyKeys = []string{"location", "sku", "tags", "properties", "identity", "kind", "zones", "plan"}

// Plan evaluates the template's parameters (given, else their defaults),
// its variables and its resources' headers for a deployment into env, and
// orders the resources by dependsOn. Errors are *Error, with the path of
// the fault. The plan, its bodies and its outputs are evaluated within
// ARM's limits and the budgets of budget.go; an error for a template too
// large once expanded wraps errdef.ErrTooLarge (ARM's
// DeploymentJobSizeExceeded), the rest are ARM's InvalidTemplate.
func (t Template) Plan(given map[string]any, env Env) (*Plan, error) {
	return plan(t, given, newScope(env))
}

// Body evaluates r's PUT body (location, sku, tags, properties…) in its
// copy-loop context. res answers reference() and list*(); with a nil res
// they fail with an error that Preflight recognises. Errors are *Error.
func (p *Plan) Body(r Resource, res Resolver) (map[string]any, error) {
	s := p.s
	s.loops, s.resolver = r.loops, res
	defer func() { s.loops, s.resolver = nil, nil }()
	defer s.restore(s.live)
	out := map[string]any{}
	size := objectCost + groups(len(bodyKeys))
	for _, k := range bodyKeys {
		raw, ok := r.fields[strings.ToLower(k)]
		if !ok {
			continue
		}
		v, c, err := s.evalSized(raw)
		if err == nil {
			err = s.add(&size, keyCost(k)+c)
		}
		if err != nil {
			return nil, terr(r.path+"."+k, err)
		}
		out[k] = v
	}
	if err := p.expand(r.path, size); err != nil {
		return nil, terr(r.path, err)
	}
	return out, nil
}

// expand counts the body or output at path toward the expanded template
// once, however often it is evaluated.
func (p *Plan) expand(path string, size int) error {
	if err := p.s.expand(size - p.sizes[path]); err != nil {
		return err
	}
	p.sizes[path] = size
	return nil
}

// Preflight evaluates every resource body and output before anything is
// deployed, as ARM validates a template first; only what needs the
// running deployment (reference(), list*()) is left for later.
func (p *Plan) Preflight() error {
	for _, r := range p.Resources {
		if _, err := p.Body(r, nil); err != nil && !errors.Is(err, errDeferred) {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.outputs)) {
		if _, _, err := p.Output(name, nil); err != nil && !errors.Is(err, errDeferred) {
			return terr("outputs."+name, err)
		}
	}
	return nil
}

// Output evaluates the template's output name: its value, or for an
// output copy loop the array of count inputs. ok is false when its
// condition is false, or when the template declares no such output. res
// is as for Body. Errors have no path: the caller knows the output's name.
func (p *Plan) Output(name string, res Resolver) (v any, ok bool, err error) {
	o, declared := p.outputs[name]
	if !declared {
		return nil, false, nil
	}
	s := p.s
	s.resolver = res
	defer func() { s.loops, s.resolver = nil, nil }()
	defer s.restore(s.live)
	if o.Condition != nil {
		c, err := s.evalValue(o.Condition)
		if err != nil {
			return nil, false, fmt.Errorf("condition: %w", err)
		}
		if b, isBool := c.(bool); !isBool || !b {
			return nil, false, nil
		}
	}
	var size int
	if o.Copy == nil {
		v, size, err = s.evalSized(o.Value)
	} else {
		var count int
		if count, err = s.copyCount(o.Copy.Count); err != nil {
			return nil, false, fmt.Errorf("copy.%w", err)
		}
		s.loops = nil
		if v, size, err = s.expandInput("", count, o.Copy.Input); err != nil {
			return nil, false, fmt.Errorf("copy.input%w", err)
		}
	}
	if err == nil {
		err = p.expand("outputs."+name, size)
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// plan evaluates parameters, variables and resources, and orders resources
// by dependsOn.
func plan(t Template, given map[string]any, s *scope) (*Plan, error) {
	if err := counts(t); err != nil {
		return nil, err
	}
	params, err := parameters(t, given, s)
	if err != nil {
		return nil, err
	}
	s.params = params
	if err := s.declareVariables(t.Variables); err != nil {
		return nil, terr("variables", err)
	}
	for _, name := range slices.Sorted(maps.Keys(s.varExprs)) {
		if _, _, err := s.variable(name); err != nil {
			// s.variable names the variable already, for chains of them.
			path := "variables." + name
			return nil, &Error{Path: path, Message: strings.TrimPrefix(err.Error(), path+": "), err: err}
		}
	}
	decls, err := s.declare(t.Resources)
	if err != nil {
		return nil, err
	}
	var out []Resource
	skipped := map[string]bool{}
	s.declared = map[string]string{}
	for _, d := range decls {
		for j, loops := range d.instances {
			ipath := d.path
			if d.loop != "" {
				ipath = fmt.Sprintf("%s[copy %d]", d.path, j)
			}
			r, keep, err := s.header(d.fields, loops, ipath)
			s.loops = nil
			if err != nil {
				return nil, err
			}
			if !keep {
				skipped[strings.ToLower(r.ID)] = true
				continue
			}
			r.loop = d.loop
			out = append(out, r)
			name := r.ID[strings.LastIndex(r.ID, "/")+1:]
			s.declared[strings.ToLower(name)] = r.ID
		}
		if d.loop != "" {
			skipped[d.loop] = len(d.instances) == 0
		}
	}
	ordered, err := order(out, skipped)
	if err != nil {
		return nil, err
	}
	return &Plan{Parameters: params, Resources: ordered, s: s, outputs: t.Outputs, sizes: map[string]int{}}, nil
}

// counts checks ARM's limits on what a template declares.
func counts(t Template) error {
	for _, c := range []struct {
		what, path string
		n, max     int
	}{
		{"parameters", "parameters", len(t.Parameters), maxParameters},
		{"variables", "variables", variableCount(t.Variables), maxVariables},
		{"outputs", "outputs", len(t.Outputs), maxOutputs},
		{"resources", "resources", len(t.Resources), maxResources},
	} {
		if c.n > c.max {
			return &Error{Path: c.path, Message: fmt.Sprintf("The number of template %s limit exceeded. Limit: '%d' and actual: '%d'.", c.what, c.max, c.n), err: errBudget}
		}
	}
	return nil
}

// variableCount counts a template's variables, those of a variables copy
// element one by one.
func variableCount(vars map[string]any) int {
	n := len(vars)
	for k, v := range vars {
		if specs, ok := v.([]any); ok && strings.EqualFold(k, "copy") {
			n += len(specs) - 1
		}
	}
	return n
}

// decl is a template resource with its copy loop expanded.
type decl struct {
	fields    map[string]any // by lower-cased key
	instances []map[string]int
	loop      string
	path      string
}

// declare expands the copy loops of the template's resources, which
// together may not declare more than maxResources instances.
func (s *scope) declare(resources []map[string]any) ([]decl, error) {
	decls := make([]decl, len(resources))
	total := 0
	for i, raw := range resources {
		d := decl{fields: make(map[string]any, len(raw)), path: fmt.Sprintf("resources[%d]", i)}
		for k, v := range raw {
			d.fields[strings.ToLower(k)] = v
		}
		var err error
		if d.instances, d.loop, err = s.expandCopy(d.fields); err != nil {
			return nil, terr(d.path+".copy", err)
		}
		total += len(d.instances)
		decls[i] = d
	}
	if total > maxResources {
		return nil, &Error{Path: "resources", Message: fmt.Sprintf("The number of template resources limit exceeded. Limit: '%d' and actual: '%d'.", maxResources, total), err: errBudget}
	}
	return decls, nil
}

// parameters takes each parameter's given value, or else its default, and
// checks it against its declaration.
func parameters(t Template, given map[string]any, s *scope) (map[string]any, error) {
	params := map[string]any{}
	for name, spec := range t.Parameters {
		v, ok := lookupFold(given, name)
		if !ok {
			if spec.DefaultValue == nil {
				return nil, &Error{Path: "parameters." + name, Message: fmt.Sprintf("the template parameter '%s' has no value and no defaultValue", name)}
			}
			dv, c, err := s.evalSized(spec.DefaultValue)
			if err == nil {
				err = s.expand(c)
			}
			if err != nil {
				return nil, terr("parameters."+name+".defaultValue", err)
			}
			v = dv
		}
		if err := checkType(spec, v); err != nil {
			return nil, terr("parameters."+name, err)
		}
		params[name] = v
	}
	declared := make(map[string]any, len(t.Parameters))
	for k, v := range t.Parameters {
		declared[k] = v
	}
	for name := range given {
		if _, ok := lookupFold(declared, name); !ok {
			return nil, &Error{Path: "parameters." + name, Message: fmt.Sprintf("the parameter '%s' is not defined in the template", name)}
		}
	}
	return params, nil
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
		return fmt.Errorf("unknown parameter type %q", brief(spec.Type))
	}
	if !ok {
		return fmt.Errorf("the value is not of type %s", spec.Type)
	}
	if len(spec.AllowedValues) > 0 {
		want := fmt.Sprint(v)
		for _, a := range spec.AllowedValues {
			if fmt.Sprint(a) == want {
				return nil
			}
		}
		return fmt.Errorf("the value %s is not one of the allowed values %s", brief(v), brief(spec.AllowedValues))
	}
	return nil
}
