package template

import (
	"fmt"
	"maps"
	"math"
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
	paramCosts map[string]int   // parameters measured so far, by lower-cased name
	variables  map[string]sized // evaluated, by lower-cased name
	varExprs   map[string]any   // unevaluated, for lazy evaluation
	evaluating map[string]bool  // variables whose evaluation has begun
	varDepth   int              // variables being evaluated, one inside another
	// loops holds the copy-loop indices in effect: "" is the resource's
	// own loop, other keys are lower-cased loop names.
	loops map[string]int
	// declared maps the names of the template's resources (lower-cased)
	// to their ids, for reference('name').
	declared map[string]string
	// resolver reaches the running deployment; nil where the template may
	// not use it yet (validation, names, dependsOn).
	resolver Resolver
	spent    int // work charged so far against maxWork
	live     int // cost of the values held by the evaluation under way, against maxLive
	expanded int // the template's expanded size so far, against maxTemplate
	calls    int // resolver calls so far, against maxCalls
}

// sized is a value with its cost, as measure counts it. Functions that
// return a stored value (parameters(), variables()) wrap it in one, so
// that its cost is known without measuring it again.
type sized struct {
	v    any
	cost int
}

// varCopy is a variable that a variables copy element declares: an array
// of count inputs, with copyIndex('name') giving the position.
type varCopy struct {
	name         string
	count, input any
}

func newScope(env Env) *scope {
	return &scope{env: env, functions: builtins(), variables: map[string]sized{}, evaluating: map[string]bool{}}
}

// evalValue evaluates every "[...]" string inside v.
func (s *scope) evalValue(v any) (any, error) {
	r, _, err := s.evalSized(v)
	return r, err
}

// evalSized evaluates every "[...]" string inside v and returns the
// result with its cost. The arrays and objects it builds may not exceed
// maxValue, and their parts count against maxLive while they are built.
func (s *scope) evalSized(v any) (any, int, error) {
	switch x := v.(type) {
	case string:
		return s.evalStringSized(x)
	case []any:
		defer s.restore(s.live)
		out := make([]any, len(x))
		size := arrayCost
		for i, e := range x {
			r, c, err := s.evalSized(e)
			if err == nil {
				err = s.add(&size, c)
			}
			if err != nil {
				return nil, 0, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, size, nil
	case map[string]any:
		defer s.restore(s.live)
		out := make(map[string]any, len(x))
		copies, _ := x["copy"].([]any)
		size := objectCost + groups(len(x)+len(copies))
		if copies != nil {
			if err := s.propertyCopies(copies, out, &size); err != nil {
				return nil, 0, fmt.Errorf("copy: %w", err)
			}
		}
		// Sorted, so that errors and resolver calls come in the same order
		// on every run.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if _, isCopy := out[k]; isCopy || k == "copy" {
				continue
			}
			r, c, err := s.evalSized(x[k])
			if err == nil {
				err = s.add(&size, keyCost(k)+c)
			}
			if err != nil {
				return nil, 0, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, size, nil
	}
	return v, scalarCost, nil
}

// restore sets s.live back to what it was before a value was built, so
// that its parts are no longer counted as held (deferred by builders).
func (s *scope) restore(live int) { s.live = live }

// add counts a part of cost c into the size of the array or object being
// built, which may not pass maxValue, and holds it until the build ends.
func (s *scope) add(size *int, c int) error {
	if *size += c; *size > maxValue {
		return fmt.Errorf("the value would exceed %d bytes: %w", maxValue, errBudget)
	}
	return s.hold(c)
}

// propertyCopies expands a property copy element, [{name, count, input}],
// into out: each name becomes an array of count evaluated inputs, with
// copyIndex('name') giving the position. size is out's cost so far.
func (s *scope) propertyCopies(specs []any, out map[string]any, size *int) error {
	for i, sp := range specs {
		spec, ok := sp.(map[string]any)
		if !ok {
			return fmt.Errorf("[%d] must be an object with name, count and input", i)
		}
		nameRaw, _, err := s.field(spec, "name")
		if err != nil {
			return err
		}
		name, ok := nameRaw.(string)
		if !ok || name == "" {
			return fmt.Errorf("[%d] needs a name", i)
		}
		countRaw, _, err := s.field(spec, "count")
		if err != nil {
			return err
		}
		count, err := s.copyCount(countRaw)
		if err != nil {
			return fmt.Errorf("[%d].%w", i, err)
		}
		input, ok, err := s.field(spec, "input")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("[%d] needs an input", i)
		}
		items, c, err := s.expandInput(name, count, input)
		if err == nil {
			err = s.add(size, keyCost(name)+c)
		}
		if err != nil {
			return err
		}
		out[name] = items
	}
	return nil
}

// field is lookupFold, charged for the properties it scans when the key
// is not spelt as in the map: a template's own objects can be large, and
// copies read them again and again.
func (s *scope) field(m map[string]any, k string) (any, bool, error) {
	if v, ok := m[k]; ok {
		return v, true, nil
	}
	if err := s.charge(len(m) * entryCost); err != nil {
		return nil, false, err
	}
	v, ok := lookupFold(m, k)
	return v, ok, nil
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
		return 0, fmt.Errorf("count: the copy count must be a non-negative integer value and cannot exceed '%d', got %s", maxCopy, brief(cv))
	}
	return int(count), nil
}

// expandInput evaluates input count times with copyIndex(name) giving the
// position (the resource's own loop for ""), restoring the loops in effect
// afterwards. The items together may not exceed maxValue, so that nested
// copies cannot multiply without bound.
func (s *scope) expandInput(name string, count int, input any) ([]any, int, error) {
	loop := strings.ToLower(name)
	saved, had := s.loops[loop]
	if s.loops == nil {
		s.loops = map[string]int{}
	} else {
		s.loops = maps.Clone(s.loops)
	}
	defer s.restore(s.live)
	items := make([]any, count)
	size := arrayCost
	for j := range items {
		s.loops[loop] = j
		v, c, err := s.evalSized(input)
		if err != nil {
			return nil, 0, fmt.Errorf("%s[%d]: %w", name, j, err)
		}
		if err := s.add(&size, c); err != nil {
			return nil, 0, fmt.Errorf("%s: the copies: %w", name, err)
		}
		items[j] = v
	}
	if had {
		s.loops[loop] = saved
	} else {
		delete(s.loops, loop)
	}
	return items, size, nil
}

// variable evaluates a variable on first use, detecting cycles; its cost
// counts toward the template's expanded size.
func (s *scope) variable(k string) (any, int, error) {
	key := strings.ToLower(k)
	if v, ok := s.variables[key]; ok {
		return v.v, v.cost, nil
	}
	raw, ok := lookupFold(s.varExprs, k)
	if !ok {
		return nil, 0, fmt.Errorf("the template variable '%s' is not found", brief(k))
	}
	if s.evaluating[key] {
		return nil, 0, fmt.Errorf("the template variable '%s' refers to itself", k)
	}
	if s.varDepth >= maxVariableDepth {
		return nil, 0, fmt.Errorf("the template variable '%s' is reached through more than %d other variables: %w", k, maxVariableDepth, errBudget)
	}
	s.evaluating[key] = true
	s.varDepth++
	v, c, err := s.evalVariable(raw)
	s.varDepth--
	if err == nil {
		err = s.expand(c)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("variables.%s: %w", k, err)
	}
	s.variables[key] = sized{v, c}
	return v, c, nil
}

// evalVariable evaluates a variable's declaration: a value, or a
// variables copy.
func (s *scope) evalVariable(raw any) (any, int, error) {
	vc, ok := raw.(varCopy)
	if !ok {
		return s.evalSized(raw)
	}
	count, err := s.copyCount(vc.count)
	if err != nil {
		return nil, 0, fmt.Errorf("copy.%w", err)
	}
	// A variable copy evaluates outside any resource's loops.
	saved := s.loops
	defer func() { s.loops = saved }()
	s.loops = nil
	return s.expandInput(vc.name, count, vc.input)
}

// parameter returns a parameter's value with its cost, measured once.
func (s *scope) parameter(k string) (any, int, bool) {
	v, ok := lookupFold(s.params, k)
	if !ok {
		return nil, 0, false
	}
	key := strings.ToLower(k)
	c, ok := s.paramCosts[key]
	if !ok {
		if s.paramCosts == nil {
			s.paramCosts = map[string]int{}
		}
		// Given values were weighed with the request; defaults were built
		// within budget.
		c = measure(v, math.MaxInt)
		s.paramCosts[key] = c
	}
	return v, c, true
}

// declareVariables sets the template's variables for lazy evaluation: a
// "copy" array declares one variable per element.
func (s *scope) declareVariables(vars map[string]any) error {
	s.varExprs, s.variables, s.evaluating = map[string]any{}, map[string]sized{}, map[string]bool{}
	for k, v := range vars {
		specs, isCopy := v.([]any)
		if !strings.EqualFold(k, "copy") || !isCopy {
			s.varExprs[k] = v
			continue
		}
		for i, sp := range specs {
			spec, _ := sp.(map[string]any)
			name, _ := lookupFold(spec, "name")
			n, _ := name.(string)
			input, hasInput := lookupFold(spec, "input")
			if n == "" || !hasInput {
				return fmt.Errorf("copy[%d] must be an object with name, count and input", i)
			}
			count, _ := lookupFold(spec, "count")
			s.varExprs[n] = varCopy{name: n, count: count, input: input}
		}
	}
	return nil
}
