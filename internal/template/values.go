package template

import (
	"encoding/json"
	"fmt"
	"strings"
)

// parameters('name') is a parameter's value.
func fnParameters(s *scope, a args) (any, error) {
	k, err := a.legacyStr(0)
	if err != nil {
		return nil, err
	}
	v, c, ok := s.parameter(k)
	if !ok {
		return nil, fmt.Errorf("the template parameter '%s' is not found", brief(k))
	}
	return sized{v, c}, nil
}

// variables('name') is a variable's value, evaluated on first use.
func fnVariables(s *scope, a args) (any, error) {
	k, err := a.legacyStr(0)
	if err != nil {
		return nil, err
	}
	v, c, err := s.variable(k)
	if err != nil {
		return nil, err
	}
	return sized{v, c}, nil
}

// concat joins arrays, when the first argument is one, or else the text of
// every argument.
func fnConcat(_ *scope, a args) (any, error) {
	if _, ok := a.at(0).([]any); ok {
		return concatArrays(a)
	}
	parts := make([]string, len(a.list))
	n := 0
	for i, v := range a.list {
		t, err := text(a.fn, v)
		if err != nil {
			return nil, err
		}
		parts[i], n = t, n+len(t)
	}
	if err := fits(a.fn, n); err != nil {
		return nil, err
	}
	return strings.Join(parts, ""), nil
}

func concatArrays(a args) (any, error) {
	n := 0
	for _, v := range a.list {
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("concat() mixes arrays and %T", v)
		}
		n += len(arr)
	}
	if err := fits(a.fn, arrayCost+n*scalarCost); err != nil { // the least an element costs
		return nil, err
	}
	var out []any
	for _, v := range a.list {
		out = append(out, v.([]any)...)
	}
	return out, nil
}

// format('{0}-{1}', a, b) puts the text of each argument in its place.
func fnFormat(s *scope, a args) (any, error) {
	f, err := a.legacyStr(0)
	if err != nil {
		return nil, err
	}
	for i, v := range a.list[1:] {
		t, err := text(a.fn, v)
		if err != nil {
			return nil, err
		}
		if err := s.charge(len(f)); err != nil {
			return nil, err
		}
		ph := fmt.Sprintf("{%d}", i)
		if err := fits(a.fn, len(f)+strings.Count(f, ph)*(len(t)-len(ph))); err != nil {
			return nil, err
		}
		f = strings.ReplaceAll(f, ph, t)
	}
	return f, nil
}

func fnString(_ *scope, a args) (any, error) {
	if err := a.exactly(1); err != nil {
		return nil, err
	}
	return text(a.fn, a.list[0])
}

// if(condition, then, else); both branches are evaluated, as in ARM.
func fnIf(_ *scope, a args) (any, error) {
	if err := a.exactly(3); err != nil {
		return nil, err
	}
	c, ok := a.list[0].(bool)
	if !ok {
		return nil, fmt.Errorf("if() condition must be a bool")
	}
	if c {
		return a.list[1], nil
	}
	return a.list[2], nil
}

// equals compares two values by their JSON.
func fnEquals(_ *scope, a args) (any, error) {
	if err := a.exactly(2); err != nil {
		return nil, err
	}
	x, err := marshal(a.fn, a.list[0])
	if err != nil {
		return nil, err
	}
	y, err := marshal(a.fn, a.list[1])
	if err != nil {
		return nil, err
	}
	return string(x) == string(y), nil
}

func fnNot(_ *scope, a args) (any, error) {
	if err := a.exactly(1); err != nil {
		return nil, err
	}
	b, ok := a.list[0].(bool)
	if !ok {
		return nil, fmt.Errorf("not() needs a bool")
	}
	return !b, nil
}

func fnAnd(_ *scope, a args) (any, error) {
	return fold(a, true, func(x, y bool) bool { return x && y })
}

func fnOr(_ *scope, a args) (any, error) {
	return fold(a, false, func(x, y bool) bool { return x || y })
}

// fold combines bools, every one of them checked (ARM does not
// short-circuit).
func fold(a args, res bool, op func(x, y bool) bool) (any, error) {
	for _, v := range a.list {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s() needs bools", a.fn)
		}
		res = op(res, b)
	}
	return res, nil
}

func fnNull(*scope, args) (any, error)  { return nil, nil }
func fnTrue(*scope, args) (any, error)  { return true, nil }
func fnFalse(*scope, args) (any, error) { return false, nil }

// length counts a string's bytes, an array's elements or an object's
// properties.
func fnLength(_ *scope, a args) (any, error) {
	if err := a.exactly(1); err != nil {
		return nil, err
	}
	switch x := a.list[0].(type) {
	case string:
		return float64(len(x)), nil
	case []any:
		return float64(len(x)), nil
	case map[string]any:
		return float64(len(x)), nil
	}
	return nil, fmt.Errorf("length() of %T", a.list[0])
}

// empty is true for null and for an empty string, array or object.
func fnEmpty(_ *scope, a args) (any, error) {
	if err := a.exactly(1); err != nil {
		return nil, err
	}
	switch x := a.list[0].(type) {
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
}

// coalesce is its first argument that is not null.
func fnCoalesce(_ *scope, a args) (any, error) {
	for _, x := range a.list {
		if x != nil {
			return x, nil
		}
	}
	return nil, nil
}

func fnJSON(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if err := fits(a.fn, weigh(str)); err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal([]byte(str), &out); err != nil {
		return nil, fmt.Errorf("json(): %v", err)
	}
	return out, nil
}

// int converts an integer or a decimal string.
func fnInt(_ *scope, a args) (any, error) {
	if err := a.count(1, 1); err != nil {
		return nil, err
	}
	switch x := a.list[0].(type) {
	case float64:
		return x, nil
	case string:
		var n int64
		if _, err := fmt.Sscanf(strings.TrimSpace(x), "%d", &n); err != nil {
			return nil, fmt.Errorf("int(): %q is not an integer", brief(x))
		}
		return float64(n), nil
	}
	return nil, fmt.Errorf("int() of %s", typeName(a.list[0]))
}

// bool converts a bool, an integer (non-zero is true) or "true"/"false"
// in any case.
func fnBool(_ *scope, a args) (any, error) {
	if err := a.count(1, 1); err != nil {
		return nil, err
	}
	switch x := a.list[0].(type) {
	case bool:
		return x, nil
	case float64:
		return x != 0, nil
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return nil, fmt.Errorf("bool() of %s", brief(a.list[0]))
}

// array is its argument if that is an array, or else an array of it.
func fnArray(_ *scope, a args) (any, error) {
	if err := a.count(1, 1); err != nil {
		return nil, err
	}
	if arr, ok := a.list[0].([]any); ok {
		return arr, nil
	}
	return []any{a.list[0]}, nil
}
