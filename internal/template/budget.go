package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Budgets keep a template from exhausting the server. A request body is
// at most 4 MiB, but variables, copies and nested calls could otherwise
// multiply it without bound. The counts are ARM's published template
// limits; sizes are costs as measure counts them.
const (
	maxParameters = 256 // ARM: parameters a template declares
	maxVariables  = 256 // ARM: variables, each variable copy counted once
	maxOutputs    = 64  // ARM: output values
	maxResources  = 800 // ARM: resources, copies included
	maxCopy       = 800 // ARM: a copy loop's count
	maxExpression = 24576
	// maxDepth is how deeply calls and [index] accessors may nest in one
	// expression.
	maxDepth = 64
	// maxVariableDepth is how many variables may be under evaluation at
	// once, each one using the next.
	maxVariableDepth = 64
	// maxValue is the largest cost of any one value the template builds:
	// a function's result, an array or object, a copy's items.
	maxValue = 4 << 20
	// maxLive caps the cost of the values one evaluation holds at once:
	// arguments waiting for their call, the parts of an array or object
	// being built.
	maxLive = 8 << 20
	// maxTemplate is ARM's limit on the template "after it has been
	// expanded with iterative resource definitions, and values for
	// variables and parameters": here the variables, parameter defaults,
	// resource headers and bodies, and outputs, at their cost.
	maxTemplate = 8 << 20
	// maxRequest caps what a request's template and parameters may take
	// once decoded, as weigh estimates it before decoding.
	maxRequest = 16 << 20
	// maxWork caps what one plan's evaluation may process in all: the
	// cost of every function's arguments and result, of literals and of
	// values read by accessors. It keeps a template's evaluation well
	// under a second.
	maxWork = 256 << 20
	// maxCalls caps the reference() and list*() calls of one deployment,
	// each a request to the management plane.
	maxCalls = 2 * maxResources
)

// errBudget marks an evaluation stopped by one of the budgets above: an
// InvalidTemplate in ARM's terms.
var errBudget = errors.New("the template exceeds an evaluation limit")

// errTooLarge marks the budgets on the template's expanded size, which
// ARM reports as DeploymentJobSizeExceeded rather than InvalidTemplate.
var errTooLarge = fmt.Errorf("%w: %w", errBudget, errdef.ErrTooLarge)

// The costs, in bytes, that measure counts for each part of a value. Each
// is at least what the part takes in memory (Go's interfaces, boxed
// numbers, slice and map headers, map groups of 8 slots) and at least what
// it takes as JSON, separators included, so that a value within budget is
// both cheap to hold and cheap to encode.
const (
	scalarCost = 32  // a number, bool or null; JSON: at most 24 bytes and a comma
	stringCost = 32  // a string's header, before its bytes and their escapes
	arrayCost  = 40  // a slice header, before the elements
	objectCost = 64  // a map header, before its properties
	entryCost  = 40  // a property's key header and value slot, before the key's bytes
	groupCost  = 256 // a map group, one for every 7 properties
)

// measure returns the cost of v, giving up (and returning more than
// limit) once it passes limit, so that it takes no more than about limit
// steps however large v is.
func measure(v any, limit int) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch x := v.(type) {
		case string:
			if n += stringCost + bytesCost(len(x)); n <= limit {
				n += escapes(x) // scanned only while within limit
			}
		case []any:
			n += arrayCost + (cap(x)-len(x))*16 // spare capacity: 16 bytes a slot
			for _, e := range x {
				if walk(e); n > limit {
					return
				}
			}
		case map[string]any:
			n += objectCost + groups(len(x))
			for k, e := range x {
				if n += entryCost + bytesCost(len(k)); n <= limit {
					n += escapes(k)
				}
				if walk(e); n > limit {
					return
				}
			}
		default:
			n += scalarCost
		}
	}
	walk(v)
	return n
}

// strCost is the cost of a string value, keyCost that of a property
// beside its value.
func strCost(s string) int { return stringCost + bytesCost(len(s)) + escapes(s) }
func keyCost(k string) int { return entryCost + bytesCost(len(k)) + escapes(k) }

// bytesCost is the cost of n bytes of a string: the allocator rounds them
// up, by an eighth at most past 16 bytes.
func bytesCost(n int) int { return (n+15)&^15 + n/8 }

// groups is the cost of the map groups that hold n properties.
func groups(n int) int { return (n + 6) / 7 * groupCost }

// escapes counts the bytes that encoding/json adds to s: 5 for a control
// character, <, > or & (\u00XX), 1 for " or \, 1 a byte for U+2028 and
// U+2029 (\u2028 for 3 bytes), and 5 for each byte of invalid UTF-8
// (\ufffd).
func escapes(s string) int {
	n, high := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			high++
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 5
		case c == '"' || c == '\\':
			n++
		}
	}
	if high > 0 && !utf8.ValidString(s) {
		return n + 5*high
	}
	return n + high
}

// charge counts n against the plan's maxWork.
func (s *scope) charge(n int) error {
	s.spent += n
	if s.spent > maxWork {
		return fmt.Errorf("the template's expressions process more than %d bytes in all: %w", maxWork, errBudget)
	}
	return nil
}

// hold counts a value of cost n as held by the evaluation under way, until
// the caller restores s.live to what it was.
func (s *scope) hold(n int) error {
	s.live += n
	if s.live > maxLive {
		return fmt.Errorf("the values evaluated at once exceed %d bytes: %w", maxLive, errBudget)
	}
	return nil
}

// expand adds n to the template's expanded size, or refuses to where it
// would pass maxTemplate.
func (s *scope) expand(n int) error {
	if s.expanded+n > maxTemplate {
		return fmt.Errorf("the template exceeds %d bytes once its copies, variables, parameters and outputs are expanded: %w", maxTemplate, errTooLarge)
	}
	s.expanded += n
	return nil
}

// fits checks that a value of cost n that fn builds is within maxValue:
// before building it where fn can tell its size, else after.
func fits(fn string, n int) error {
	if n > maxValue {
		return fmt.Errorf("%s(): the value would exceed %d bytes: %w", fn, maxValue, errBudget)
	}
	return nil
}

// marshal encodes v as JSON once its cost, which bounds its JSON, is
// known to fit maxValue.
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

// weigh estimates the cost (as measure counts it) of the values that the
// JSON text b decodes to, without decoding it: every object, property,
// array, string and scalar at its cost, array elements with a spare slot.
func weigh[T string | []byte](b T) int {
	n := scalarCost
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			m := 0
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
				m++
			}
			n += stringCost + bytesCost(m)
		case '{':
			n += objectCost + groupCost
		case ':':
			n += entryCost + groupCost/7
		case '[':
			n += arrayCost + 16
		case ',':
			n += scalarCost + 16 // and a slot of spare capacity
		}
	}
	return n
}

// brief shortens a value for an error message.
func brief(v any) string {
	s, ok := v.(string)
	if !ok {
		if measure(v, 1000) > 1000 {
			return "a large " + typeName(v)
		}
		s = fmt.Sprint(v)
	}
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
