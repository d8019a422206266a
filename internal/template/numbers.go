package template

import (
	"fmt"
	"strings"
)

func fnGreater(_ *scope, a args) (any, error) {
	return comparison(a, func(c int) bool { return c > 0 })
}

func fnGreaterOrEquals(_ *scope, a args) (any, error) {
	return comparison(a, func(c int) bool { return c >= 0 })
}

func fnLess(_ *scope, a args) (any, error) {
	return comparison(a, func(c int) bool { return c < 0 })
}

func fnLessOrEquals(_ *scope, a args) (any, error) {
	return comparison(a, func(c int) bool { return c <= 0 })
}

// comparison compares two integers or two strings and tells whether the
// outcome (-1, 0, 1) is the one asked for.
func comparison(a args, want func(c int) bool) (any, error) {
	if err := a.count(2, 2); err != nil {
		return nil, err
	}
	c, err := compare(a.list[0], a.list[1])
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", a.fn, err)
	}
	return want(c), nil
}

// compare orders two integers or two strings (ordinal, as ARM does).
func compare(x, y any) (int, error) {
	switch a := x.(type) {
	case float64:
		if b, ok := y.(float64); ok {
			switch {
			case a < b:
				return -1, nil
			case a > b:
				return 1, nil
			}
			return 0, nil
		}
	case string:
		if b, ok := y.(string); ok {
			return strings.Compare(a, b), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s with %s", typeName(x), typeName(y))
}

func fnAdd(_ *scope, a args) (any, error) {
	return arithmetic(a, false, func(x, y int) int { return x + y })
}

func fnSub(_ *scope, a args) (any, error) {
	return arithmetic(a, false, func(x, y int) int { return x - y })
}

func fnMul(_ *scope, a args) (any, error) {
	return arithmetic(a, false, func(x, y int) int { return x * y })
}

func fnDiv(_ *scope, a args) (any, error) {
	return arithmetic(a, true, func(x, y int) int { return x / y })
}

func fnMod(_ *scope, a args) (any, error) {
	return arithmetic(a, true, func(x, y int) int { return x % y })
}

// arithmetic applies op to two integers; a divisor must not be zero.
func arithmetic(a args, divides bool, op func(x, y int) int) (any, error) {
	x, err := a.integer(0)
	if err != nil {
		return nil, err
	}
	y, err := a.integer(1)
	if err != nil {
		return nil, err
	}
	if divides && y == 0 {
		return nil, fmt.Errorf("%s() by zero", a.fn)
	}
	return float64(op(x, y)), nil
}

func fnMin(_ *scope, a args) (any, error) {
	return extreme(a, func(f, best float64) bool { return f < best })
}

func fnMax(_ *scope, a args) (any, error) {
	return extreme(a, func(f, best float64) bool { return f > best })
}

// extreme is the integer of its arguments, or of its one array argument,
// that beats every other.
func extreme(a args, beats func(f, best float64) bool) (any, error) {
	nums := a.list
	if len(a.list) == 1 {
		if arr, ok := a.list[0].([]any); ok {
			nums = arr
		}
	}
	if len(nums) == 0 {
		return nil, fmt.Errorf("%s() needs at least one number", a.fn)
	}
	best, ok := nums[0].(float64)
	for _, n := range nums[1:] {
		f, fok := n.(float64)
		ok = ok && fok
		if beats(f, best) {
			best = f
		}
	}
	if !ok {
		return nil, fmt.Errorf("%s() needs integers", a.fn)
	}
	return best, nil
}
