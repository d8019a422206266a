package acr

import "encoding/json"

// The export lock is sticky (DESIGN.md "The front door"). Once a registry
// has exports disabled, only a request that says
// properties.policies.exportPolicy.status=enabled turns them back on. A PUT
// at any api-version, a template that redeploys the registry as first
// written, or a PATCH that leaves the policy out (or sends it as null or
// {}) keeps exports disabled, and keeps publicNetworkAccess Disabled unless
// the request names it. This is stricter than a plain ARM PUT, where an
// omitted property takes its default: here the default would silently let
// the registry's artifacts leave.

// lockIntent is what one request says explicitly about the lock.
type lockIntent struct {
	// enablesExports: the request sets exportPolicy.status=enabled.
	enablesExports bool
	// namesPublicAccess: the request sets publicNetworkAccess.
	namesPublicAccess bool
}

// intentOf reads a PUT body's explicit choices.
func intentOf(in Registry) lockIntent {
	var li lockIntent
	if p := in.Properties; p != nil {
		li.namesPublicAccess = p.PublicNetworkAccess != nil
		li.enablesExports = p.Policies != nil && p.Policies.ExportPolicy != nil && p.Policies.ExportPolicy.Status != nil &&
			*p.Policies.ExportPolicy.Status == ExportPolicyStatusEnabled
	}
	return li
}

// patchIntent reads a PATCH body's explicit choices; the body has already
// passed checkUpdatable, and a value of the wrong shape is decoded (and
// refused) with the merged document, so it counts as unsaid here.
func patchIntent(patch map[string]any) lockIntent {
	b, err := json.Marshal(patch)
	if err != nil {
		return lockIntent{}
	}
	var in Registry
	if json.Unmarshal(b, &in) != nil {
		return lockIntent{}
	}
	return intentOf(in)
}

// exportsDisabled reports the stored state of the lock.
func exportsDisabled(doc Registry) bool {
	p := doc.Properties
	return p != nil && p.Policies != nil && p.Policies.ExportPolicy != nil && p.Policies.ExportPolicy.Status != nil &&
		*p.Policies.ExportPolicy.Status == ExportPolicyStatusDisabled
}

// keepLock carries the lock from old into next unless the request said
// otherwise. next must have its defaults applied.
func keepLock(old Registry, next *Registry, li lockIntent) {
	if !exportsDisabled(old) || next.Properties == nil {
		return
	}
	p := next.Properties
	if !li.enablesExports {
		if p.Policies == nil {
			p.Policies = &Policies{}
		}
		p.Policies.ExportPolicy = &ExportPolicy{Status: ptr(ExportPolicyStatusDisabled)}
	}
	if !li.namesPublicAccess {
		p.PublicNetworkAccess = ptr(PublicNetworkAccessDisabled)
	}
}
