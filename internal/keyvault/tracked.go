package keyvault

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Tracked lists the vaults under scope for the generic resource list
// (package resources). Secrets are child resources, which ARM's generic
// list does not show.
func (p *Provider) Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error) {
	if typ != "" && !strings.EqualFold(typ, VaultType) {
		return nil, nil
	}
	rows, err := tx.ListResources(scope, VaultType, meta.Page{})
	if err != nil {
		return nil, err
	}
	var out []arm.GenericResource
	for _, row := range rows {
		if ok, err := readable(row.ID, VaultType+"/read"); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		var v Vault
		if err := json.Unmarshal(row.Document, &v); err != nil {
			return nil, fmt.Errorf("%s document %s: %w", VaultType, row.ID, err)
		}
		out = append(out, arm.GenericResource{ID: deref(v.ID), Name: deref(v.Name), Type: VaultType, Location: deref(v.Location), Tags: v.Tags})
	}
	return out, nil
}
