package acr

import (
	"encoding/json"
	"strings"
)

// versionedFields lists registry properties by the api-version that
// introduced them. A response for an older version omits them, and a PUT
// in an older version keeps their stored values, so no value is lost when an
// older client writes.
var versionedFields = []struct {
	path  []string
	since string
}{
	{[]string{"systemData"}, "2020-11-01"},
	{[]string{"properties", "policies"}, "2019-12-01"},
	{[]string{"properties", "encryption"}, "2019-12-01"},
	{[]string{"properties", "dataEndpointEnabled"}, "2019-12-01"},
	{[]string{"properties", "dataEndpointHostNames"}, "2019-12-01"},
	{[]string{"properties", "privateEndpointConnections"}, "2019-12-01"},
	{[]string{"properties", "publicNetworkAccess"}, "2019-12-01"},
	{[]string{"properties", "zoneRedundancy"}, "2020-11-01"},
	{[]string{"properties", "policies", "exportPolicy"}, "2021-06-01"},
	{[]string{"properties", "networkRuleBypassOptions"}, "2021-06-01"},
	{[]string{"properties", "anonymousPullEnabled"}, "2021-06-01"},
	{[]string{"properties", "policies", "azureADAuthenticationAsArmPolicy"}, "2022-02-01"},
	{[]string{"properties", "policies", "softDeletePolicy"}, "2022-02-01"},
}

// knows reports whether api-version v defines a field introduced in since;
// a preview counts from its date.
func knows(v, since string) bool {
	return v[:min(len(v), 10)] >= since
}

// forVersion renders doc as api-version v defines it.
func forVersion(doc Registry, v string) any {
	m := toMap(doc)
	for _, f := range versionedFields {
		if !knows(v, f.since) {
			deletePath(m, f.path)
		}
	}
	return m
}

// keepUnknown copies into next the stored values of fields that
// api-version v does not define, so an old client's PUT does not drop them.
func keepUnknown(old, next Registry, v string) Registry {
	om, nm := toMap(old), toMap(next)
	changed := false
	for _, f := range versionedFields {
		if knows(v, f.since) {
			continue
		}
		if val, ok := getPath(om, f.path); ok {
			setPath(nm, f.path, val)
			changed = true
		}
	}
	if !changed {
		return next
	}
	var out Registry
	b, _ := json.Marshal(nm)
	json.Unmarshal(b, &out)
	return out
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	m := map[string]any{}
	json.Unmarshal(b, &m)
	return m
}

func getPath(m map[string]any, path []string) (any, bool) {
	cur := any(m)
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func setPath(m map[string]any, path []string, val any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = val
}

func deletePath(m map[string]any, path []string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}

// mergePatch applies an ARM PATCH body to a document: objects merge
// recursively, other values replace, nulls are ignored, and property names
// match case-insensitively (the stored spelling wins).
func mergePatch(dst, patch map[string]any) {
	for k, v := range patch {
		if v == nil {
			continue
		}
		key := k
		for dk := range dst {
			if strings.EqualFold(dk, k) {
				key = dk
				break
			}
		}
		if pv, ok := v.(map[string]any); ok {
			if dv, ok := dst[key].(map[string]any); ok {
				mergePatch(dv, pv)
				continue
			}
		}
		dst[key] = v
	}
}
