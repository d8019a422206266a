package insights

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Tracked lists the storage accounts under scope for the generic resource
// list (package resources). Diagnostic settings are extension resources,
// which ARM's generic list does not show.
func (p *Provider) Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error) {
	if typ != "" && !strings.EqualFold(typ, AccountType) {
		return nil, nil
	}
	rows, err := tx.ListResources(scope, AccountType, meta.Page{})
	if err != nil {
		return nil, err
	}
	var out []arm.GenericResource
	for _, row := range rows {
		if ok, err := readable(row.ID, AccountType+"/read"); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		var s storedAccount
		if err := json.Unmarshal(row.Document, &s); err != nil {
			return nil, fmt.Errorf("%s document %s: %w", AccountType, row.ID, err)
		}
		a := s.Account
		out = append(out, arm.GenericResource{ID: deref(a.ID), Name: deref(a.Name), Type: AccountType, Location: deref(a.Location), Tags: a.Tags, SKU: a.SKU})
	}
	return out, nil
}
