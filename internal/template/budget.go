package template

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Budgets keep a template from exhausting the server: a request body is
// at most 4 MiB, but nested calls, variables and copies could otherwise
// multiply it without bound.
const (
	// maxCopy is ARM's limit on a copy loop's count.
	maxCopy = 800
	// maxResources is ARM's limit on a template's resources, copies
	// included.
	maxResources = 800
	// maxExpression is the longest "[...]" expression, in bytes.
	maxExpression = 64 << 10
	// maxDepth is how deeply calls and [index] accessors may nest in one
	// expression.
	maxDepth = 64
	// maxVariableDepth is how many variables may be under evaluation at
	// once, each one using the next.
	maxVariableDepth = 64
	// maxValue is the largest value (by its JSON size, roughly) a function
	// may build, and the largest a property copy may expand to: as large
	// as a whole request body.
	maxValue = 4 << 20
	// maxWork caps what one plan's function calls may process in all,
	// counted as the sizes of their arguments and results.
	maxWork = 1 << 30
)

// errBudget marks an evaluation stopped by one of the budgets above.
var errBudget = errors.New("the template exceeds an evaluation limit")

// measure estimates the JSON size of v in bytes, giving up (and returning
// more than limit) once it passes limit, so it costs no more than limit
// steps however large v is. It never exceeds the length of the JSON that
// v was decoded from, so no parameter from a request body is over
// maxValue.
func measure(v any, limit int) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch x := v.(type) {
		case string:
			n += len(x) + 2
		case []any: // each element adds a byte at least
			n += 2
			for _, e := range x {
				if walk(e); n > limit {
					return
				}
			}
		case map[string]any:
			n += 2
			for k, e := range x {
				n += len(k) + 3 // "k":
				if walk(e); n > limit {
					return
				}
			}
		default: // numbers, bools and null take a byte at least
			n++
		}
	}
	walk(v)
	return n
}

// charge counts n against the plan's maxWork.
func (s *scope) charge(n int) error {
	s.spent += n
	if s.spent > maxWork {
		return fmt.Errorf("the template's expressions process more than %d bytes in all: %w", maxWork, errBudget)
	}
	return nil
}

// fits checks that a value of n bytes that fn builds is within maxValue:
// before building it where fn can tell its size, else after.
func fits(fn string, n int) error {
	if n > maxValue {
		return fmt.Errorf("%s(): the value would exceed %d bytes: %w", fn, maxValue, errBudget)
	}
	return nil
}

// marshal encodes v as JSON once its size is known to fit maxValue.
func marshal(fn string, v any) ([]byte, error) {
	if err := fits(fn, measure(v, maxValue+1)); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Values come from JSON and the functions here, which always encode.
		return nil, fmt.Errorf("%s(): %v", fn, err)
	}
	return b, nil
}
