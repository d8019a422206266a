package template

import (
	"fmt"
	"sort"
	"strings"
)

// contains(container, item): a substring (case-sensitive), an array
// element, or an object key (case-insensitive).
func fnContains(_ *scope, a args) (any, error) {
	if err := a.count(2, 2); err != nil {
		return nil, err
	}
	switch c := a.list[0].(type) {
	case string:
		item, err := text(a.fn, a.list[1])
		return strings.Contains(c, item), err
	case []any:
		want, err := marshal(a.fn, a.list[1])
		if err != nil {
			return nil, err
		}
		for _, e := range c {
			got, err := marshal(a.fn, e)
			if err != nil {
				return nil, err
			}
			if string(got) == string(want) {
				return true, nil
			}
		}
	case map[string]any:
		k, ok := a.list[1].(string)
		if !ok {
			return false, nil
		}
		_, found := lookupFold(c, k)
		return found, nil
	}
	return false, nil
}

func fnCreateArray(_ *scope, a args) (any, error) {
	return append([]any{}, a.list...), nil
}

// createObject(key1, value1, key2, value2...).
func fnCreateObject(_ *scope, a args) (any, error) {
	if len(a.list)%2 != 0 {
		return nil, fmt.Errorf("createObject() takes key and value pairs, got %d arguments", len(a.list))
	}
	out := map[string]any{}
	for i := 0; i < len(a.list); i += 2 {
		k, err := a.str(i)
		if err != nil {
			return nil, err
		}
		out[k] = a.list[i+1]
	}
	return out, nil
}

// union merges objects (later keys win) or arrays (without duplicates).
func fnUnion(_ *scope, a args) (any, error) {
	if len(a.list) == 0 {
		return nil, fmt.Errorf("union() needs arguments")
	}
	switch a.list[0].(type) {
	case map[string]any:
		out := map[string]any{}
		for _, x := range a.list {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("union() mixes an object and %s", typeName(x))
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, nil
	case []any:
		return unionArrays(a)
	}
	return nil, fmt.Errorf("union() of %s", typeName(a.list[0]))
}

func unionArrays(a args) (any, error) {
	var out []any
	seen := map[string]bool{}
	for _, x := range a.list {
		arr, ok := x.([]any)
		if !ok {
			return nil, fmt.Errorf("union() mixes an array and %s", typeName(x))
		}
		for _, e := range arr {
			k, err := marshal(a.fn, e)
			if err != nil {
				return nil, err
			}
			if !seen[string(k)] {
				seen[string(k)] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// items(object) is [{key, value}...] in key order.
func fnItems(_ *scope, a args) (any, error) {
	m, err := a.object(0)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Each property becomes an object of its own: {key, value}.
	if err := fits(a.fn, arrayCost+len(m)*(scalarCost+objectCost+groupCost+2*entryCost+len("keyvalue"))); err != nil {
		return nil, err
	}
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = map[string]any{"key": k, "value": m[k]}
	}
	return out, nil
}

// range(start, count) is count integers from start.
func fnRange(_ *scope, a args) (any, error) {
	start, err := a.integer(0)
	if err != nil {
		return nil, err
	}
	n, err := a.integer(1)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > 10000 {
		return nil, fmt.Errorf("range() count must be 0 to 10000, got %d", n)
	}
	out := make([]any, n)
	for i := range out {
		out[i] = float64(start + i)
	}
	return out, nil
}

func fnFirst(_ *scope, a args) (any, error) { return end(a, true) }
func fnLast(_ *scope, a args) (any, error)  { return end(a, false) }

// end is the first or last character of a string or element of an array.
func end(a args, first bool) (any, error) {
	if err := a.count(1, 1); err != nil {
		return nil, err
	}
	switch x := a.list[0].(type) {
	case string:
		if x == "" {
			return "", nil
		}
		if first {
			return x[:1], nil
		}
		return x[len(x)-1:], nil
	case []any:
		if len(x) == 0 {
			return nil, nil
		}
		if first {
			return x[0], nil
		}
		return x[len(x)-1], nil
	}
	return nil, fmt.Errorf("%s() of %s", a.fn, typeName(a.list[0]))
}

func fnTake(_ *scope, a args) (any, error) { return cut(a, true) }
func fnSkip(_ *scope, a args) (any, error) { return cut(a, false) }

// cut takes or skips the first n characters of a string or elements of an
// array.
func cut(a args, take bool) (any, error) {
	n, err := a.integer(1)
	if err != nil {
		return nil, err
	}
	switch x := a.at(0).(type) {
	case string:
		n = max(0, min(n, len(x)))
		if take {
			return x[:n], nil
		}
		return x[n:], nil
	case []any:
		n = max(0, min(n, len(x)))
		if take {
			return append([]any{}, x[:n]...), nil
		}
		return append([]any{}, x[n:]...), nil
	}
	return nil, fmt.Errorf("%s() of %s", a.fn, typeName(a.at(0)))
}
