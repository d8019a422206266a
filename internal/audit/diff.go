package audit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
)

// Diff budgets: a diff lists at most maxChanges changes and descends at
// most maxDiffDepth levels; deeper values are compared whole.
const (
	maxChanges   = 200
	maxDiffDepth = 12
)

// ignoredPaths are bookkeeping, not changes anyone made.
var ignoredPaths = map[string]bool{"systemData": true, "etag": true}

// Diff lists the properties that differ between two documents (any
// values that encode as JSON objects), as ARM paths:
// "properties.policies.exportPolicy.status". Objects are descended; any
// other value (arrays included) is compared whole. Nil documents are
// empty ones, so a create lists what it set and a delete what it removed.
func Diff(before, after any) []Change {
	b, a := asObject(before), asObject(after)
	var out []Change
	diffInto(&out, "", b, a, 0)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func asObject(v any) map[string]any {
	if v == nil {
		return nil
	}
	var raw []byte
	switch d := v.(type) {
	case []byte:
		raw = d
	case json.RawMessage:
		raw = d
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil
		}
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func diffInto(out *[]Change, prefix string, b, a map[string]any, depth int) {
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	for k := range keys {
		if len(*out) >= maxChanges {
			return
		}
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if ignoredPaths[p] {
			continue
		}
		bv, av := b[k], a[k]
		bm, bok := bv.(map[string]any)
		am, aok := av.(map[string]any)
		if depth < maxDiffDepth && (bok || bv == nil) && (aok || av == nil) && (bok || aok) {
			diffInto(out, p, bm, am, depth+1)
			continue
		}
		if !reflect.DeepEqual(bv, av) {
			*out = append(*out, Change{Path: p, Before: bv, After: av})
		}
	}
}

// String renders a change for one line: "enabled -> disabled".
func (c Change) String() string {
	return fmt.Sprintf("%s -> %s", render(c.Before), render(c.After))
}

func render(v any) string {
	if v == nil {
		return "(none)"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
