package client

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pathSegment is a property name with optional list indices: a.b[0].c.
type pathSegment struct {
	name    string
	indices []int
}

func parsePath(p string) ([]pathSegment, error) {
	var out []pathSegment
	for _, part := range strings.Split(p, ".") {
		seg := pathSegment{}
		name, rest, _ := strings.Cut(part, "[")
		seg.name = name
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, fmt.Errorf("invalid path %q", p)
			}
			n, err := strconv.Atoi(idx)
			if err != nil {
				return nil, fmt.Errorf("invalid index in %q", p)
			}
			seg.indices = append(seg.indices, n)
			rest = strings.TrimPrefix(after, "[")
		}
		if seg.name == "" && len(seg.indices) == 0 {
			return nil, fmt.Errorf("invalid path %q", p)
		}
		out = append(out, seg)
	}
	return out, nil
}

// jsonOrString parses a --set value as JSON when it is JSON, else keeps the
// string (az's rule).
func jsonOrString(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		return v
	}
	return s
}

// key finds a property case-insensitively, keeping the stored spelling.
func key(m map[string]any, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return name, false
}

// walk resolves all but the last segment, az-style: every intermediate
// object must exist.
func walk(doc map[string]any, segs []pathSegment, full string) (any, error) {
	var cur any = doc
	for _, s := range segs {
		if s.name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("couldn't find '%s' in '%s'", s.name, full)
			}
			k, found := key(m, s.name)
			if !found {
				return nil, fmt.Errorf("couldn't find '%s' in '%s'. Available options: %v", s.name, full, keys(m))
			}
			cur = m[k]
		}
		for _, i := range s.indices {
			l, ok := cur.([]any)
			if !ok || i < 0 || i >= len(l) {
				return nil, fmt.Errorf("index %d out of range in '%s'", i, full)
			}
			cur = l[i]
		}
	}
	return cur, nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// setPath applies --set path=value.
func setPath(doc map[string]any, expr string) error {
	p, val, ok := strings.Cut(expr, "=")
	if !ok {
		return fmt.Errorf("--set expects path=value, got %q", expr)
	}
	segs, err := parsePath(p)
	if err != nil {
		return err
	}
	last := segs[len(segs)-1]
	parent, err := walk(doc, segs[:len(segs)-1], p)
	if err != nil {
		return err
	}
	v := jsonOrString(val)
	if len(last.indices) == 0 {
		m, ok := parent.(map[string]any)
		if !ok {
			return fmt.Errorf("cannot set '%s' on a non-object", p)
		}
		k, _ := key(m, last.name)
		m[k] = v
		return nil
	}
	target, err := walk(doc, append(segs[:len(segs)-1:len(segs)-1], pathSegment{name: last.name, indices: last.indices[:len(last.indices)-1]}), p)
	if err != nil {
		return err
	}
	l, ok := target.([]any)
	i := last.indices[len(last.indices)-1]
	if !ok || i < 0 || i >= len(l) {
		return fmt.Errorf("index %d out of range in '%s'", i, p)
	}
	l[i] = v
	return nil
}

// addPath applies --add path value...: appends to a list; key=value
// pairs make one object.
func addPath(doc map[string]any, p string, values []string) error {
	segs, err := parsePath(p)
	if err != nil {
		return err
	}
	parentSegs, last := segs[:len(segs)-1], segs[len(segs)-1]
	parent, err := walk(doc, parentSegs, p)
	if err != nil {
		return err
	}
	m, ok := parent.(map[string]any)
	if !ok {
		return fmt.Errorf("'%s' is not in an object", p)
	}
	k, _ := key(m, last.name)
	l, _ := m[k].([]any)
	if m[k] != nil && l == nil {
		return fmt.Errorf("'%s' is not a list", p)
	}
	obj := map[string]any{}
	for _, v := range values {
		if kk, vv, ok := strings.Cut(v, "="); ok && !strings.HasPrefix(v, "{") {
			obj[kk] = jsonOrString(vv)
		} else {
			l = append(l, jsonOrString(v))
		}
	}
	if len(obj) > 0 {
		l = append(l, obj)
	}
	m[k] = l
	return nil
}

// removePath applies --remove path [index].
func removePath(doc map[string]any, p, index string) error {
	segs, err := parsePath(p)
	if err != nil {
		return err
	}
	if index != "" {
		target, err := walk(doc, segs, p)
		if err != nil {
			return err
		}
		l, ok := target.([]any)
		i, aerr := strconv.Atoi(index)
		if !ok || aerr != nil || i < 0 || i >= len(l) {
			return fmt.Errorf("index %s out of range in '%s'", index, p)
		}
		return setList(doc, segs, append(l[:i:i], l[i+1:]...))
	}
	parent, err := walk(doc, segs[:len(segs)-1], p)
	if err != nil {
		return err
	}
	m, ok := parent.(map[string]any)
	if !ok {
		return fmt.Errorf("cannot remove '%s'", p)
	}
	k, _ := key(m, segs[len(segs)-1].name)
	delete(m, k)
	return nil
}

func setList(doc map[string]any, segs []pathSegment, l []any) error {
	parent, err := walk(doc, segs[:len(segs)-1], "")
	if err != nil {
		return err
	}
	m, ok := parent.(map[string]any)
	if !ok {
		return fmt.Errorf("cannot update list")
	}
	k, _ := key(m, segs[len(segs)-1].name)
	m[k] = l
	return nil
}
