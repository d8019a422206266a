package insights

import (
	"encoding/json"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Tracked lists the storage accounts under scope for the generic resource
// list (package resources). Diagnostic settings are extension resources,
// which ARM's generic list does not show.
func (p *Provider) Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error) {
	return arm.ListTracked(tx, scope, AccountType, typ, readable, func(doc []byte) (arm.GenericResource, error) {
		var s storedAccount
		if err := json.Unmarshal(doc, &s); err != nil {
			return arm.GenericResource{}, err
		}
		a := s.Account
		return arm.GenericResource{ID: deref(a.ID), Name: deref(a.Name), Location: deref(a.Location), Tags: a.Tags, SKU: a.SKU}, nil
	})
}
