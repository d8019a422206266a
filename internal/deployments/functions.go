package deployments

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// call evaluates a template function (the subset real templates use).
func (s *scope) call(name string, args []any) (any, error) {
	str := func(i int) (string, error) {
		if i >= len(args) {
			return "", fmt.Errorf("%s() needs at least %d arguments", name, i+1)
		}
		v, ok := args[i].(string)
		if !ok {
			return "", fmt.Errorf("%s() argument %d must be a string, got %T", name, i+1, args[i])
		}
		return v, nil
	}
	nargs := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s() takes %d arguments, got %d", name, n, len(args))
		}
		return nil
	}
	switch name {
	case "parameters":
		k, err := str(0)
		if err != nil {
			return nil, err
		}
		v, ok := lookupFold(s.params, k)
		if !ok {
			return nil, fmt.Errorf("the template parameter '%s' is not found", k)
		}
		return v, nil
	case "variables":
		k, err := str(0)
		if err != nil {
			return nil, err
		}
		return s.variable(k)
	case "concat":
		if len(args) > 0 {
			if _, ok := args[0].([]any); ok {
				var out []any
				for _, a := range args {
					arr, ok := a.([]any)
					if !ok {
						return nil, fmt.Errorf("concat() mixes arrays and %T", a)
					}
					out = append(out, arr...)
				}
				return out, nil
			}
		}
		var b strings.Builder
		for _, a := range args {
			b.WriteString(toString(a))
		}
		return b.String(), nil
	case "format":
		f, err := str(0)
		if err != nil {
			return nil, err
		}
		for i, a := range args[1:] {
			f = strings.ReplaceAll(f, fmt.Sprintf("{%d}", i), toString(a))
		}
		return f, nil
	case "tolower":
		v, err := str(0)
		return strings.ToLower(v), err
	case "toupper":
		v, err := str(0)
		return strings.ToUpper(v), err
	case "string":
		if err := nargs(1); err != nil {
			return nil, err
		}
		return toString(args[0]), nil
	case "uniquestring":
		parts := make([]string, len(args))
		for i := range args {
			v, err := str(i)
			if err != nil {
				return nil, err
			}
			parts[i] = v
		}
		return uniqueString(parts...), nil
	case "resourcegroup":
		return map[string]any{"id": "/subscriptions/" + s.sub + "/resourceGroups/" + s.rg, "name": s.rg, "location": s.location,
			"type": "Microsoft.Resources/resourceGroups", "properties": map[string]any{"provisioningState": "Succeeded"}}, nil
	case "subscription":
		return map[string]any{"id": "/subscriptions/" + s.sub, "subscriptionId": s.sub, "tenantId": s.tenant, "displayName": "Bulkhead"}, nil
	case "deployment":
		return map[string]any{"name": s.deployment}, nil
	case "resourceid":
		return s.resourceID(args)
	case "if":
		if err := nargs(3); err != nil {
			return nil, err
		}
		c, ok := args[0].(bool)
		if !ok {
			return nil, fmt.Errorf("if() condition must be a bool")
		}
		if c {
			return args[1], nil
		}
		return args[2], nil
	case "equals":
		if err := nargs(2); err != nil {
			return nil, err
		}
		a, _ := json.Marshal(args[0])
		b, _ := json.Marshal(args[1])
		return string(a) == string(b), nil
	case "not":
		if err := nargs(1); err != nil {
			return nil, err
		}
		b, ok := args[0].(bool)
		if !ok {
			return nil, fmt.Errorf("not() needs a bool")
		}
		return !b, nil
	case "and", "or":
		res := name == "and"
		for _, a := range args {
			b, ok := a.(bool)
			if !ok {
				return nil, fmt.Errorf("%s() needs bools", name)
			}
			if name == "and" {
				res = res && b
			} else {
				res = res || b
			}
		}
		return res, nil
	case "null":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "length":
		if err := nargs(1); err != nil {
			return nil, err
		}
		switch x := args[0].(type) {
		case string:
			return float64(len(x)), nil
		case []any:
			return float64(len(x)), nil
		case map[string]any:
			return float64(len(x)), nil
		}
		return nil, fmt.Errorf("length() of %T", args[0])
	case "empty":
		if err := nargs(1); err != nil {
			return nil, err
		}
		switch x := args[0].(type) {
		case nil:
			return true, nil
		case string:
			return x == "", nil
		case []any:
			return len(x) == 0, nil
		case map[string]any:
			return len(x) == 0, nil
		}
		return false, nil
	case "replace":
		a, err := str(0)
		if err != nil {
			return nil, err
		}
		o, err := str(1)
		if err != nil {
			return nil, err
		}
		n, err := str(2)
		return strings.ReplaceAll(a, o, n), err
	case "reference":
		return s.referenceCall(args)
	}
	if v, ok, err := s.callMore(name, args); ok {
		return v, err
	}
	return nil, fmt.Errorf("the template function '%s' is not supported", name)
}

// errDeferred marks a function that only the running deployment can
// evaluate: validation skips what depends on it.
var errDeferred = errors.New("it is evaluated when the deployment runs")

// referenceCall implements reference(resourceIdOrName, [apiVersion], ['Full']).
func (s *scope) referenceCall(args []any) (any, error) {
	a := argReader{fn: "reference", args: args}
	if err := a.count(1, 3); err != nil {
		return nil, err
	}
	id, err := a.str(0)
	if err != nil {
		return nil, err
	}
	var api string
	if len(args) > 1 {
		if api, err = a.str(1); err != nil {
			return nil, err
		}
	}
	full := false
	if len(args) > 2 {
		f, err := a.str(2)
		if err != nil || !strings.EqualFold(f, "Full") {
			return nil, fmt.Errorf("reference() third argument must be 'Full'")
		}
		full = true
	}
	if s.reference == nil {
		return nil, fmt.Errorf("reference('%s') cannot be used here: %w", id, errDeferred)
	}
	if !strings.HasPrefix(id, "/") {
		declared, ok := s.declared[strings.ToLower(id)]
		if !ok {
			return nil, fmt.Errorf("reference('%s'): no resource of that name is declared in the template; pass a resource id", id)
		}
		id = declared
	}
	return s.reference(id, api, full)
}

// listCall implements the list* functions, such as
// listCredentials(resourceId, apiVersion): a POST of that action.
func (s *scope) listCall(action string, args []any) (any, error) {
	a := argReader{fn: action, args: args}
	if err := a.count(2, 3); err != nil {
		return nil, err
	}
	id, err := a.str(0)
	if err != nil {
		return nil, err
	}
	api, err := a.str(1)
	if err != nil {
		return nil, err
	}
	if s.list == nil {
		return nil, fmt.Errorf("%s('%s') cannot be used here: %w", action, id, errDeferred)
	}
	return s.list(action, id, api, a.at(2))
}

// variable evaluates a variable on first use, detecting cycles.
func (s *scope) variable(k string) (any, error) {
	if v, ok := lookupFold(s.variables, k); ok {
		return v, nil
	}
	raw, ok := lookupFold(s.varExprs, k)
	if !ok {
		return nil, fmt.Errorf("the template variable '%s' is not found", k)
	}
	if s.evaluating[strings.ToLower(k)] {
		return nil, fmt.Errorf("the template variable '%s' refers to itself", k)
	}
	s.evaluating[strings.ToLower(k)] = true
	v, err := s.evalValue(raw)
	if err != nil {
		return nil, fmt.Errorf("variables.%s: %w", k, err)
	}
	s.variables[k] = v
	return v, nil
}

// resourceID builds an id: resourceId([sub], [rg], type, name1, name2...).
func (s *scope) resourceID(args []any) (any, error) {
	strs := make([]string, len(args))
	for i, a := range args {
		v, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("resourceId() arguments must be strings")
		}
		strs[i] = v
	}
	sub, rg := s.sub, s.rg
	typeIdx := -1
	for i, v := range strs {
		if strings.Contains(v, "/") && strings.Contains(v, ".") {
			typeIdx = i
			break
		}
	}
	if typeIdx < 0 {
		return nil, fmt.Errorf("resourceId() needs a resource type such as Microsoft.ContainerRegistry/registries")
	}
	switch typeIdx {
	case 1:
		rg = strs[0]
	case 2:
		sub, rg = strs[0], strs[1]
	}
	typ, names := strs[typeIdx], strs[typeIdx+1:]
	segs := strings.Split(typ, "/")
	if len(segs)-1 != len(names) {
		return nil, fmt.Errorf("resourceId() for type %s needs %d names, got %d", typ, len(segs)-1, len(names))
	}
	id := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + segs[0]
	for i, n := range names {
		id += "/" + segs[i+1] + "/" + n
	}
	return id, nil
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	case bool:
		return fmt.Sprint(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
