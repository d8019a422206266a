package template

import (
	"errors"
	"fmt"
	"strings"
)

// errDeferred marks a function that only the running deployment can
// evaluate: validation skips what depends on it.
var errDeferred = errors.New("it is evaluated when the deployment runs")

func fnResourceGroup(s *scope, _ args) (any, error) {
	return map[string]any{"id": "/subscriptions/" + s.env.SubscriptionID + "/resourceGroups/" + s.env.ResourceGroup, "name": s.env.ResourceGroup,
		"location": s.env.Location, "type": "Microsoft.Resources/resourceGroups", "properties": map[string]any{"provisioningState": "Succeeded"}}, nil
}

func fnSubscription(s *scope, _ args) (any, error) {
	return map[string]any{"id": "/subscriptions/" + s.env.SubscriptionID, "subscriptionId": s.env.SubscriptionID, "tenantId": s.env.TenantID, "displayName": "Bulkhead"}, nil
}

func fnTenant(s *scope, _ args) (any, error) {
	return map[string]any{"tenantId": s.env.TenantID, "countryCode": "", "displayName": "Bulkhead"}, nil
}

func fnDeployment(s *scope, _ args) (any, error) {
	return map[string]any{"name": s.env.Deployment}, nil
}

func fnResourceID(s *scope, a args) (any, error) {
	return resourceID(s.env, a.list)
}

// resourceID builds an id: resourceId([sub], [rg], type, name1, name2...).
func resourceID(env Env, list []any) (string, error) {
	strs := make([]string, len(list))
	for i, a := range list {
		v, ok := a.(string)
		if !ok {
			return "", fmt.Errorf("resourceId() arguments must be strings")
		}
		strs[i] = v
	}
	sub, rg := env.SubscriptionID, env.ResourceGroup
	typeIdx := -1
	for i, v := range strs {
		if strings.Contains(v, "/") && strings.Contains(v, ".") {
			typeIdx = i
			break
		}
	}
	if typeIdx < 0 {
		return "", fmt.Errorf("resourceId() needs a resource type such as Microsoft.ContainerRegistry/registries")
	}
	switch typeIdx {
	case 1:
		rg = strs[0]
	case 2:
		sub, rg = strs[0], strs[1]
	}
	typ, names := strs[typeIdx], strs[typeIdx+1:]
	segs := strings.Split(typ, "/")
	if len(segs)-1 != len(names) {
		return "", fmt.Errorf("resourceId() for type %s needs %d names, got %d", typ, len(segs)-1, len(names))
	}
	if err := fits("resourceId", joined(strs)+len(sub)+len(rg)); err != nil {
		return "", err
	}
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + childPath(segs, names), nil
}

// childPath is "/providers/A.B/t1/n1/t2/n2…" for the type's segments
// ["A.B", "t1", "t2"…] and the names.
func childPath(segs, names []string) string {
	var b strings.Builder
	b.WriteString("/providers/" + segs[0])
	for i, n := range names {
		b.WriteString("/" + segs[i+1] + "/" + n)
	}
	return b.String()
}

// subscriptionResourceId([sub], type, names...) is an id at subscription
// scope.
func fnSubscriptionResourceID(s *scope, a args) (any, error) {
	return scopedID(a, "/subscriptions/"+s.env.SubscriptionID, true)
}

// tenantResourceId(type, names...) is an id at tenant scope.
func fnTenantResourceID(_ *scope, a args) (any, error) {
	return scopedID(a, "", false)
}

// scopedID builds an id below prefix; with subscription, a first argument
// without a "/" names the subscription instead.
func scopedID(a args, prefix string, subscription bool) (any, error) {
	strs, err := a.strs()
	if err != nil {
		return nil, err
	}
	if subscription && len(strs) > 0 && !strings.Contains(strs[0], "/") {
		prefix, strs = "/subscriptions/"+strs[0], strs[1:]
	}
	if len(strs) == 0 || !strings.Contains(strs[0], "/") {
		return nil, fmt.Errorf("%s() needs a resource type", a.fn)
	}
	segs := strings.Split(strs[0], "/")
	if len(segs)-1 != len(strs)-1 {
		return nil, fmt.Errorf("%s() for type %s needs %d names, got %d", a.fn, strs[0], len(segs)-1, len(strs)-1)
	}
	if err := fits(a.fn, joined(strs)+len(prefix)); err != nil {
		return nil, err
	}
	return prefix + childPath(segs, strs[1:]), nil
}

// reference(resourceIdOrName, [apiVersion], ['Full']) reads a deployed
// resource through the Resolver.
func fnReference(s *scope, a args) (any, error) {
	if err := a.count(1, 3); err != nil {
		return nil, err
	}
	id, err := a.str(0)
	if err != nil {
		return nil, err
	}
	var api string
	if len(a.list) > 1 {
		if api, err = a.str(1); err != nil {
			return nil, err
		}
	}
	full := false
	if len(a.list) > 2 {
		f, err := a.str(2)
		if err != nil || !strings.EqualFold(f, "Full") {
			return nil, fmt.Errorf("reference() third argument must be 'Full'")
		}
		full = true
	}
	if s.resolver == nil {
		return nil, fmt.Errorf("reference('%s') cannot be used here: %w", brief(id), errDeferred)
	}
	if err := s.callResolver(); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(id, "/") {
		declared, ok := s.declared[strings.ToLower(id)]
		if !ok {
			return nil, fmt.Errorf("reference('%s'): no resource of that name is declared in the template; pass a resource id", brief(id))
		}
		id = declared
	}
	return s.resolver.Reference(id, api, full)
}

// callResolver counts a call of the Resolver against maxCalls.
func (s *scope) callResolver() error {
	if s.calls >= maxCalls {
		return fmt.Errorf("the template calls reference() and list*() more than %d times: %w", maxCalls, errBudget)
	}
	s.calls++
	return nil
}

// fnList is every list* function, such as listCredentials(resourceId,
// apiVersion, [body]): a POST of that action through the Resolver.
func fnList(s *scope, a args) (any, error) {
	if err := a.count(2, 3); err != nil {
		return nil, err
	}
	id, err := a.str(0)
	if err != nil {
		return nil, err
	}
	api, err := a.str(1)
	if err != nil {
		return nil, err
	}
	if s.resolver == nil {
		return nil, fmt.Errorf("%s('%s') cannot be used here: %w", a.fn, brief(id), errDeferred)
	}
	if err := s.callResolver(); err != nil {
		return nil, err
	}
	return s.resolver.List(a.fn, id, api, a.at(2))
}

// copyIndex([loopName], [offset]) is the position in a copy loop: the
// resource's own, or the named one.
func fnCopyIndex(s *scope, a args) (any, error) {
	loop, offset := "", 0
	for _, x := range a.list {
		switch v := x.(type) {
		case string:
			loop = strings.ToLower(v)
		case float64:
			offset = int(v)
		default:
			return nil, fmt.Errorf("copyIndex() takes a loop name and an offset")
		}
	}
	i, ok := s.loops[loop]
	if !ok {
		if loop == "" {
			return nil, fmt.Errorf("copyIndex() is used outside of a copy loop")
		}
		return nil, fmt.Errorf("copyIndex('%s') names no enclosing copy loop", brief(loop))
	}
	return float64(i + offset), nil
}
