package acr

import (
	"encoding/json"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Tracked lists the registries under scope for the generic resource list
// (package resources), which may not read registry documents itself.
func (p *Provider) Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error) {
	if typ != "" && !strings.EqualFold(typ, RegistryType) {
		return nil, nil
	}
	id, err := arm.ParseID(scope)
	if err != nil {
		return nil, err
	}
	rows, err := tx.ListRegistries(id.Subscription, id.ResourceGroup, meta.Page{})
	if err != nil {
		return nil, err
	}
	var out []arm.GenericResource
	for _, row := range rows {
		if ok, err := readable(row.ResourceID, registryRead); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		var doc Registry
		if json.Unmarshal(row.Document, &doc) != nil {
			continue
		}
		out = append(out, arm.GenericResource{ID: deref(doc.ID), Name: deref(doc.Name), Type: deref(doc.Type), Location: deref(doc.Location),
			Tags: doc.Tags, SKU: doc.SKU})
	}
	return out, nil
}

// requireGroup fails with ResourceGroupNotFound unless the group exists;
// the group itself belongs to package resources.
func requireGroup(tx meta.Tx, sub, rg string) error {
	_, err := tx.GetResource(arm.ResourceGroupID(sub, rg).String())
	if err != nil && isNotFound(err) {
		return errGroupNotFound(rg)
	}
	return err
}
