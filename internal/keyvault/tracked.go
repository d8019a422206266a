package keyvault

import (
	"encoding/json"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Tracked lists the vaults under scope for the generic resource list
// (package resources). Secrets are child resources, which ARM's generic
// list does not show.
func (p *Provider) Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error) {
	return arm.ListTracked(tx, scope, VaultType, typ, readable, func(doc []byte) (arm.GenericResource, error) {
		var v Vault
		if err := json.Unmarshal(doc, &v); err != nil {
			return arm.GenericResource{}, err
		}
		return arm.GenericResource{ID: deref(v.ID), Name: deref(v.Name), Location: deref(v.Location), Tags: v.Tags}, nil
	})
}
