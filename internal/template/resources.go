package template

import (
	"fmt"
	"strings"
)

// expandCopy reads a resource's copy element (fields are by lower-cased
// key): one instance with no loop, or count instances whose copyIndex()
// is 0..count-1.
func (s *scope) expandCopy(fields map[string]any) ([]map[string]int, string, error) {
	c, ok := fields["copy"]
	if !ok {
		return []map[string]int{nil}, "", nil
	}
	spec, ok := c.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("copy must be an object with name and count")
	}
	nameRaw, _, err := s.field(spec, "name")
	if err != nil {
		return nil, "", err
	}
	name, ok := nameRaw.(string)
	if !ok || name == "" {
		return nil, "", fmt.Errorf("copy needs a name")
	}
	countRaw, _, err := s.field(spec, "count")
	if err != nil {
		return nil, "", err
	}
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
// the order. keep is false when its condition is false. What it keeps
// counts toward the expanded template.
func (s *scope) header(fields map[string]any, loops map[string]int, path string) (r Resource, keep bool, err error) {
	s.loops = loops
	r = Resource{fields: fields, loops: loops, path: path}
	if r.Type, err = s.stringField(fields, "type", path); err != nil {
		return r, false, err
	}
	name, err := s.stringField(fields, "name", path)
	if err != nil {
		return r, false, err
	}
	if r.APIVersion, err = s.stringField(fields, "apiVersion", path); err != nil {
		return r, false, err
	}
	if r.Type == "" || name == "" || r.APIVersion == "" {
		return r, false, &Error{Path: path, Message: "a resource needs type, name and apiVersion"}
	}
	if r.ID, err = resourceID(s.env, idArgs(r.Type, name)); err != nil {
		return r, false, terr(path+".name", err)
	}
	keep = true
	if c, ok := fields["condition"]; ok {
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
	if r.dependsOn, err = s.dependsOn(fields, path); err != nil {
		return r, false, err
	}
	size := 3*stringCost + len(r.ID) + len(r.Type) + len(r.APIVersion)
	for _, d := range r.dependsOn {
		size += stringCost + len(d)
	}
	if err := s.expand(size); err != nil {
		return r, false, terr(path, err)
	}
	return r, keep, nil
}

// stringField evaluates the resource's field k, which must be a string;
// it is "" when absent.
func (s *scope) stringField(fields map[string]any, k, path string) (string, error) {
	v, ok := fields[strings.ToLower(k)]
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

// dependsOn evaluates the resource's dependsOn: an array of strings, each
// kept once.
func (s *scope) dependsOn(fields map[string]any, path string) ([]string, error) {
	d, ok := fields["dependson"]
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
	seen := map[string]bool{}
	for _, x := range arr {
		ds, ok := x.(string)
		if !ok {
			return nil, &Error{Path: path + ".dependsOn", Message: "dependsOn entries must be strings"}
		}
		if k := strings.ToLower(ds); !seen[k] {
			seen[k] = true
			out = append(out, ds)
		}
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
	deps := newDepIndex(rs, skipped)
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
			js, ok := deps.resolve(d)
			if !ok {
				return &Error{Path: rs[i].path + ".dependsOn", Message: fmt.Sprintf("the resource '%s' is not defined in the template", brief(d))}
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

// depIndex finds what a dependsOn entry names in constant time, so that
// 800 resources each depending on 800 others stay quick.
type depIndex struct {
	byID     map[string]int   // lower-cased id → resource
	byLoop   map[string][]int // copy loop → its instances
	byTail   map[string]int   // lower-cased id after any "/" → the first resource with it
	skipTail map[string]bool  // the same, for skipped resources and loops
}

func newDepIndex(rs []Resource, skipped map[string]bool) depIndex {
	x := depIndex{byID: map[string]int{}, byLoop: map[string][]int{}, byTail: map[string]int{}, skipTail: map[string]bool{}}
	for i, r := range rs {
		id := strings.ToLower(r.ID)
		x.byID[id] = i
		if r.loop != "" {
			x.byLoop[r.loop] = append(x.byLoop[r.loop], i)
		}
		for j := range len(id) {
			if _, seen := x.byTail[id[j+1:]]; id[j] == '/' && !seen {
				x.byTail[id[j+1:]] = i
			}
		}
	}
	for k := range skipped {
		x.skipTail[k] = true
		for j := range len(k) {
			if k[j] == '/' {
				x.skipTail[k[j+1:]] = true
			}
		}
	}
	return x
}

// resolve finds the resources a dependsOn entry names. ok is true with
// none when it names only resources whose condition is false.
func (x depIndex) resolve(dep string) ([]int, bool) {
	d := strings.ToLower(dep)
	if i, ok := x.byID[d]; ok {
		return []int{i}, true
	}
	if found := x.byLoop[d]; len(found) > 0 {
		return found, true
	}
	if i, ok := x.byTail[d]; ok {
		return []int{i}, true
	}
	return nil, x.skipTail[d]
}
