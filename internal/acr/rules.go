package acr

import (
	"errors"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// ExportPipelineType and ImportPipelineType are the pipeline child types.
const (
	ExportPipelineType = RegistryType + "/exportPipelines"
	ImportPipelineType = RegistryType + "/importPipelines"
)

// policyState describes a registry document to the egress gate, through
// the same derivation as the facts stored with it.
func policyState(doc Registry) egress.PolicyState {
	f := factsOf(doc)
	return egress.PolicyState{Name: deref(doc.Name), SKU: f.SKU, ExportsDisabled: f.ExportsDisabled, PublicAccessDisabled: f.PublicAccessDisabled}
}

// egressSource describes a registry as the source of an outbound channel.
func egressSource(row meta.Registry, doc Registry) egress.Source {
	s := policyState(doc)
	return egress.Source{Key: row.Key, Name: s.Name, Premium: s.SKU == string(SKUNamePremium), ExportsDisabled: s.ExportsDisabled, PublicAccessDisabled: s.PublicAccessDisabled}
}

// checkChange applies the export-policy rules to a registry change inside
// tx, so that the pipeline count and the write are one atomic step.
func checkChange(tx meta.Tx, registryID string, before, after Registry, li lockIntent) error {
	pipes, err := tx.ListResources(registryID, ExportPipelineType, meta.Page{})
	if err != nil {
		return err
	}
	var b egress.PolicyState
	if before.Name != nil {
		b = policyState(before)
	}
	return asARM(egress.CheckChange(egress.Change{Before: b, After: policyState(after), EnablesExports: li.enablesExports, ExportPipelines: len(pipes)}))
}

// asARM turns a gate refusal into a 400 in the ARM envelope.
func asARM(err error) error {
	var r *egress.Refusal
	if errors.As(err, &r) {
		e := fail("EgressRefused", "%s", r.Message)
		e.Code = r.Code
		return e
	}
	return err
}

// checkSKUChange applies ACR's SKU and create-only rules to a PUT or PATCH
// of an existing registry: zone redundancy is fixed at creation, and a
// Premium registry cannot move to a lower SKU while it uses Premium-only
// features (the export and public-access rules are the egress gate's).
func checkSKUChange(before, after Registry) error {
	bp, ap := before.Properties, after.Properties
	if bp != nil && ap != nil && bp.ZoneRedundancy != nil && ap.ZoneRedundancy != nil && *bp.ZoneRedundancy != *ap.ZoneRedundancy {
		return fail("ZoneRedundancyCannotBeChanged", "zoneRedundancy is set when the registry is created and cannot be changed (it is %s).", *bp.ZoneRedundancy)
	}
	if before.SKU == nil || *before.SKU.Name != SKUNamePremium || *after.SKU.Name == SKUNamePremium || ap == nil {
		return nil
	}
	var uses []string
	if ap.NetworkRuleSet != nil && (len(ap.NetworkRuleSet.IPRules) > 0 || len(ap.NetworkRuleSet.VirtualNetworkRules) > 0 ||
		ap.NetworkRuleSet.DefaultAction != nil && *ap.NetworkRuleSet.DefaultAction == DefaultActionDeny) {
		uses = append(uses, "network rules (networkRuleSet)")
	}
	if ap.DataEndpointEnabled != nil && *ap.DataEndpointEnabled {
		uses = append(uses, "dedicated data endpoints (dataEndpointEnabled)")
	}
	if ap.ZoneRedundancy != nil && *ap.ZoneRedundancy == ZoneRedundancyEnabled {
		uses = append(uses, "zone redundancy")
	}
	if pol := ap.Policies; pol != nil {
		if pol.RetentionPolicy != nil && pol.RetentionPolicy.Status != nil && *pol.RetentionPolicy.Status == PolicyStatusEnabled {
			uses = append(uses, "the retention policy")
		}
		if pol.TrustPolicy != nil && pol.TrustPolicy.Status != nil && *pol.TrustPolicy.Status == PolicyStatusEnabled {
			uses = append(uses, "the trust policy")
		}
	}
	if len(ap.PrivateEndpointConnections) > 0 {
		uses = append(uses, "private endpoints")
	}
	if len(uses) == 0 {
		return nil
	}
	return fail("SkuDowngradeNotSupported", "The registry '%s' cannot move from Premium to %s while it uses Premium-only features: %s. Remove them first.",
		*after.Name, *after.SKU.Name, strings.Join(uses, ", "))
}
