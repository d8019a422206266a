package template

import (
	"fmt"
	"strings"
)

// function is one template function. It reads its arguments through a,
// which names it in errors, and may consult the scope.
type function func(s *scope, a args) (any, error)

// builtins returns the template functions by lower-cased name (ARM's
// function names are case-insensitive). The list* functions are not here:
// call routes every name that starts with "list" to fnList.
//
// It is a function rather than a package-level table because variables()
// evaluates expressions, which look functions up here: a table variable
// would refer to itself through them, an initialisation cycle.
func builtins() map[string]function {
	return map[string]function{
		// values and logic (values.go)
		"parameters": fnParameters, "variables": fnVariables,
		"concat": fnConcat, "format": fnFormat, "string": fnString,
		"if": fnIf, "equals": fnEquals, "not": fnNot, "and": fnAnd, "or": fnOr,
		"null": fnNull, "true": fnTrue, "false": fnFalse,
		"length": fnLength, "empty": fnEmpty, "coalesce": fnCoalesce,
		"json": fnJSON, "int": fnInt, "bool": fnBool, "array": fnArray,

		// strings (strings.go)
		"tolower": fnToLower, "toupper": fnToUpper, "replace": fnReplace,
		"substring": fnSubstring, "split": fnSplit, "trim": fnTrim, "padleft": fnPadLeft,
		"startswith": fnStartsWith, "endswith": fnEndsWith, "indexof": fnIndexOf, "lastindexof": fnLastIndexOf,
		"base64": fnBase64, "base64tostring": fnBase64ToString,
		"uricomponent": fnURIComponent, "uricomponenttostring": fnURIComponentToString,
		"uniquestring": fnUniqueString, "guid": fnGUID, "newguid": fnNewGUID, "utcnow": fnUTCNow,

		// collections and numbers (collections.go, numbers.go)
		"contains": fnContains, "createarray": fnCreateArray, "createobject": fnCreateObject,
		"union": fnUnion, "items": fnItems, "range": fnRange,
		"first": fnFirst, "last": fnLast, "take": fnTake, "skip": fnSkip,
		"greater": fnGreater, "greaterorequals": fnGreaterOrEquals, "less": fnLess, "lessorequals": fnLessOrEquals,
		"add": fnAdd, "sub": fnSub, "mul": fnMul, "div": fnDiv, "mod": fnMod, "min": fnMin, "max": fnMax,

		// the deployment (deployment.go)
		"resourcegroup": fnResourceGroup, "subscription": fnSubscription, "tenant": fnTenant, "deployment": fnDeployment,
		"resourceid": fnResourceID, "subscriptionresourceid": fnSubscriptionResourceID, "tenantresourceid": fnTenantResourceID,
		"reference": fnReference, "copyindex": fnCopyIndex,
	}
}

// call evaluates the template function name, spelt in any case, on list
// (whose costs are costs). Every name starting with "list"
// (listCredentials, listKeys…) is a POST of that action to the resource.
func (s *scope) call(name string, list []any, costs []int) (any, int, error) {
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "list") && len(lower) > 4 {
		return s.run(fnList, args{fn: name, list: list}, costs)
	}
	f, ok := s.functions[lower]
	if !ok {
		return nil, 0, fmt.Errorf("the template function '%s' is not supported", lower)
	}
	return s.run(f, args{fn: lower, list: list}, costs)
}

// run calls f within the budgets: its arguments count against maxWork
// before it runs, its result must fit maxValue and counts too, unless it
// is a stored value (sized) whose cost is known. Functions whose own work
// can outgrow their arguments check fits before building.
func (s *scope) run(f function, a args, costs []int) (any, int, error) {
	in := 0
	for _, c := range costs {
		in += c
	}
	if !readsArguments(a.fn) {
		in = 0
	}
	if err := s.charge(len(costs) + in); err != nil {
		return nil, 0, err
	}
	v, err := f(s, a)
	if err != nil {
		return nil, 0, err
	}
	if st, ok := v.(sized); ok {
		return st.v, st.cost, nil
	}
	size := measure(v, maxValue+1)
	if err := fits(a.fn, size); err != nil {
		return nil, 0, err
	}
	return v, size, s.charge(size)
}

// readsArguments is false for the functions whose work does not grow with
// their arguments' size, which are charged nothing for them: a large
// parameter's length() in every copy of a resource is cheap.
func readsArguments(fn string) bool {
	switch fn {
	case "length", "empty", "first", "last", "if", "coalesce", "array":
		return false
	}
	return true
}
