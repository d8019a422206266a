package template

import (
	"errors"
	"fmt"
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
}

// Resource is one resource instance of a Plan. Its header (type, name,
// apiVersion, condition, copy, dependsOn) is evaluated; its body is not
// until Plan.Body.
type Resource struct {
	ID         string // the resource id its name and type make
	Type       string // its type, such as Microsoft.ContainerRegistry/registries
	APIVersion string // the apiVersion to deploy it with

	raw       map[string]any // the template resource, unevaluated
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
// the fault.
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
	out := map[string]any{}
	for _, k := range bodyKeys {
		raw, ok := lookupFold(r.raw, k)
		if !ok {
			continue
		}
		v, err := s.evalValue(raw)
		if err != nil {
			return nil, terr(r.path+"."+k, err)
		}
		out[k] = v
	}
	return out, nil
}

// Preflight evaluates every resource body before anything is deployed, as
// ARM validates a template first; only what needs the running deployment
// (reference(), list*()) is left for later.
func (p *Plan) Preflight() error {
	for _, r := range p.Resources {
		if _, err := p.Body(r, nil); err != nil && !errors.Is(err, errDeferred) {
			return err
		}
	}
	return nil
}

// Output evaluates an output: its value, or for an output copy loop the
// array of count inputs. ok is false when its condition is false. res is
// as for Body. Errors have no path: the caller knows the output's name.
func (p *Plan) Output(o OutputSpec, res Resolver) (v any, ok bool, err error) {
	s := p.s
	s.resolver = res
	defer func() { s.loops, s.resolver = nil, nil }()
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
	count, err := s.copyCount(o.Copy.Count)
	if err != nil {
		return nil, false, fmt.Errorf("copy.%w", err)
	}
	out := make([]any, count)
	for i := range out {
		s.loops = map[string]int{"": i}
		if out[i], err = s.evalValue(o.Copy.Input); err != nil {
			return nil, false, fmt.Errorf("copy.input[%d]: %w", i, err)
		}
	}
	return out, true, nil
}

// plan evaluates parameters, variables and resources, and orders resources
// by dependsOn.
func plan(t Template, given map[string]any, s *scope) (*Plan, error) {
	params, err := parameters(t, given, s)
	if err != nil {
		return nil, err
	}
	s.params = params
	s.varExprs, s.variables, s.evaluating = t.Variables, map[string]any{}, map[string]bool{}
	for name := range t.Variables {
		if _, err := s.variable(name); err != nil {
			return nil, terr("variables."+name, err)
		}
	}
	var out []Resource
	expanded := 0
	skipped := map[string]bool{}
	s.declared = map[string]string{}
	for i, raw := range t.Resources {
		path := fmt.Sprintf("resources[%d]", i)
		instances, loop, err := s.expandCopy(raw)
		if err != nil {
			return nil, terr(path+".copy", err)
		}
		if expanded += len(instances); expanded > maxResources {
			return nil, &Error{Path: path, Message: fmt.Sprintf("the template declares more than %d resources, copies included", maxResources), err: errBudget}
		}
		for j, loops := range instances {
			ipath := path
			if loop != "" {
				ipath = fmt.Sprintf("%s[copy %d]", path, j)
			}
			r, keep, err := s.header(raw, loops, ipath)
			s.loops = nil
			if err != nil {
				return nil, err
			}
			if !keep {
				skipped[strings.ToLower(r.ID)] = true
				continue
			}
			r.loop = loop
			out = append(out, r)
			name := r.ID[strings.LastIndex(r.ID, "/")+1:]
			s.declared[strings.ToLower(name)] = r.ID
		}
		if loop != "" {
			skipped[loop] = len(instances) == 0
		}
	}
	ordered, err := order(out, skipped)
	if err != nil {
		return nil, err
	}
	return &Plan{Parameters: params, Resources: ordered, s: s}, nil
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
			dv, err := s.evalValue(spec.DefaultValue)
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
		return fmt.Errorf("unknown parameter type %q", spec.Type)
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
		return fmt.Errorf("the value %v is not one of the allowed values %v", v, spec.AllowedValues)
	}
	return nil
}
