package deployments

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// What-if's comparison of two resource documents (ARM's WhatIfChange
// delta): property paths in ARM's dotted form, objects flattened to their
// leaves, arrays compared by position with their items as children.

// The property change types of ARM's WhatIfPropertyChange.
const (
	propCreate   = "Create"
	propDelete   = "Delete"
	propModify   = "Modify"
	propArray    = "Array"
	propNoEffect = "NoEffect"
)

// propertyChange is one item of a change's delta. Path is dotted from the
// document's root ("properties.adminUserEnabled"), from the item's root
// inside an array, and the index for an array item.
type propertyChange struct {
	Path               string           `json:"path"`
	PropertyChangeType string           `json:"propertyChangeType"`
	Before             any              `json:"before"`
	After              any              `json:"after"`
	Children           []propertyChange `json:"children"`
}

// bookkeeping are ARM's own fields of a resource document: the same
// before and after a PUT, or changed by ARM and never by a template.
var bookkeeping = map[string]bool{"id": true, "name": true, "type": true, "apiversion": true, "etag": true, "systemdata": true}

// readOnlyNames are properties that providers set, wherever they appear
// (a write's own timestamps and states), and readOnlyPaths are those at
// one path from the root. A change the write makes to one is not the
// template's change; a template that sets one has no effect (NoEffect).
// All are lower-cased: property names match in any case, as in ARM.
var (
	readOnlyNames = map[string]bool{"provisioningstate": true, "creationdate": true, "lastupdatedtime": true, "resourceguid": true, "etag": true}
	readOnlyPaths = map[string]bool{
		"properties.loginserver": true, "properties.dataendpointhostnames": true, "properties.privateendpointconnections": true,
		"identity.principalid": true, "identity.tenantid": true,
	}
)

// readOnly reports whether key, at path (dotted from the document's root,
// or from an array item's root when inItem), is ARM's or the provider's
// to set.
func readOnly(path, key string, inItem bool) bool {
	key = strings.ToLower(key)
	if readOnlyNames[key] {
		return true
	}
	if inItem {
		return false
	}
	path = strings.ToLower(path)
	return path == key && bookkeeping[key] || readOnlyPaths[path]
}

// delta compares a resource before and after a write, leaving out what
// only ARM or the provider sets. set is the body the template sent: a
// read-only property it sets to something the write does not keep is
// reported NoEffect. real is false when the delta holds only those.
func delta(before, after, set map[string]any) (changes []propertyChange, real bool) {
	changes = objects(before, after, "", false)
	real = len(changes) > 0
	changes = append(changes, noEffect(before, after, set, "")...)
	return changes, real
}

// objects compares two objects key by key, in sorted order.
func objects(before, after map[string]any, prefix string, inItem bool) []propertyChange {
	var out []propertyChange
	keys := slices.Sorted(maps.Keys(union(before, after)))
	for _, k := range keys {
		path := join(prefix, k)
		if readOnly(path, k, inItem) {
			continue
		}
		out = append(out, value(before[k], after[k], path, inItem)...)
	}
	return out
}

// value compares one property; a missing property is null. Objects and
// arrays are walked, never compared whole first, so the cost stays linear
// in the documents' size however deep they nest.
func value(b, a any, path string, inItem bool) []propertyChange {
	bm, bObj := b.(map[string]any)
	am, aObj := a.(map[string]any)
	if bObj && aObj {
		return objects(bm, am, path, inItem)
	}
	ba, bArr := b.([]any)
	aa, aArr := a.([]any)
	if bArr && aArr {
		if items := arrays(ba, aa); len(items) > 0 {
			return []propertyChange{{Path: path, PropertyChangeType: propArray, Children: items}}
		}
		return nil
	}
	switch {
	case b == nil && a == nil:
		return nil
	case b == nil:
		return []propertyChange{{Path: path, PropertyChangeType: propCreate, After: a}}
	case a == nil:
		return []propertyChange{{Path: path, PropertyChangeType: propDelete, Before: b}}
	case !bObj && !aObj && !bArr && !aArr && b == a: // JSON scalars: comparable
		return nil
	}
	return []propertyChange{{Path: path, PropertyChangeType: propModify, Before: b, After: a}}
}

// arrays compares two arrays item by item; each item's change is a child
// whose path is its index, and an object item's own changes are its
// children, with paths from the item's root.
func arrays(before, after []any) []propertyChange {
	var out []propertyChange
	for i := range max(len(before), len(after)) {
		idx := strconv.Itoa(i)
		switch {
		case i >= len(before):
			out = append(out, propertyChange{Path: idx, PropertyChangeType: propCreate, After: after[i]})
			continue
		case i >= len(after):
			out = append(out, propertyChange{Path: idx, PropertyChangeType: propDelete, Before: before[i]})
			continue
		}
		bm, bObj := before[i].(map[string]any)
		am, aObj := after[i].(map[string]any)
		if bObj && aObj {
			if children := objects(bm, am, "", true); len(children) > 0 {
				out = append(out, propertyChange{Path: idx, PropertyChangeType: propModify, Before: bm, After: am, Children: children})
			}
			continue
		}
		out = append(out, value(before[i], after[i], idx, true)...)
	}
	return out
}

// noEffect reports the read-only properties the template sets to a value
// the write does not keep (outside arrays, whose items it does not walk).
func noEffect(before, after, set map[string]any, prefix string) []propertyChange {
	var out []propertyChange
	for _, k := range slices.Sorted(maps.Keys(set)) {
		path := join(prefix, k)
		v := set[k]
		if readOnly(path, k, false) {
			if prefix != "" || !bookkeeping[strings.ToLower(k)] {
				if a := lookupFold(after, k); !reflect.DeepEqual(v, a) {
					out = append(out, propertyChange{Path: path, PropertyChangeType: propNoEffect, Before: lookupFold(before, k), After: v})
				}
			}
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			b, _ := lookupFold(before, k).(map[string]any)
			a, _ := lookupFold(after, k).(map[string]any)
			out = append(out, noEffect(b, a, sub, path)...)
		}
	}
	return out
}

// lookupFold is m[k], with k matched case-insensitively when it is not
// there as spelt (templates may spell a property in any case).
func lookupFold(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return nil
}

func union(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k := range a {
		out[k] = nil
	}
	for k := range b {
		out[k] = nil
	}
	return out
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// merge is the generic prediction of a PUT for providers that offer no
// preview: the template's body laid over the current document. Objects
// merge key by key (matched case-insensitively, the stored spelling
// kept), other values replace, so what the template leaves out keeps its
// current (server default) value and read-only properties stay.
func merge(current, body map[string]any) map[string]any {
	out := make(map[string]any, len(current))
	maps.Copy(out, current)
	for k, v := range body {
		key := k
		for ck := range current {
			if strings.EqualFold(ck, k) {
				key = ck
				break
			}
		}
		if bv, ok := v.(map[string]any); ok {
			if cv, ok := out[key].(map[string]any); ok {
				out[key] = merge(cv, bv)
				continue
			}
		}
		out[key] = v
	}
	return out
}
