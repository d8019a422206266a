package template

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// scope is what template expressions can see. It is not safe for
// concurrent use: evaluation moves its copy-loop indices and fills its
// variable cache.
type scope struct {
	env        Env
	functions  map[string]function // builtins(), by lower-cased name
	params     map[string]any
	variables  map[string]any
	varExprs   map[string]any  // unevaluated, for lazy evaluation
	evaluating map[string]bool // variables whose evaluation has begun
	varDepth   int             // variables being evaluated, one inside another
	// loops holds the copy-loop indices in effect: "" is the resource's
	// own loop, other keys are lower-cased loop names.
	loops map[string]int
	// declared maps the names of the template's resources (lower-cased)
	// to their ids, for reference('name').
	declared map[string]string
	// resolver reaches the running deployment; nil where the template may
	// not use it yet (validation, names, dependsOn).
	resolver Resolver
	// spent is the work charged so far against maxWork.
	spent int
}

func newScope(env Env) *scope {
	return &scope{env: env, functions: builtins(), variables: map[string]any{}, evaluating: map[string]bool{}}
}

// evalValue evaluates every "[...]" string inside v.
func (s *scope) evalValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return s.evalString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := s.evalValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		if c, ok := x["copy"].([]any); ok {
			if err := s.propertyCopies(c, out); err != nil {
				return nil, fmt.Errorf("copy: %w", err)
			}
		}
		// Sorted, so that errors and resolver calls come in the same order
		// on every run.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if _, isCopy := out[k]; isCopy || k == "copy" {
				continue
			}
			r, err := s.evalValue(x[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// propertyCopies expands a property copy element, [{name, count, input}],
// into out: each name becomes an array of count evaluated inputs, with
// copyIndex('name') giving the position.
func (s *scope) propertyCopies(specs []any, out map[string]any) error {
	for i, sp := range specs {
		spec, ok := sp.(map[string]any)
		if !ok {
			return fmt.Errorf("[%d] must be an object with name, count and input", i)
		}
		nameRaw, _ := lookupFold(spec, "name")
		name, ok := nameRaw.(string)
		if !ok || name == "" {
			return fmt.Errorf("[%d] needs a name", i)
		}
		countRaw, _ := lookupFold(spec, "count")
		count, err := s.copyCount(countRaw)
		if err != nil {
			return fmt.Errorf("[%d].%w", i, err)
		}
		input, ok := lookupFold(spec, "input")
		if !ok {
			return fmt.Errorf("[%d] needs an input", i)
		}
		if out[name], err = s.expandInput(name, count, input); err != nil {
			return err
		}
	}
	return nil
}

// copyCount evaluates a copy loop's count: an integer from 0 to maxCopy.
// Its errors read "count…", for the caller to prefix.
func (s *scope) copyCount(raw any) (int, error) {
	cv, err := s.evalValue(raw)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	count, ok := cv.(float64)
	if !ok || count < 0 || count > maxCopy || count != float64(int(count)) {
		return 0, fmt.Errorf("count must be an integer from 0 to %d, got %v", maxCopy, cv)
	}
	return int(count), nil
}

// expandInput evaluates input count times with copyIndex(name) giving the
// position, restoring the loops in effect afterwards. The items together
// may not exceed maxValue, so that nested copies cannot multiply without
// bound.
func (s *scope) expandInput(name string, count int, input any) ([]any, error) {
	loop := strings.ToLower(name)
	saved, had := s.loops[loop]
	if s.loops == nil {
		s.loops = map[string]int{}
	} else {
		s.loops = maps.Clone(s.loops)
	}
	items := make([]any, count)
	size := 0
	for j := range items {
		s.loops[loop] = j
		v, err := s.evalValue(input)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", name, j, err)
		}
		if size += measure(v, maxValue+1); size > maxValue {
			return nil, fmt.Errorf("%s: the copies exceed %d bytes: %w", name, maxValue, errBudget)
		}
		items[j] = v
	}
	if had {
		s.loops[loop] = saved
	} else {
		delete(s.loops, loop)
	}
	return items, nil
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
	if s.varDepth >= maxVariableDepth {
		return nil, fmt.Errorf("the template variable '%s' is reached through more than %d other variables: %w", k, maxVariableDepth, errBudget)
	}
	s.evaluating[strings.ToLower(k)] = true
	s.varDepth++
	v, err := s.evalValue(raw)
	s.varDepth--
	if err != nil {
		return nil, fmt.Errorf("variables.%s: %w", k, err)
	}
	s.variables[k] = v
	return v, nil
}
