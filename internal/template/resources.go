package template

import (
	"fmt"
	"strings"
)

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
	count, err := s.copyCount(countRaw)
	if err != nil {
		return nil, "", err
	}
	loop := strings.ToLower(name)
	out := make([]map[string]int, count)
	for j := range out {
		out[j] = map[string]int{"": j, loop: j}
	}
	return out, loop, nil
}

// header evaluates what identifies one resource instance and its place in
// the order. keep is false when its condition is false.
func (s *scope) header(raw map[string]any, loops map[string]int, path string) (r Resource, keep bool, err error) {
	s.loops = loops
	r = Resource{raw: raw, loops: loops, path: path}
	if r.Type, err = s.stringField(raw, "type", path); err != nil {
		return r, false, err
	}
	name, err := s.stringField(raw, "name", path)
	if err != nil {
		return r, false, err
	}
	if r.APIVersion, err = s.stringField(raw, "apiVersion", path); err != nil {
		return r, false, err
	}
	if r.Type == "" || name == "" || r.APIVersion == "" {
		return r, false, &Error{Path: path, Message: "a resource needs type, name and apiVersion"}
	}
	if r.ID, err = resourceID(s.env, idArgs(r.Type, name)); err != nil {
		return r, false, terr(path+".name", err)
	}
	keep = true
	if c, ok := lookupFold(raw, "condition"); ok {
		cv, err := s.evalValue(c)
		if err != nil {
			return r, false, terr(path+".condition", err)
		}
		b, ok := cv.(bool)
		if !ok {
			return r, false, &Error{Path: path + ".condition", Message: fmt.Sprintf("condition must be a bool, got %s", typeName(cv))}
		}
		keep = b
	}
	if r.dependsOn, err = s.dependsOn(raw, path); err != nil {
		return r, false, err
	}
	return r, keep, nil
}

// stringField evaluates the resource's field k, which must be a string;
// it is "" when absent.
func (s *scope) stringField(raw map[string]any, k, path string) (string, error) {
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
		return "", &Error{Path: path + "." + k, Message: fmt.Sprintf("%s must be a string, got %s", k, typeName(ev))}
	}
	return str, nil
}

// dependsOn evaluates the resource's dependsOn: an array of strings.
func (s *scope) dependsOn(raw map[string]any, path string) ([]string, error) {
	d, ok := lookupFold(raw, "dependsOn")
	if !ok {
		return nil, nil
	}
	dv, err := s.evalValue(d)
	if err != nil {
		return nil, terr(path+".dependsOn", err)
	}
	arr, ok := dv.([]any)
	if !ok {
		return nil, &Error{Path: path + ".dependsOn", Message: "dependsOn must be an array"}
	}
	var out []string
	for _, x := range arr {
		ds, ok := x.(string)
		if !ok {
			return nil, &Error{Path: path + ".dependsOn", Message: "dependsOn entries must be strings"}
		}
		out = append(out, ds)
	}
	return out, nil
}

// idArgs turns ("A.B/x/y", "n1/n2") into resourceId arguments.
func idArgs(typ, name string) []any {
	args := []any{typ}
	for _, n := range strings.Split(name, "/") {
		args = append(args, n)
	}
	return args
}

// order sorts resources so each comes after what it dependsOn: an id, the
// last segments of a name, or a copy loop's name (every instance). A
// dependency on a resource whose condition is false is dropped, as in ARM.
func order(rs []Resource, skipped map[string]bool) ([]Resource, error) {
	byKey := map[string]int{}
	for i, r := range rs {
		byKey[strings.ToLower(r.ID)] = i
	}
	state := make([]int, len(rs)) // 0 new, 1 visiting, 2 done
	var out []Resource
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return &Error{Path: rs[i].path + ".dependsOn", Message: "circular dependency"}
		case 2:
			return nil
		}
		state[i] = 1
		for _, d := range rs[i].dependsOn {
			js, ok := resolveDep(rs, byKey, skipped, d)
			if !ok {
				return &Error{Path: rs[i].path + ".dependsOn", Message: fmt.Sprintf("the resource '%s' is not defined in the template", d)}
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

// resolveDep finds the resources a dependsOn entry names. ok is true with
// none when it names only resources whose condition is false.
func resolveDep(rs []Resource, byKey map[string]int, skipped map[string]bool, dep string) ([]int, bool) {
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
		if strings.HasSuffix(strings.ToLower(r.ID), "/"+d) {
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
