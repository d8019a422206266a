package template

import (
	"fmt"
	"strings"
)

// args is one call's arguments with the function's name, read by the
// checked accessors below so that every function words its errors alike.
type args struct {
	fn   string // the function's name as errors show it, lower-cased
	list []any
}

// at returns argument i, or nil past the end.
func (a args) at(i int) any {
	if i < len(a.list) {
		return a.list[i]
	}
	return nil
}

// count checks that there are lo to hi arguments.
func (a args) count(lo, hi int) error {
	if len(a.list) < lo || len(a.list) > hi {
		return fmt.Errorf("%s() takes %d to %d arguments, got %d", a.fn, lo, hi, len(a.list))
	}
	return nil
}

// exactly checks that there are n arguments.
func (a args) exactly(n int) error {
	if len(a.list) != n {
		return fmt.Errorf("%s() takes %d arguments, got %d", a.fn, n, len(a.list))
	}
	return nil
}

// str reads argument i as a string.
func (a args) str(i int) (string, error) {
	v, ok := a.at(i).(string)
	if !ok {
		return "", fmt.Errorf("%s() argument %d must be a string, got %s", a.fn, i+1, typeName(a.at(i)))
	}
	return v, nil
}

// legacyStr is str in the wording that parameters, variables, format,
// toLower, toUpper, uniqueString and replace have always used: a missing
// argument is counted, a wrong one named by its Go type. It is kept so
// that their error texts do not change.
func (a args) legacyStr(i int) (string, error) {
	if i >= len(a.list) {
		return "", fmt.Errorf("%s() needs at least %d arguments", a.fn, i+1)
	}
	v, ok := a.list[i].(string)
	if !ok {
		return "", fmt.Errorf("%s() argument %d must be a string, got %T", a.fn, i+1, a.list[i])
	}
	return v, nil
}

// strs reads every argument as a string.
func (a args) strs() ([]string, error) {
	out := make([]string, len(a.list))
	for i := range a.list {
		var err error
		if out[i], err = a.str(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// integer reads argument i as an integer.
func (a args) integer(i int) (int, error) {
	v, ok := a.at(i).(float64)
	if !ok {
		return 0, fmt.Errorf("%s() argument %d must be an integer, got %s", a.fn, i+1, typeName(a.at(i)))
	}
	return int(v), nil
}

// object reads argument i as an object.
func (a args) object(i int) (map[string]any, error) {
	v, ok := a.at(i).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s() argument %d must be an object, got %s", a.fn, i+1, typeName(a.at(i)))
	}
	return v, nil
}

// typeName names a JSON value's type as template authors know them.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "int"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// text is a value as string() and concat() write it: strings as they are,
// integers in decimal, arrays and objects as JSON.
func text(fn string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return fmt.Sprint(int64(x)), nil
	case bool:
		return fmt.Sprint(x), nil
	case nil:
		return "", nil
	}
	b, err := marshal(fn, v)
	return string(b), err
}

// lookupFold finds key k in m, exactly or else ignoring case, as ARM
// matches names.
func lookupFold(m map[string]any, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return nil, false
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	}
	return 0, false
}
