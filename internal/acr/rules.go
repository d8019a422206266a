package acr

import (
	"errors"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// ExportPipelineType and ImportPipelineType are the pipeline child types.
const (
	ExportPipelineType = RegistryType + "/exportPipelines"
	ImportPipelineType = RegistryType + "/importPipelines"
)

// policyState describes a registry document to the egress gate.
func policyState(doc Registry) egress.PolicyState {
	s := egress.PolicyState{}
	if doc.Name != nil {
		s.Name = *doc.Name
	}
	if doc.SKU != nil && doc.SKU.Name != nil {
		s.SKU = string(*doc.SKU.Name)
	}
	if p := doc.Properties; p != nil {
		s.PublicAccessDisabled = p.PublicNetworkAccess != nil && *p.PublicNetworkAccess == PublicNetworkAccessDisabled
		s.ExportsDisabled = p.Policies != nil && p.Policies.ExportPolicy != nil && p.Policies.ExportPolicy.Status != nil &&
			*p.Policies.ExportPolicy.Status == ExportPolicyStatusDisabled
	}
	return s
}

// egressSource describes a registry as the source of an outbound channel.
func egressSource(doc Registry) egress.Source {
	s := policyState(doc)
	return egress.Source{Name: s.Name, Premium: s.SKU == string(SKUNamePremium), ExportsDisabled: s.ExportsDisabled, PublicAccessDisabled: s.PublicAccessDisabled}
}

// checkChange applies the export-policy rules to a registry change inside
// tx, so that the pipeline count and the write are one atomic step.
func checkChange(tx meta.Tx, registryID string, before, after Registry) error {
	pipes, err := tx.ListResources(registryID, ExportPipelineType, meta.Page{})
	if err != nil {
		return err
	}
	var b egress.PolicyState
	if before.Name != nil {
		b = policyState(before)
	}
	return asARM(egress.CheckChange(b, policyState(after), len(pipes)))
}

// asARM turns a gate refusal into a 400 in the ARM envelope.
func asARM(err error) error {
	var r *egress.Refusal
	if errors.As(err, &r) {
		return arm.Errorf(http.StatusBadRequest, r.Code, "%s", r.Message)
	}
	return err
}
