package deployments

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// guidNamespace seeds guid(): the same arguments give the same GUID in
// every deployment, as templates rely on for role assignment names.
var guidNamespace = uuid.MustParse("5e8a9b73-0e58-4b63-9a1c-6f5d2a3c8b41")

// callMore evaluates the template functions beyond the core set in call:
// collections, comparisons, numbers, strings and ids. ok is false when
// name is none of them.
func (s *scope) callMore(name string, args []any) (v any, ok bool, err error) {
	a := argReader{fn: name, args: args}
	switch name {
	case "coalesce":
		for _, x := range args {
			if x != nil {
				return x, true, nil
			}
		}
		return nil, true, nil
	case "contains":
		if err := a.count(2, 2); err != nil {
			return nil, true, err
		}
		return containsValue(args[0], args[1]), true, nil
	case "createarray":
		return append([]any{}, args...), true, nil
	case "createobject":
		if len(args)%2 != 0 {
			return nil, true, fmt.Errorf("createObject() takes key and value pairs, got %d arguments", len(args))
		}
		out := map[string]any{}
		for i := 0; i < len(args); i += 2 {
			k, err := a.str(i)
			if err != nil {
				return nil, true, err
			}
			out[k] = args[i+1]
		}
		return out, true, nil
	case "json":
		str, err := a.str(0)
		if err != nil {
			return nil, true, err
		}
		var out any
		if err := json.Unmarshal([]byte(str), &out); err != nil {
			return nil, true, fmt.Errorf("json(): %v", err)
		}
		return out, true, nil
	case "int":
		if err := a.count(1, 1); err != nil {
			return nil, true, err
		}
		switch x := args[0].(type) {
		case float64:
			return x, true, nil
		case string:
			var n int64
			if _, err := fmt.Sscanf(strings.TrimSpace(x), "%d", &n); err != nil {
				return nil, true, fmt.Errorf("int(): %q is not an integer", x)
			}
			return float64(n), true, nil
		}
		return nil, true, fmt.Errorf("int() of %s", typeName(args[0]))
	case "bool":
		if err := a.count(1, 1); err != nil {
			return nil, true, err
		}
		switch x := args[0].(type) {
		case bool:
			return x, true, nil
		case float64:
			return x != 0, true, nil
		case string:
			switch strings.ToLower(x) {
			case "true":
				return true, true, nil
			case "false":
				return false, true, nil
			}
		}
		return nil, true, fmt.Errorf("bool() of %v", args[0])
	case "array":
		if err := a.count(1, 1); err != nil {
			return nil, true, err
		}
		if arr, ok := args[0].([]any); ok {
			return arr, true, nil
		}
		return []any{args[0]}, true, nil
	case "union":
		return union(args)
	case "items":
		m, err := a.object(0)
		if err != nil {
			return nil, true, err
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = map[string]any{"key": k, "value": m[k]}
		}
		return out, true, nil
	case "first", "last":
		if err := a.count(1, 1); err != nil {
			return nil, true, err
		}
		switch x := args[0].(type) {
		case string:
			if x == "" {
				return "", true, nil
			}
			if name == "first" {
				return x[:1], true, nil
			}
			return x[len(x)-1:], true, nil
		case []any:
			if len(x) == 0 {
				return nil, true, nil
			}
			if name == "first" {
				return x[0], true, nil
			}
			return x[len(x)-1], true, nil
		}
		return nil, true, fmt.Errorf("%s() of %s", name, typeName(args[0]))
	case "take", "skip":
		n, err := a.integer(1)
		if err != nil {
			return nil, true, err
		}
		switch x := args[0].(type) {
		case string:
			n = max(0, min(n, len(x)))
			if name == "take" {
				return x[:n], true, nil
			}
			return x[n:], true, nil
		case []any:
			n = max(0, min(n, len(x)))
			if name == "take" {
				return append([]any{}, x[:n]...), true, nil
			}
			return append([]any{}, x[n:]...), true, nil
		}
		return nil, true, fmt.Errorf("%s() of %s", name, typeName(args[0]))
	case "range":
		start, err := a.integer(0)
		if err != nil {
			return nil, true, err
		}
		n, err := a.integer(1)
		if err != nil {
			return nil, true, err
		}
		if n < 0 || n > 10000 {
			return nil, true, fmt.Errorf("range() count must be 0 to 10000, got %d", n)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = float64(start + i)
		}
		return out, true, nil
	case "greater", "greaterorequals", "less", "lessorequals":
		if err := a.count(2, 2); err != nil {
			return nil, true, err
		}
		c, err := compare(args[0], args[1])
		if err != nil {
			return nil, true, fmt.Errorf("%s(): %w", name, err)
		}
		return map[string]bool{"greater": c > 0, "greaterorequals": c >= 0, "less": c < 0, "lessorequals": c <= 0}[name], true, nil
	case "add", "sub", "mul", "div", "mod":
		x, err := a.integer(0)
		if err != nil {
			return nil, true, err
		}
		y, err := a.integer(1)
		if err != nil {
			return nil, true, err
		}
		switch name {
		case "add":
			return float64(x + y), true, nil
		case "sub":
			return float64(x - y), true, nil
		case "mul":
			return float64(x * y), true, nil
		}
		if y == 0 {
			return nil, true, fmt.Errorf("%s() by zero", name)
		}
		if name == "div" {
			return float64(x / y), true, nil
		}
		return float64(x % y), true, nil
	case "min", "max":
		nums := args
		if len(args) == 1 {
			if arr, ok := args[0].([]any); ok {
				nums = arr
			}
		}
		if len(nums) == 0 {
			return nil, true, fmt.Errorf("%s() needs at least one number", name)
		}
		best, ok := nums[0].(float64)
		for _, n := range nums[1:] {
			f, fok := n.(float64)
			ok = ok && fok
			if name == "min" && f < best || name == "max" && f > best {
				best = f
			}
		}
		if !ok {
			return nil, true, fmt.Errorf("%s() needs integers", name)
		}
		return best, true, nil
	case "substring":
		str, err := a.str(0)
		if err != nil {
			return nil, true, err
		}
		start, err := a.integer(1)
		if err != nil {
			return nil, true, err
		}
		n := len(str) - start
		if len(args) > 2 {
			if n, err = a.integer(2); err != nil {
				return nil, true, err
			}
		}
		if start < 0 || n < 0 || start+n > len(str) {
			return nil, true, fmt.Errorf("substring(): start %d and length %d are outside a string of %d characters", start, n, len(str))
		}
		return str[start : start+n], true, nil
	case "split":
		str, err := a.str(0)
		if err != nil {
			return nil, true, err
		}
		var seps []string
		switch d := a.at(1).(type) {
		case string:
			seps = []string{d}
		case []any:
			for _, x := range d {
				sep, _ := x.(string)
				seps = append(seps, sep)
			}
		default:
			return nil, true, fmt.Errorf("split() delimiter must be a string or an array of strings")
		}
		parts := []string{str}
		for _, sep := range seps {
			if sep == "" {
				continue
			}
			var next []string
			for _, p := range parts {
				next = append(next, strings.Split(p, sep)...)
			}
			parts = next
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, true, nil
	case "startswith", "endswith", "indexof", "lastindexof":
		str, err := a.str(0)
		if err != nil {
			return nil, true, err
		}
		sub, err := a.str(1)
		if err != nil {
			return nil, true, err
		}
		// ARM compares these case-insensitively.
		str, sub = strings.ToLower(str), strings.ToLower(sub)
		switch name {
		case "startswith":
			return strings.HasPrefix(str, sub), true, nil
		case "endswith":
			return strings.HasSuffix(str, sub), true, nil
		case "indexof":
			return float64(strings.Index(str, sub)), true, nil
		}
		return float64(strings.LastIndex(str, sub)), true, nil
	case "trim":
		str, err := a.str(0)
		return strings.TrimSpace(str), true, err
	case "padleft":
		str := toString(a.at(0))
		n, err := a.integer(1)
		if err != nil {
			return nil, true, err
		}
		pad := " "
		if len(args) > 2 {
			if pad, err = a.str(2); err != nil || len(pad) != 1 {
				return nil, true, fmt.Errorf("padLeft() padding must be one character")
			}
		}
		if n > 10000 {
			return nil, true, fmt.Errorf("padLeft() length %d is over 10000", n)
		}
		if len(str) < n {
			str = strings.Repeat(pad, n-len(str)) + str
		}
		return str, true, nil
	case "base64":
		str, err := a.str(0)
		return base64.StdEncoding.EncodeToString([]byte(str)), true, err
	case "base64tostring":
		str, err := a.str(0)
		if err != nil {
			return nil, true, err
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, true, fmt.Errorf("base64ToString(): %v", err)
		}
		return string(b), true, nil
	case "uricomponent":
		str, err := a.str(0)
		return url.QueryEscape(str), true, err
	case "uricomponenttostring":
		str, err := a.str(0)
		if err != nil {
			return nil, true, err
		}
		out, err := url.QueryUnescape(str)
		return out, true, err
	case "guid":
		if len(args) == 0 {
			return nil, true, fmt.Errorf("guid() needs at least one argument")
		}
		parts := make([]string, len(args))
		for i := range args {
			if parts[i], err = a.str(i); err != nil {
				return nil, true, err
			}
		}
		return uuid.NewSHA1(guidNamespace, []byte(strings.Join(parts, "-"))).String(), true, nil
	case "newguid":
		return uuid.NewString(), true, nil
	case "utcnow":
		layout := "20060102T150405Z"
		if len(args) > 0 {
			f, err := a.str(0)
			if err != nil {
				return nil, true, err
			}
			layout = dotnetLayout(f)
		}
		return time.Now().UTC().Format(layout), true, nil
	case "subscriptionresourceid", "tenantresourceid":
		strs := make([]string, len(args))
		for i := range args {
			if strs[i], err = a.str(i); err != nil {
				return nil, true, err
			}
		}
		sub := s.sub
		if name == "subscriptionresourceid" && len(strs) > 0 && !strings.Contains(strs[0], "/") {
			sub, strs = strs[0], strs[1:]
		}
		if len(strs) == 0 || !strings.Contains(strs[0], "/") {
			return nil, true, fmt.Errorf("%s() needs a resource type", name)
		}
		segs := strings.Split(strs[0], "/")
		if len(segs)-1 != len(strs)-1 {
			return nil, true, fmt.Errorf("%s() for type %s needs %d names, got %d", name, strs[0], len(segs)-1, len(strs)-1)
		}
		id := "/providers/" + segs[0]
		if name == "subscriptionresourceid" {
			id = "/subscriptions/" + sub + id
		}
		for i, n := range strs[1:] {
			id += "/" + segs[i+1] + "/" + n
		}
		return id, true, nil
	case "tenant":
		return map[string]any{"tenantId": s.tenant, "countryCode": "", "displayName": "Bulkhead"}, true, nil
	case "copyindex":
		return s.copyIndex(args)
	}
	return nil, false, nil
}

// copyIndex implements copyIndex([loopName], [offset]).
func (s *scope) copyIndex(args []any) (any, bool, error) {
	loop, offset := "", 0
	for _, x := range args {
		switch v := x.(type) {
		case string:
			loop = strings.ToLower(v)
		case float64:
			offset = int(v)
		default:
			return nil, true, fmt.Errorf("copyIndex() takes a loop name and an offset")
		}
	}
	i, ok := s.loops[loop]
	if !ok {
		if loop == "" {
			return nil, true, fmt.Errorf("copyIndex() is used outside of a copy loop")
		}
		return nil, true, fmt.Errorf("copyIndex('%s') names no enclosing copy loop", loop)
	}
	return float64(i + offset), true, nil
}

// argReader checks and converts a function's arguments.
type argReader struct {
	fn   string
	args []any
}

func (a argReader) at(i int) any {
	if i < len(a.args) {
		return a.args[i]
	}
	return nil
}

func (a argReader) count(lo, hi int) error {
	if len(a.args) < lo || len(a.args) > hi {
		return fmt.Errorf("%s() takes %d to %d arguments, got %d", a.fn, lo, hi, len(a.args))
	}
	return nil
}

func (a argReader) str(i int) (string, error) {
	v, ok := a.at(i).(string)
	if !ok {
		return "", fmt.Errorf("%s() argument %d must be a string, got %s", a.fn, i+1, typeName(a.at(i)))
	}
	return v, nil
}

func (a argReader) integer(i int) (int, error) {
	v, ok := a.at(i).(float64)
	if !ok {
		return 0, fmt.Errorf("%s() argument %d must be an integer, got %s", a.fn, i+1, typeName(a.at(i)))
	}
	return int(v), nil
}

func (a argReader) object(i int) (map[string]any, error) {
	v, ok := a.at(i).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s() argument %d must be an object, got %s", a.fn, i+1, typeName(a.at(i)))
	}
	return v, nil
}

// typeName names a JSON value's type as template authors know them.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "int"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// containsValue is contains(): a substring (case-sensitive), an array
// element, or an object key (case-insensitive).
func containsValue(container, item any) bool {
	switch c := container.(type) {
	case string:
		return strings.Contains(c, toString(item))
	case []any:
		want := string(mustJSON(item))
		return slices.ContainsFunc(c, func(e any) bool { return string(mustJSON(e)) == want })
	case map[string]any:
		k, ok := item.(string)
		if !ok {
			return false
		}
		_, found := lookupFold(c, k)
		return found
	}
	return false
}

// union merges objects (later keys win) or arrays (without duplicates).
func union(args []any) (any, bool, error) {
	if len(args) == 0 {
		return nil, true, fmt.Errorf("union() needs arguments")
	}
	switch args[0].(type) {
	case map[string]any:
		out := map[string]any{}
		for _, x := range args {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, true, fmt.Errorf("union() mixes an object and %s", typeName(x))
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, true, nil
	case []any:
		var out []any
		seen := map[string]bool{}
		for _, x := range args {
			arr, ok := x.([]any)
			if !ok {
				return nil, true, fmt.Errorf("union() mixes an array and %s", typeName(x))
			}
			for _, e := range arr {
				if k := string(mustJSON(e)); !seen[k] {
					seen[k] = true
					out = append(out, e)
				}
			}
		}
		return out, true, nil
	}
	return nil, true, fmt.Errorf("union() of %s", typeName(args[0]))
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

// dotnetLayout turns the common .NET date format tokens utcNow() accepts
// into a Go layout.
func dotnetLayout(f string) string {
	switch f {
	case "u":
		return "2006-01-02 15:04:05Z"
	case "d":
		return "1/2/2006"
	}
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "fff", "000")
	return r.Replace(f)
}
